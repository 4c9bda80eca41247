"""The schema comes only from migrations, and the migrations match the ORM classes."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from tools.store.db import Database
from tools.store.migrate import current_head, downgrade, upgrade
from tools.store.models import Base


async def test_migrations_match_models(db: Database) -> None:
    def diff(sync_conn: object) -> list[object]:
        ctx = MigrationContext.configure(sync_conn, opts={"compare_type": False})  # type: ignore[arg-type]
        return list(compare_metadata(ctx, Base.metadata))

    async with db.engine.connect() as conn:
        differences = await conn.run_sync(diff)
    assert differences == []


async def test_downgrade_and_upgrade_round_trip(db: Database) -> None:
    await downgrade(db.engine, "base")
    async with db.engine.connect() as conn:
        tables = await conn.run_sync(lambda c: inspect(c).get_table_names())
    assert set(tables) <= {"alembic_version"}
    await upgrade(db.engine)
    async with db.engine.connect() as conn:
        tables = await conn.run_sync(lambda c: inspect(c).get_table_names())
        version = await conn.run_sync(
            lambda c: MigrationContext.configure(c).get_current_revision()
        )
    assert {"products", "orders", "quotes", "payments", "cart_lines"} <= set(tables)
    assert version == current_head()
