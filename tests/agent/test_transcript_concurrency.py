"""Two writers appending to one conversation at once: both stored, in commit order, no error.

The case behind it: a double-clicked confirm (or two tabs) runs two transactions that read the same
last `seq`; on PostgreSQL the loser's insert used to fail the unique constraint with a 500.
"""

from __future__ import annotations

import asyncio

from sqlalchemy import select

from agent.transcript import append_events, message_event
from tools.store.db import Database
from tools.store.models import Conversation, ConversationEvent


async def test_interleaved_appends_are_both_stored_in_order(db: Database) -> None:
    async with db.session() as session:
        session.add(Conversation(id="c-1", token_hash="x"))
        await session.flush()
        await append_events(session, "c-1", [message_event("user", "hi")])
        await session.commit()

    first_flushed = asyncio.Event()
    release_first = asyncio.Event()

    async def first() -> None:
        async with db.session() as session:
            await append_events(session, "c-1", [message_event("assistant", "one"),
                                                 message_event("assistant", "two")])
            first_flushed.set()
            await release_first.wait()  # holds its uncommitted seq 2 and 3
            await session.commit()

    async def second() -> None:
        await first_flushed.wait()
        async with db.session() as session:
            # Reads max(seq) = 1 on PostgreSQL (first is not committed), inserts 2, waits on the
            # first's lock, fails, retries with a fresh read.
            await append_events(session, "c-1", [message_event("assistant", "three")])
            await session.commit()

    tasks = [asyncio.create_task(first()), asyncio.create_task(second())]
    await asyncio.sleep(0.3)  # let the second writer block behind the first
    release_first.set()
    await asyncio.wait_for(asyncio.gather(*tasks), timeout=20)

    async with db.session() as session:
        rows = (await session.scalars(select(ConversationEvent).where(
            ConversationEvent.conversation_id == "c-1").order_by(ConversationEvent.seq))).all()
    assert [(r.seq, r.text) for r in rows] == [(1, "hi"), (2, "one"), (3, "two"), (4, "three")]
