"""The conversation transcript: storing events (redacted messages, widgets) and reading history.

This module only houses transcript I/O. Every event a shopper sees is stored, in order, under a
per-conversation sequence number; the model's history is rebuilt from these rows (the server keeps no
state between requests). Widgets appear in the model's history as one short line each.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import Integer, Table, bindparam, func, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from agent.texts import Locale
from agent.widgets import Widget, describe
from tools.store.models import ConversationEvent, utcnow

Event = dict[str, Any]


def message_event(role: str, text: str) -> Event:
    return {"type": "message", "role": role, "text": text}


def widget_event(widget: Widget) -> Event:
    return {"type": "widget", "widget": widget}


#: Tries at a free sequence number when another writer took the one we read (PostgreSQL only).
_SEQ_ATTEMPTS = 5


async def append_events(session: AsyncSession, conversation_id: str, events: list[Event], *,
                        source: str = "", after_seq: int | None = None) -> int:
    """Store events after the conversation's last one; the last `seq` stored (the caller commits).

    `after_seq` is the last `seq` the caller read in this same transaction (it saves reading it
    again); on SQLite, whose transactions here hold the write lock from their first statement, it
    is exact. The rows go in with one executemany, past the ORM's unit of work (nobody edits them
    in this session).

    The (conversation_id, seq) unique constraint turns two interleaving writers into an error
    instead of a silently shuffled transcript. On PostgreSQL two transactions can read the same
    last `seq` (a double-clicked confirm, two tabs): the loser's insert waits for the winner's
    commit, fails, and is retried in a savepoint with a fresh read, so both are stored, in commit
    order. SQLite transactions here take the write lock when they begin, so they never interleave.
    """
    if not events:
        return after_seq if after_seq is not None else await last_seq(session, conversation_id)
    concurrent = session.get_bind().dialect.name != "sqlite"
    last = after_seq
    for attempt in range(1, _SEQ_ATTEMPTS + 1):
        if last is None:
            last = await last_seq(session, conversation_id)
        values = _values(conversation_id, events, source, first_seq=last + 1)
        if not concurrent:
            await session.execute(_INSERT_EVENT, values)
            return last + len(values)
        try:
            async with session.begin_nested():
                await session.execute(_INSERT_EVENT, values)
        except IntegrityError:
            if attempt == _SEQ_ATTEMPTS:
                raise
            last = None  # another writer took it: read the last seq afresh
            continue
        return last + len(values)
    raise AssertionError("unreachable")  # pragma: no cover


async def last_seq(session: AsyncSession, conversation_id: str) -> int:
    """The conversation's last `seq` (0 before its first event)."""
    return await session.scalar(_LAST_SEQ, {"conversation_id": conversation_id}) or 0


# Built once: a turn stores events twice, and a reused statement skips construction and cache-key
# work. The insert is on the table itself (a Core executemany).
_INSERT_EVENT = insert(cast(Table, ConversationEvent.__table__))
_LAST_SEQ = select(func.max(ConversationEvent.seq)).where(
    ConversationEvent.conversation_id == bindparam("conversation_id"))


def _values(conversation_id: str, events: list[Event], source: str, *,
            first_seq: int) -> list[dict[str, Any]]:
    now = utcnow()
    rows: list[dict[str, Any]] = []
    for seq, event in enumerate(events, start=first_seq):
        message = event["type"] == "message"
        rows.append({"conversation_id": conversation_id, "seq": seq,
                     "kind": "message" if message else "widget",
                     "role": event["role"] if message else "assistant",
                     "text": event["text"] if message else "",
                     "widget": None if message else event["widget"],
                     "source": source, "created_at": now})
    return rows


@dataclass(slots=True)
class StoredEvent:
    """A transcript row as a turn reads it: plain values, without the ORM's bookkeeping."""

    id: int | None  # None: stored by this turn (by executemany, which returns no ids)
    seq: int
    kind: str
    role: str
    text: str
    widget: dict[str, Any] | None


#: What the history and state builders read: a turn's `StoredEvent`s or ORM rows.
EventRow = StoredEvent | ConversationEvent


async def load_recent(session: AsyncSession, conversation_id: str, *,
                      limit: int) -> list[StoredEvent]:
    """The newest `limit` events in order, as plain values (every turn reads them)."""
    rows = (await session.execute(_RECENT, {"conversation_id": conversation_id,
                                            "limit": limit})).all()
    return [StoredEvent(*row) for row in reversed(rows)]


_RECENT = (
    select(ConversationEvent.id, ConversationEvent.seq, ConversationEvent.kind,
           ConversationEvent.role, ConversationEvent.text, ConversationEvent.widget)
    .where(ConversationEvent.conversation_id == bindparam("conversation_id"))
    .order_by(ConversationEvent.seq.desc())
    .limit(bindparam("limit", type_=Integer))
)


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


def history_messages(rows: Sequence[EventRow], locale: Locale, *,
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


def last_user_text(rows: Sequence[EventRow]) -> tuple[int, str] | None:
    """The id and text of the shopper's latest stored message (for split-card redaction).

    `rows` are read from the database (every one has its id).
    """
    for row in reversed(rows):
        if row.kind == "message" and row.role == "user":
            return (row.id, row.text) if row.id is not None else None
    return None


#: Products the state block lists: one search's worth (a search shows five). Older lists stay in
#: the history window as their widget lines; every product listed costs ~15 tokens per call.
RECENT_PRODUCTS = 5


def recent_products(rows: Sequence[EventRow], *,
                    limit: int = RECENT_PRODUCTS) -> list[dict[str, Any]]:
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
