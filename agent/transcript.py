"""The conversation transcript: storing events (redacted messages, widgets) and reading history.

This module only houses transcript I/O. Every event a shopper sees is stored, in order, under a
per-conversation sequence number; the model's history is rebuilt from these rows (the server keeps no
state between requests). Widgets appear in the model's history as one short line each.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from agent.texts import Locale
from agent.widgets import Widget, describe
from tools.store.models import ConversationEvent

Event = dict[str, Any]


def message_event(role: str, text: str) -> Event:
    return {"type": "message", "role": role, "text": text}


def widget_event(widget: Widget) -> Event:
    return {"type": "widget", "widget": widget}


#: Tries at a free sequence number when another writer took the one we read (PostgreSQL only).
_SEQ_ATTEMPTS = 5


async def append_events(session: AsyncSession, conversation_id: str, events: list[Event], *,
                        source: str = "") -> list[ConversationEvent]:
    """Store events after the conversation's last one (the caller commits).

    The (conversation_id, seq) unique constraint turns two interleaving writers into an error
    instead of a silently shuffled transcript. On PostgreSQL two transactions can read the same
    last `seq` (a double-clicked confirm, two tabs): the loser's insert waits for the winner's
    commit, fails, and is retried in a savepoint with a fresh read, so both are stored, in commit
    order. SQLite transactions here take the write lock when they begin, so they never interleave.
    """
    if not events:
        return []
    concurrent = session.get_bind().dialect.name != "sqlite"
    for attempt in range(1, _SEQ_ATTEMPTS + 1):
        last = await session.scalar(select(func.max(ConversationEvent.seq)).where(
            ConversationEvent.conversation_id == conversation_id))
        rows = _rows(conversation_id, events, source, first_seq=(last or 0) + 1)
        if not concurrent:
            session.add_all(rows)
            await session.flush()
            return rows
        try:
            async with session.begin_nested():
                session.add_all(rows)
        except IntegrityError:
            if attempt == _SEQ_ATTEMPTS:
                raise
            continue
        return rows
    raise AssertionError("unreachable")  # pragma: no cover


def _rows(conversation_id: str, events: list[Event], source: str, *,
          first_seq: int) -> list[ConversationEvent]:
    rows: list[ConversationEvent] = []
    for seq, event in enumerate(events, start=first_seq):
        if event["type"] == "message":
            rows.append(ConversationEvent(conversation_id=conversation_id, seq=seq, kind="message",
                                          role=event["role"], text=event["text"], source=source))
        else:
            rows.append(ConversationEvent(conversation_id=conversation_id, seq=seq, kind="widget",
                                          role="assistant", widget=event["widget"], source=source))
    return rows


async def load_events(session: AsyncSession, conversation_id: str, *,
                      limit: int | None = None) -> list[ConversationEvent]:
    """The conversation's events in order (the newest `limit` of them when given)."""
    stmt = select(ConversationEvent).where(ConversationEvent.conversation_id == conversation_id)
    if limit is None:
        rows = (await session.scalars(stmt.order_by(ConversationEvent.seq))).all()
        return list(rows)
    rows = (await session.scalars(stmt.order_by(ConversationEvent.seq.desc()).limit(limit))).all()
    return list(reversed(rows))


def as_public(row: ConversationEvent) -> Event:
    """An event row in the API's event shape."""
    if row.kind == "widget" and row.widget is not None:
        return widget_event(row.widget)
    return message_event(row.role, row.text)


def history_messages(rows: list[ConversationEvent], locale: Locale, *,
                     max_user_turns: int) -> list[dict[str, Any]]:
    """Chat messages for the model: the last `max_user_turns` user turns and the replies to them.

    Consecutive assistant texts and widget lines merge into one assistant message, as a model would
    have written them. Older turns are dropped, so the prompt stays bounded however long the chat.
    """
    user_positions = [i for i, row in enumerate(rows) if row.kind == "message" and row.role == "user"]
    if len(user_positions) > max_user_turns:
        rows = rows[user_positions[-max_user_turns]:]
    messages: list[dict[str, Any]] = []
    for row in rows:
        if row.kind == "message" and row.role == "user":
            messages.append({"role": "user", "content": row.text})
            continue
        text = row.text if row.kind == "message" else describe(row.widget or {}, locale)
        if messages and messages[-1]["role"] == "assistant":
            messages[-1]["content"] += "\n" + text
        else:
            messages.append({"role": "assistant", "content": text})
    return messages


def last_user_text(rows: list[ConversationEvent]) -> tuple[int, str] | None:
    """The id and text of the shopper's latest stored message (for split-card redaction)."""
    for row in reversed(rows):
        if row.kind == "message" and row.role == "user":
            return row.id, row.text
    return None


def recent_products(rows: list[ConversationEvent], *, limit: int = 8) -> list[dict[str, Any]]:
    """Products shown most recently first (from product_list widgets), without duplicates."""
    seen: set[str] = set()
    products: list[dict[str, Any]] = []
    for row in reversed(rows):
        if row.kind != "widget" or not row.widget or row.widget.get("kind") != "product_list":
            continue
        for product in row.widget.get("products", []):
            if product["sku"] not in seen:
                seen.add(product["sku"])
                products.append(product)
        if len(products) >= limit:
            break
    return products[:limit]
