"""Operator routes for reading conversations: one in full, or many as JSON lines.

- `GET /api/operator/conversations/{id}` → {"id", "created_at", "locale", "prompt_variant",
  "stage", "transcript", "orders"}: the transcript as the shopper API shows it, and every order
  with its lines.
- `GET /api/operator/conversations/export?order_id=&status=&stage=&limit=&offset=` →
  `application/x-ndjson`, one such object per line, newest conversation first (the list's
  filters, `tools.funnel.search`), to turn real conversations into eval scenarios.

Transcripts are stored redacted; message texts are run through `agent.redaction.redact` once more
on the way out, so a row written before a redaction rule existed cannot leak through an export.
Both routes need the operator key (`api.operator.auth`). The list itself is in `api.operator.funnel`.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Sequence
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Path, Query
from fastapi.responses import StreamingResponse
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from agent.redaction import redact
from agent.transcript import Event, as_public
from api.deps import CONVERSATION_ID, DatabaseDep
from api.operator.auth import OperatorDep
from api.operator.funnel import ConversationFilterDep
from tools.funnel import Stage, furthest_stages
from tools.funnel.search import search_conversations
from tools.store.models import Conversation, ConversationEvent, Order

router = APIRouter(prefix="/api/operator/conversations", tags=["operator"])

#: Conversations read per database round trip while exporting (bounded memory per batch).
EXPORT_BATCH = 100


def _public(row: ConversationEvent) -> Event:
    event = as_public(row)
    if event["type"] == "message":
        event["text"] = redact(str(event["text"])).text
    return event


def _order(order: Order) -> dict[str, Any]:
    return {"id": order.id, "status": order.status, "total": order.total,
            "currency": order.currency, "payment_method": order.payment_method,
            "created_at": order.created_at.isoformat(),
            "lines": [{"sku": line.sku, "name": line.name, "quantity": line.quantity,
                       "unit_price": line.unit_price} for line in order.lines]}


async def conversation_details(session: AsyncSession, conversations: Sequence[Conversation],
                               stages: dict[str, Stage]) -> list[dict[str, Any]]:
    """The review shape of each conversation, with three queries however many there are."""
    ids = [c.id for c in conversations]
    events: dict[str, list[Event]] = {cid: [] for cid in ids}
    for row in await session.scalars(
            select(ConversationEvent).where(ConversationEvent.conversation_id.in_(ids))
            .order_by(ConversationEvent.conversation_id, ConversationEvent.seq)):
        events[row.conversation_id].append(_public(row))
    orders: dict[str, list[dict[str, Any]]] = {cid: [] for cid in ids}
    for order in await session.scalars(
            select(Order).where(Order.conversation_id.in_(ids)).options(selectinload(Order.lines))
            .order_by(Order.created_at, Order.id)):
        orders[order.conversation_id].append(_order(order))
    return [{"id": c.id, "created_at": c.created_at.isoformat(), "locale": c.locale,
             "prompt_variant": c.prompt_variant,
             "stage": stages[c.id].value if c.id in stages else None,
             "transcript": events[c.id], "orders": orders[c.id]} for c in conversations]


@router.get("/export", response_class=StreamingResponse, responses={200: {"content": {
    "application/x-ndjson": {"schema": {"type": "string", "description": "One conversation "
                                        "(the detail shape) per line."}}}}})
async def export_conversations(
    _: OperatorDep, database: DatabaseDep, query: ConversationFilterDep,
    limit: Annotated[int, Query(ge=1, le=100_000)] = 10_000,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> StreamingResponse:
    """Redacted transcripts and orders of the matching conversations, one JSON object a line."""
    # The matches are fixed up front (ids and stages), so conversations started while the export
    # streams neither shift the page nor appear twice.
    async with database.session() as session:
        found = await search_conversations(session, query, limit=limit, offset=offset)
    matches = [(item["id"], Stage(item["stage"])) for item in found["conversations"]]

    async def lines() -> AsyncIterator[bytes]:
        for start in range(0, len(matches), EXPORT_BATCH):
            batch = dict(matches[start:start + EXPORT_BATCH])
            async with database.session() as session:
                rows = {c.id: c for c in await session.scalars(
                    select(Conversation).where(Conversation.id.in_(list(batch))))}
                # A conversation purged meanwhile is left out rather than failing the export.
                present = [rows[cid] for cid in batch if cid in rows]
                details = await conversation_details(session, present, batch)
            yield b"".join(json.dumps(detail, ensure_ascii=False).encode() + b"\n"
                           for detail in details)

    return StreamingResponse(lines(), media_type="application/x-ndjson")


@router.get("/{id}")
async def get_conversation(
    _: OperatorDep, database: DatabaseDep,
    # `{id}` as in the contract; a `conversation_id` path parameter means a shopper route.
    conversation_id: Annotated[str, Path(alias="id", description="The conversation's id.")],
) -> dict[str, Any]:
    """One conversation's redacted transcript, furthest stage and orders."""
    async with database.session() as session:
        conversation = (await session.get(Conversation, conversation_id)
                        if CONVERSATION_ID.fullmatch(conversation_id) else None)
        if conversation is None:
            raise HTTPException(404, "Conversation not found.")
        stages = await furthest_stages(session, [conversation.id])
        [detail] = await conversation_details(session, [conversation], stages)
    return detail
