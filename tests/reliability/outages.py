"""Taking the merchant database away for a moment, on SQLite and on PostgreSQL.

This module only houses the two outages and `outage_database`, the app's `Database` for them:

- SQLite: another connection holds the write lock (`BEGIN EXCLUSIVE`) past the app's busy timeout,
  as a backup tool or a stuck process would. Every app transaction begins IMMEDIATE, so reads and
  writes alike fail with "database is locked". The app's busy timeout is cut to 0.2 s for the test
  (the shipped 10 s would only make the test slow, not different).
- PostgreSQL: the database stops accepting connections (`ALLOW_CONNECTIONS false`) and every
  backend of it is terminated, as in a failover or maintenance window; an admin connection to
  the server's base database (CHATPAY_TEST_DATABASE_URL) does it and undoes it.
"""

from __future__ import annotations

import os
import sqlite3
from typing import Any, Protocol

from sqlalchemy import event, text
from sqlalchemy.engine import make_url

from tests.conftest import PG_ENV
from tools.store.db import Database, create_engine

BUSY_TIMEOUT_MS = 200


class Outage(Protocol):
    async def begin(self) -> None: ...

    async def end(self) -> None: ...


class SQLiteLock:
    """A second connection that holds SQLite's write lock until `end`."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.holder: sqlite3.Connection | None = None

    async def begin(self) -> None:
        self.holder = sqlite3.connect(self.path, isolation_level=None)
        self.holder.execute("BEGIN EXCLUSIVE")

    async def end(self) -> None:
        if self.holder is not None:
            self.holder.execute("ROLLBACK")
            self.holder.close()
            self.holder = None


class PostgresRefusal:
    """The test database refuses new connections and loses its open ones until `end`."""

    def __init__(self, url: str) -> None:
        base = os.environ.get(PG_ENV)
        assert base, f"{PG_ENV} is needed to take a PostgreSQL database down"
        self.base = base
        self.name = make_url(url).database

    async def _admin(self, *statements: str) -> None:
        engine = create_engine(self.base, isolation_level="AUTOCOMMIT")
        try:
            async with engine.connect() as conn:
                for statement in statements:
                    await conn.execute(text(statement), {"name": self.name})
        finally:
            await engine.dispose()

    async def begin(self) -> None:
        await self._admin(f'ALTER DATABASE "{self.name}" ALLOW_CONNECTIONS false',
                          "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                          "WHERE datname = :name AND pid <> pg_backend_pid()")

    async def end(self) -> None:
        await self._admin(f'ALTER DATABASE "{self.name}" ALLOW_CONNECTIONS true')


def outage_for(database: Database) -> Outage:
    if database.is_sqlite:
        path = make_url(database.url).database
        assert path, database.url
        return SQLiteLock(path)
    return PostgresRefusal(database.url)


def outage_database(url: str) -> Database:
    """The app's database; on SQLite with a short busy timeout, so a lock fails fast."""
    database = Database(url)
    if database.is_sqlite:
        def short_busy_timeout(dbapi_connection: Any, _record: Any) -> None:
            # Runs after the shipped connect hook, so it overrides its 10 s busy timeout.
            cursor = dbapi_connection.cursor()
            cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
            cursor.close()

        event.listen(database.engine.sync_engine, "connect", short_busy_timeout)
    return database
