"""A conversation's shipping address in the database, on SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

from sqlalchemy import event, select

from tests.factories import make_conversation
from tools.address import ShippingAddress, current_address, save_address, validate_address
from tools.store.db import Database
from tools.store.models import Address

SHIBUYA = validate_address(
    {
        "name": "山田 太郎",
        "postal_code": "150-0002",
        "line1": "2-21-1",
        "line2": "渋谷ヒカリエ 5F",
        "phone": "090-1234-5678",
        "email": "taro@example.com",
    }
)
SAPPORO = validate_address(  # a code without a town: the street line carries it
    {
        "name": "Hanako Suzuki",
        "postal_code": "060-0000",
        "line1": "北一条西2-1",
        "phone": "+44 20 7946 0958",
        "email": "hanako@example.jp",
    }
)


async def test_an_address_reads_back_exactly_as_saved(db: Database) -> None:
    async with db.session() as session:
        conversation = await make_conversation(session)
        row = await save_address(session, conversation.id, SHIBUYA)
        assert row.id is not None  # flushed
        await session.commit()
    async with db.session() as session:
        assert await current_address(session, conversation.id) == SHIBUYA
        stored = (await session.execute(select(Address))).scalar_one()
    # No town column: the town travels at the end of the city, as on a carrier's label.
    assert (stored.city, stored.line1, stored.phone) == ("渋谷区渋谷", "2-21-1", "+819012345678")


async def test_the_newest_address_is_the_current_one(db: Database) -> None:
    async with db.session() as session:
        conversation = await make_conversation(session)
        other = await make_conversation(session)
        await save_address(session, conversation.id, SHIBUYA)
        await save_address(session, conversation.id, SAPPORO)
        await save_address(session, other.id, SHIBUYA)
        await session.commit()
    async with db.session() as session:
        current = await current_address(session, conversation.id)
        assert current == SAPPORO
        assert current is not None and current.town == ""
        assert current.phone_display == "+44 20 7946 0958"
        assert await current_address(session, other.id) == SHIBUYA


async def test_no_address_yet(db: Database) -> None:
    async with db.session() as session:
        conversation = await make_conversation(session)
        assert await current_address(session, conversation.id) is None
        assert await current_address(session, "no-such-conversation") is None


async def test_saving_does_not_commit(db: Database) -> None:
    async with db.session() as session:
        conversation_id = (await make_conversation(session)).id
        await session.commit()
        await save_address(session, conversation_id, SHIBUYA)
        await session.rollback()
    async with db.session() as session:
        assert await current_address(session, conversation_id) is None


async def test_reading_the_current_address_is_one_query(db: Database) -> None:
    async with db.session() as session:
        conversation = await make_conversation(session)
        await save_address(session, conversation.id, SHIBUYA)
        await save_address(session, conversation.id, SHIBUYA)
        await session.commit()
    statements: list[str] = []

    def record(*args: Any) -> None:
        statements.append(args[2])

    event.listen(db.engine.sync_engine, "before_cursor_execute", record)
    try:
        async with db.session() as session:
            address = await current_address(session, conversation.id)
    finally:
        event.remove(db.engine.sync_engine, "before_cursor_execute", record)
    assert isinstance(address, ShippingAddress)
    # SQLite opens each transaction with an explicit BEGIN IMMEDIATE (tools.store.db); not a query.
    queries = [sql for sql in statements if not sql.startswith("BEGIN")]
    assert len(queries) == 1 and "FROM addresses" in queries[0]


async def test_a_city_the_postal_data_no_longer_knows_still_reads_the_same(db: Database) -> None:
    # Japan Post renames towns and merges cities; a stored address must stay readable and unchanged.
    async with db.session() as session:
        conversation = await make_conversation(session)
        row = await save_address(session, conversation.id, SHIBUYA)
        row.city = "旧渋谷町渋谷"
        await session.commit()
    async with db.session() as session:
        current = await current_address(session, conversation.id)
    assert current is not None
    assert (current.city, current.town) == ("旧渋谷町渋谷", "")
    assert current.one_line("ja") == "〒150-0002 東京都旧渋谷町渋谷2-21-1 渋谷ヒカリエ 5F"
