"""Shared fixtures: a migrated database on SQLite (always) and PostgreSQL (when configured).

Tests that take the `db` fixture run once per backend. The PostgreSQL run needs
`CHATPAY_TEST_DATABASE_URL` (e.g. postgresql+asyncpg://postgres@127.0.0.1:5432/test); without it those
tests skip with that reason, and `.ci/run` fails on any skip. Each session creates its own throw-away
PostgreSQL database, so two test runs on one machine never see each other's rows.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

from tools.store.db import Database, create_engine
from tools.store.migrate import upgrade
from tools.store.models import Base

PG_ENV = "CHATPAY_TEST_DATABASE_URL"


def _migrate(url: str) -> None:
    async def run() -> None:
        engine = create_engine(url)
        await upgrade(engine)
        await engine.dispose()

    asyncio.run(run())


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite file migrated once; each test gets a copy (much faster than migrating per test)."""
    path = tmp_path_factory.mktemp("template") / "template.db"
    _migrate(f"sqlite+aiosqlite:///{path}")
    return path


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A fresh, migrated PostgreSQL database for this test session, dropped at the end."""
    base = os.environ.get(PG_ENV)
    if not base:
        pytest.skip(f"{PG_ENV} is not set: PostgreSQL tests not run")
    name = f"chatpay_test_{uuid.uuid4().hex[:10]}"
    admin_url = make_url(base)

    async def admin(sql: str) -> None:
        engine = create_engine(admin_url.render_as_string(hide_password=False),
                               isolation_level="AUTOCOMMIT")
        async with engine.connect() as conn:
            await conn.execute(text(sql))
        await engine.dispose()

    asyncio.run(admin(f'CREATE DATABASE "{name}"'))
    url = admin_url.set(database=name).render_as_string(hide_password=False)
    try:
        _migrate(url)
        yield url
    finally:
        asyncio.run(admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        template: Path = request.getfixturevalue("sqlite_template")
        path = tmp_path / "chatpay.db"
        shutil.copyfile(template, path)
        return f"sqlite+aiosqlite:///{path}"
    url: str = request.getfixturevalue("postgres_url")
    return url


async def _database(url: str) -> AsyncIterator[Database]:
    database = Database(url)
    try:
        yield database
    finally:
        if not database.is_sqlite:
            tables = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
            async with database.engine.begin() as conn:
                await conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
        await database.dispose()


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[Database]:
    """A migrated, empty database on each backend."""
    async for database in _database(database_url):
        yield database


@pytest.fixture
async def pg_db(postgres_url: str) -> AsyncIterator[Database]:
    """A migrated, empty PostgreSQL database, for tests of real concurrency (SQLite serialises)."""
    async for database in _database(postgres_url):
        yield database


# No test reaches a real model or any other non-loopback host.
from tests.network_guard import block_real_network  # noqa: E402, F401

# The payment-flow harness (a checkout wired to an in-process sandbox gateway) for every test package.
from tests.shop_harness import pg_shop, shop  # noqa: E402, F401
