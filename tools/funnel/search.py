"""Finding conversations for review: by order id, order status or furthest funnel stage.

This module only houses the search behind `GET /api/operator/conversations`. Newest conversations
come first. Filtering by stage needs every candidate's stage, so it reads them all (a handful of
grouped queries) and pages in memory; the other filters page in SQL.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from tools.funnel.stages import Stage, furthest_stages
from tools.store.models import Conversation, ConversationEvent, Order

#: Conversations described per round of queries.
_BATCH = 1000


@dataclass(frozen=True)
class ConversationFilter:
    order_id: str | None = None
    status: str | None = None
    stage: Stage | None = None


def _order_match(query: ConversationFilter) -> list[Any]:
    conditions: list[Any] = []
    if query.order_id is not None:
        conditions.append(Order.id == query.order_id)
    if query.status is not None:
        conditions.append(Order.status == query.status)
    return conditions


def _candidates(query: ConversationFilter) -> Select[str]:
    ordered = select(Conversation.id).order_by(Conversation.created_at.desc(),
                                               Conversation.id.desc())
    conditions = _order_match(query)
    if conditions:
        ordered = ordered.where(Conversation.id.in_(
            select(Order.conversation_id).where(*conditions)))
    return ordered


def _order_view(order: Order) -> dict[str, Any]:
    return {"id": order.id, "status": order.status, "total": order.total,
            "currency": order.currency, "payment_method": order.payment_method}


async def search_conversations(session: AsyncSession, query: ConversationFilter, *,
                               limit: int, offset: int) -> dict[str, Any]:
    """One page of matching conversations and the number of all matches.

    Each carries its newest order (the newest matching one when filtered by order id or status).
    """
    if query.stage is None:
        total = await session.scalar(select(func.count()).select_from(_candidates(query).subquery()))
        page = list(await session.scalars(_candidates(query).limit(limit).offset(offset)))
        stages: dict[str, Stage] = {}
    else:
        stages = await furthest_stages(session, _candidates(query).order_by(None))
        every = list(await session.scalars(_candidates(query)))
        matching = [cid for cid in every if stages.get(cid) is query.stage]
        total, page = len(matching), matching[offset:offset + limit]
    found: list[dict[str, Any]] = []
    # In batches: a page may be an export of many thousands, and both drivers cap a statement's
    # parameters at 32767.
    for start in range(0, len(page), _BATCH):
        found += await _describe(session, page[start:start + _BATCH], query, stages)
    return {"conversations": found, "total": total or 0}


async def _describe(session: AsyncSession, ids: list[str], query: ConversationFilter,
                    stages: dict[str, Stage]) -> list[dict[str, Any]]:
    """The list shape of conversations `ids`, in that order (stages read unless given)."""
    if not all(cid in stages for cid in ids):
        stages = {**stages, **await furthest_stages(session, ids)}
    rows = {c.id: c for c in await session.scalars(
        select(Conversation).where(Conversation.id.in_(ids)))}
    turns = {cid: value for cid, value in await session.execute(
        select(ConversationEvent.conversation_id, func.count())
        .where(ConversationEvent.conversation_id.in_(ids), ConversationEvent.kind == "message",
               ConversationEvent.role == "user")
        .group_by(ConversationEvent.conversation_id))}
    newest: dict[str, Order] = {}
    for order in await session.scalars(
            select(Order).where(Order.conversation_id.in_(ids), *_order_match(query))
            .order_by(Order.created_at, Order.id)):
        newest[order.conversation_id] = order  # ascending, so the last one written wins
    return [{
        "id": cid, "created_at": rows[cid].created_at.isoformat(),
        "updated_at": rows[cid].updated_at.isoformat(), "locale": rows[cid].locale,
        "prompt_variant": rows[cid].prompt_variant, "stage": stages[cid].value,
        "user_turns": turns.get(cid, 0),
        "order": _order_view(newest[cid]) if cid in newest else None,
    } for cid in ids if cid in rows and cid in stages]  # a purge may run between the reads
