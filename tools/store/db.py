"""Engine and session factory for the merchant database.

One `Database` object per process owns the async engine; tools take an `AsyncSession` from it.
SQLite (the default, a file under ./var) is tuned for a single-machine server: WAL journal, foreign keys
on, every transaction BEGIN IMMEDIATE with a busy timeout, so concurrent writers queue instead of
racing or failing. PostgreSQL needs nothing special (rows are locked where it matters).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import event, exc
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import (
    AsyncConnection,
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from tools.store import sqlite_driver


def _prepare_sqlite_file(url: str) -> None:
    """Create the parent directory of a SQLite file so that a fresh clone just works."""
    parsed = make_url(url)
    if parsed.database and parsed.database != ":memory:":
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)


def _on_sqlite_connect(dbapi_connection: Any, _record: Any) -> None:
    # Take transaction control away from the sqlite3 module (which defers BEGIN until the first
    # write and so breaks SAVEPOINTs and lets read-then-write races through); see `_on_sqlite_begin`.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


def _on_sqlite_begin(connection: Any) -> None:
    # IMMEDIATE takes SQLite's single write lock at the start of every transaction: a transaction
    # that reads a cart or a quote and then writes cannot interleave with another one doing the same
    # (no lost updates, no "database is locked" on lock upgrade; others wait up to busy_timeout).
    # SQLite serialises writers anyway; PostgreSQL is the backend for concurrent load.
    connection.exec_driver_sql("BEGIN IMMEDIATE")


def create_engine(url: str, **kwargs: Any) -> AsyncEngine:
    """An async engine for `url` (sqlite+aiosqlite or postgresql+asyncpg)."""
    if url.startswith("sqlite"):
        _prepare_sqlite_file(url)
        parsed = make_url(url)
        if parsed.get_driver_name() == "aiosqlite" and not (
                {"async_creator", "connect_args"} & kwargs.keys()):
            # One thread hand-over per statement instead of four (see tools.store.sqlite_driver),
            # opening the file with the options SQLAlchemy itself would use.
            args, options = parsed.get_dialect()().create_connect_args(parsed)
            kwargs["async_creator"] = lambda: sqlite_driver.connect(*args, **options)
        engine = create_async_engine(url, **kwargs)
        event.listen(engine.sync_engine, "connect", _on_sqlite_connect)
        event.listen(engine.sync_engine, "begin", _on_sqlite_begin)
        return engine
    parsed = make_url(url)
    if parsed.get_driver_name() == "asyncpg" and "prepared_statement_cache_size" not in parsed.query:
        # The app sends some 150 distinct statements; at the default 100 the cache evicts, and
        # every eviction costs a PREPARE round trip the next time the statement runs.
        url = parsed.update_query_dict({"prepared_statement_cache_size": "500"}).render_as_string(
            hide_password=False)
    # No pre-ping: the asyncpg dialect's ping is three round trips (BEGIN, a query, ROLLBACK) on
    # every checkout, a quarter of a turn's round trips under load. `_drop_closed` catches what
    # the ping was for (connections the server closed: restart, failover, terminated backends)
    # without a round trip; a connection that dies mid-statement is invalidated by SQLAlchemy's
    # disconnect handling, and that request answers 503 (`api.errors`).
    kwargs.setdefault("pool_pre_ping", False)
    # Connections kept open per process. At SQLAlchemy's default (5 + 10 overflow) a busy worker
    # kept opening and closing overflow connections: each costs a connect, authentication and,
    # its prepared statements being per connection, a PREPARE of every statement it then runs.
    # 20 at most per process: four workers stay within PostgreSQL's default 100 connections.
    kwargs.setdefault("pool_size", 15)
    kwargs.setdefault("max_overflow", 5)
    engine = create_async_engine(url, **kwargs)
    event.listen(engine.sync_engine.pool, "checkout", _drop_closed)
    return engine


def _drop_closed(dbapi_connection: Any, _record: Any, _proxy: Any) -> None:
    """Refuse a pooled connection whose socket the server has closed (the pool takes another)."""
    driver = getattr(dbapi_connection, "driver_connection", None)
    is_closed = getattr(driver, "is_closed", None)
    if is_closed is not None and is_closed():
        raise exc.DisconnectionError("the database server closed this connection")


class Database:
    """The process's engine plus a session factory."""

    def __init__(self, url: str, **engine_kwargs: Any) -> None:
        self.url = url
        self.engine = create_engine(url, **engine_kwargs)
        self.sessions = async_sessionmaker(self.engine, expire_on_commit=False)

    @property
    def is_sqlite(self) -> bool:
        return self.engine.dialect.name == "sqlite"

    @asynccontextmanager
    async def session(self) -> AsyncIterator[AsyncSession]:
        """A session; the caller commits. Rolled back on error."""
        async with self.sessions() as session:
            try:
                yield session
            except BaseException:
                await session.rollback()
                raise

    @asynccontextmanager
    async def single_statement(self) -> AsyncIterator[AsyncConnection]:
        """A connection for work of one statement at a time, none needing a transaction around it.

        On PostgreSQL it runs in autocommit: each statement is one round trip instead of BEGIN,
        the statement and COMMIT (or ROLLBACK). SQLite keeps its usual transaction, committed at
        the end (the sqlite3 module's autocommit switch would be reset to its implicit-BEGIN mode
        when the pool takes the connection back, and there a BEGIN costs no round trip anyway).
        A statement that fails leaves the connection usable for the next (SQLite: rolled back).
        """
        async with self.engine.connect() as connection:
            if self.is_sqlite:
                yield connection
                await connection.commit()
            else:
                yield await connection.execution_options(isolation_level="AUTOCOMMIT")

    async def dispose(self) -> None:
        await self.engine.dispose()
