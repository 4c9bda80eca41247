"""aiosqlite with one thread hop per statement instead of four.

This module only houses `connect`, the `async_creator` that `tools.store.db` gives SQLAlchemy for
SQLite URLs. aiosqlite runs every sqlite3 call on its own thread and hands each one over through a
queue; SQLAlchemy's adapter makes four such calls per statement (open a cursor, execute, fetch
all, close). Each hand-over costs the event loop a future, a wake-up through its self-pipe and a
thread switch, several times what a small indexed statement costs SQLite itself, and a shop turn
runs about thirty statements.

`_FusedCursor` does the four steps in one hand-over: it executes, fetches every row and closes
the sqlite3 cursor on the connection's thread, then serves `fetchall`/`fetchone`/`fetchmany` and
`close` from memory. SQLite has no server-side cursors, so reading the rows at once changes no
result. Everything else (the thread, the queue, commit/rollback, errors) is aiosqlite's own.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Sequence
from functools import partial
from threading import Thread
from typing import Any, cast

import aiosqlite

_Description = tuple[tuple[str, None, None, None, None, None, None], ...] | None


class _Outcome:
    """What one statement left behind, captured on the connection's thread."""

    __slots__ = ("description", "lastrowid", "rowcount", "rows")

    def __init__(self, cursor: sqlite3.Cursor, rows: list[Any]) -> None:
        self.description: _Description = cursor.description
        self.rowcount: int = cursor.rowcount
        self.lastrowid: int | None = cursor.lastrowid
        self.rows = rows


def _run(connection: sqlite3.Connection, sql: str, parameters: Any, many: bool) -> _Outcome:
    cursor = connection.cursor()
    try:
        if many:
            cursor.executemany(sql, parameters)
        else:
            cursor.execute(sql, parameters)
        # RETURNING rows must be read before the statement counts as done (rowcount, locks).
        rows = cursor.fetchall() if cursor.description else []
        return _Outcome(cursor, rows)
    finally:
        cursor.close()


class _FusedCursor:
    """The part of aiosqlite's cursor that SQLAlchemy's adapter uses, one hand-over a statement."""

    arraysize = 1

    def __init__(self, connection: _FusedConnection) -> None:
        self._connection = connection
        self._outcome: _Outcome | None = None
        self._position = 0

    async def __aenter__(self) -> _FusedCursor:
        return self

    async def __aexit__(self, *_exc: object) -> None:
        await self.close()

    @property
    def description(self) -> _Description:
        return self._outcome.description if self._outcome else None

    @property
    def rowcount(self) -> int:
        return self._outcome.rowcount if self._outcome else -1

    @property
    def lastrowid(self) -> int | None:
        return self._outcome.lastrowid if self._outcome else None

    async def execute(self, sql: str, parameters: Sequence[Any] | None = None) -> _FusedCursor:
        self._outcome = await self._connection.run(sql, parameters or (), many=False)
        self._position = 0
        return self

    async def executemany(self, sql: str, parameters: Iterable[Sequence[Any]]) -> _FusedCursor:
        self._outcome = await self._connection.run(sql, list(parameters), many=True)
        self._position = 0
        return self

    def _take(self, size: int | None) -> list[Any]:
        rows = self._outcome.rows if self._outcome else []
        end = len(rows) if size is None else self._position + size
        taken = rows[self._position:end]
        self._position += len(taken)
        return taken

    async def fetchall(self) -> list[Any]:
        return self._take(None)

    async def fetchmany(self, size: int | None = None) -> list[Any]:
        return self._take(size or self.arraysize)

    async def fetchone(self) -> Any:
        taken = self._take(1)
        return taken[0] if taken else None

    async def close(self) -> None:
        # Like a closed sqlite3 cursor: no more rows, but lastrowid and rowcount still answer
        # (SQLAlchemy closes the cursor before a caller reads `CursorResult.lastrowid`).
        if self._outcome is not None:
            self._outcome.rows = []
        self._position = 0


class _FusedConnection(aiosqlite.Connection):
    """An aiosqlite connection whose cursors cost one thread hand-over per statement."""

    def cursor(self) -> _FusedCursor:  # type: ignore[override]
        # Opening the sqlite3 cursor happens inside `run`, on the connection's thread.
        return _FusedCursor(self)

    async def run(self, sql: str, parameters: Any, *, many: bool) -> _Outcome:
        """Execute one statement on the connection's thread and bring back all it produced."""
        outcome = await self._execute(  # type: ignore[no-untyped-call]
            partial(_run, self._conn, sql, parameters, many))
        return cast(_Outcome, outcome)


async def connect(database: str, **kwargs: Any) -> aiosqlite.Connection:
    """Open `database` like `aiosqlite.connect`, with fused cursors (see the module docstring)."""
    connection = _FusedConnection(partial(sqlite3.connect, database, **kwargs),
                                  iter_chunk_size=64)
    # Like SQLAlchemy's own aiosqlite connect: a forgotten connection must not keep the
    # interpreter alive at exit. (Before aiosqlite 0.22 the connection was the thread itself.)
    thread = cast(Thread, getattr(connection, "_thread", connection))
    thread.daemon = True
    return await connection
