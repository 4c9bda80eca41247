"""The SQLite driver behind every SQLite engine: aiosqlite that hands over only what can wait.

SQLAlchemy must see exactly what stock aiosqlite gives it (rows, RETURNING, rowcount, lastrowid,
errors, savepoints), while statements inside a transaction (which holds the write lock) run on
the event loop, and only a BEGIN that must wait for another connection's lock crosses to the
connection's thread.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import aiosqlite
import pytest
from sqlalchemy import exc, text
from sqlalchemy.ext.asyncio import AsyncEngine

from tools.store import sqlite_driver
from tools.store.db import create_engine

#: The same behaviour is asked of the fused driver and of stock aiosqlite (opted into by passing
#: connect_args), so these tests show the two are interchangeable.
DRIVERS = pytest.mark.parametrize("options", [{}, {"connect_args": {}}], ids=["fused", "stock"])


async def _engine(tmp_path: Path, **kwargs: object) -> AsyncEngine:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'driver.db'}", **kwargs)
    async with engine.begin() as conn:
        await conn.execute(text("CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT UNIQUE)"))
    return engine


@DRIVERS
async def test_rows_returning_rowcount_and_lastrowid_come_back(
        tmp_path: Path, options: dict[str, object]) -> None:
    engine = await _engine(tmp_path, **options)
    try:
        async with engine.begin() as conn:
            returned = await conn.execute(
                text("INSERT INTO items (name) VALUES ('tea') RETURNING id, name"))
            assert returned.all() == [(1, "tea")]
            inserted = await conn.execute(text("INSERT INTO items (name) VALUES ('mug')"))
            assert inserted.lastrowid == 2
            many = await conn.execute(text("INSERT INTO items (name) VALUES (:name)"),
                                      [{"name": "cup"}, {"name": "pot"}])
            assert many.rowcount == 2
            updated = await conn.execute(text("UPDATE items SET name = name || '!' WHERE id > 2"))
            assert updated.rowcount == 2
            rows = await conn.execute(text("SELECT name FROM items ORDER BY id"))
            assert rows.fetchone() == ("tea",)
            assert rows.fetchmany(2) == [("mug",), ("cup!",)]
            assert rows.fetchall() == [("pot!",)]
            empty = await conn.execute(text("SELECT name FROM items WHERE id = 99"))
            assert empty.first() is None
    finally:
        await engine.dispose()


@DRIVERS
async def test_errors_and_savepoints_behave_alike(tmp_path: Path,
                                                  options: dict[str, object]) -> None:
    engine = await _engine(tmp_path, **options)
    try:
        async with engine.connect() as conn:
            await conn.execute(text("INSERT INTO items (name) VALUES ('tea')"))
            savepoint = await conn.begin_nested()
            with pytest.raises(exc.IntegrityError):
                await conn.execute(text("INSERT INTO items (name) VALUES ('tea')"))
            await savepoint.rollback()
            await conn.execute(text("INSERT INTO items (name) VALUES ('mug')"))
            await conn.commit()
            names = (await conn.execute(text("SELECT name FROM items ORDER BY id"))).scalars()
            assert list(names) == ["tea", "mug"]
            with pytest.raises(exc.OperationalError):
                await conn.execute(text("SELECT * FROM no_such_table"))
    finally:
        await engine.dispose()


class HandOvers:
    """Counts the calls sent to aiosqlite's thread, once `start` is called."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.calls: list[object] = []
        self._monkeypatch = monkeypatch

    def start(self) -> None:
        original = aiosqlite.Connection._execute
        calls = self.calls

        async def counting(self: aiosqlite.Connection, fn: object, *args: object) -> object:
            calls.append(fn)
            return await original(self, fn, *args)  # type: ignore[no-untyped-call]

        self._monkeypatch.setattr(aiosqlite.Connection, "_execute", counting)


@pytest.fixture
def hand_overs(monkeypatch: pytest.MonkeyPatch) -> HandOvers:
    return HandOvers(monkeypatch)


async def test_statements_in_a_transaction_run_on_the_loop_without_a_hand_over(
        tmp_path: Path, hand_overs: HandOvers, monkeypatch: pytest.MonkeyPatch) -> None:
    engine = await _engine(tmp_path)
    try:
        async with engine.connect() as conn:
            await conn.execute(text("SELECT 1"))  # the pool's connection is open before counting
            await conn.commit()
            hand_overs.start()
            for number in range(1, 6):  # each begins a transaction: BEGIN IMMEDIATE, lock free
                await conn.execute(text("INSERT INTO items (name) VALUES (:n)"),
                                   {"n": f"item {number}"})
                assert len((await conn.execute(text("SELECT name FROM items"))).all()) == number
                await conn.commit()
            # Stock aiosqlite: 4 per statement (cursor, execute, fetch, close).
            assert hand_overs.calls == []
            raw = await conn.get_raw_connection()
            sqlite = raw.driver_connection._conn  # type: ignore[union-attr]
            # The no-wait attempt at BEGIN puts the configured busy timeout back.
            assert sqlite.execute("PRAGMA busy_timeout").fetchone()[0] == 10000
    finally:
        monkeypatch.undo()
        await engine.dispose()


async def test_a_begin_that_must_wait_waits_on_the_thread_and_the_loop_runs_on(
        tmp_path: Path, hand_overs: HandOvers, monkeypatch: pytest.MonkeyPatch) -> None:
    """Two connections of one process: the second BEGIN waits for the first's commit.

    Were it to wait on the event loop, the first (a coroutine of the same loop) could never
    commit: the loop would hang for the whole busy timeout and the BEGIN would then fail.
    """
    engine = await _engine(tmp_path)
    try:
        async with engine.connect() as holder, engine.connect() as waiter:
            await waiter.execute(text("SELECT 1"))  # open both connections before counting
            await waiter.commit()
            await holder.execute(text("INSERT INTO items (name) VALUES ('tea')"))  # holds the lock
            hand_overs.start()
            second = asyncio.create_task(
                waiter.execute(text("INSERT INTO items (name) VALUES ('mug')")))
            ticks = 0
            while not hand_overs.calls and ticks < 200:  # the loop keeps running while it waits
                await asyncio.sleep(0.01)
                ticks += 1
            assert len(hand_overs.calls) == 1 and not second.done()
            await holder.commit()
            await asyncio.wait_for(second, timeout=10)
            await waiter.commit()
            names = (await waiter.execute(text("SELECT name FROM items ORDER BY id"))).scalars()
            assert list(names) == ["tea", "mug"]
            await waiter.commit()
    finally:
        monkeypatch.undo()
        await engine.dispose()


async def test_an_engine_given_its_own_connect_args_keeps_stock_aiosqlite(tmp_path: Path) -> None:
    fused, stock = await _engine(tmp_path), create_engine(
        f"sqlite+aiosqlite:///{tmp_path / 'driver.db'}", connect_args={"timeout": 5})
    try:
        for engine, expected in ((fused, True), (stock, False)):
            async with engine.connect() as conn:
                raw = await conn.get_raw_connection()
                driver = raw.driver_connection
                assert isinstance(driver, sqlite_driver._FusedConnection) is expected
    finally:
        await fused.dispose()
        await stock.dispose()
