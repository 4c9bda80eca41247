"""aiosqlite that runs statements on the event loop and hands over only what can wait.

This module only houses `connect`, the `async_creator` that `tools.store.db` gives SQLAlchemy for
SQLite URLs. aiosqlite runs every sqlite3 call on its own thread and hands each one over through a
queue; SQLAlchemy's adapter makes four such calls per statement (open a cursor, execute, fetch
all, close). Each hand-over costs the event loop a future, a wake-up through its self-pipe and a
thread switch, several times what a small indexed statement costs SQLite itself (a few µs), and a
shop turn runs about twenty statements.

`_FusedCursor` does the four steps at once: it executes, fetches every row and closes the sqlite3
cursor, then serves `fetchall`/`fetchone`/`fetchmany` and `close` from memory (SQLite has no
server-side cursors, so reading the rows at once changes no result). Where that happens is
decided per statement (`_may_wait`): only a statement that can wait for another connection's lock
goes to the connection's thread; everything else runs right on the loop. Errors, savepoints,
commit and rollback behave as in stock aiosqlite.
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
        """Execute one statement and bring back all it produced (see `_may_wait`)."""
        if not _may_wait(sql):
            return _run(self._conn, sql, parameters, many)
        if sql.lstrip()[:5].upper() == "BEGIN":
            # Mostly nobody holds the lock: take it here, and wait on the thread only if busy.
            taken = _begin_without_waiting(self._conn, sql)
            if taken is not None:
                return taken
        outcome = await self._execute(  # type: ignore[no-untyped-call]
            partial(_run, self._conn, sql, parameters, many))
        return cast(_Outcome, outcome)

    async def commit(self) -> None:
        # Inside the write lock: a WAL commit appends to the log and waits for nobody.
        self._conn.commit()

    async def rollback(self) -> None:
        self._conn.rollback()


def _may_wait(sql: str) -> bool:
    """Whether a statement can wait for another connection's lock (then it runs on the thread).

    Every transaction here starts with BEGIN IMMEDIATE (`tools.store.db`), which takes SQLite's
    write lock and may wait up to busy_timeout for another connection (another request of this
    process, another worker process) to release it. That wait must not block the event loop: the
    holder may be a coroutine of this very process, waiting for the loop to run it. Once BEGIN
    returns, the transaction holds the lock, and in WAL mode nothing else it runs waits for
    anyone: its statements take microseconds, less than the hand-over to a thread would cost, so
    they run right here on the loop. PRAGMAs (journal mode switches) can wait too.
    """
    head = sql.lstrip()[:6].upper()
    return head.startswith(("BEGIN", "PRAGMA"))


def _begin_without_waiting(connection: sqlite3.Connection, sql: str) -> _Outcome | None:
    """Run BEGIN with a zero busy timeout; None when another connection holds the lock."""
    timeout = int(connection.execute("PRAGMA busy_timeout").fetchone()[0])
    connection.execute("PRAGMA busy_timeout=0")
    try:
        return _run(connection, sql, (), False)
    except sqlite3.OperationalError as exc:
        if getattr(exc, "sqlite_errorcode", None) == sqlite3.SQLITE_BUSY:
            return None
        raise
    finally:
        connection.execute(f"PRAGMA busy_timeout={timeout}")


async def connect(database: str, **kwargs: Any) -> aiosqlite.Connection:
    """Open `database` like `aiosqlite.connect`, with fused cursors (see the module docstring)."""
    # The loop's thread runs statements on it too (`_may_wait`), never at the same time as the
    # connection's own thread: each statement is awaited before the next one starts.
    kwargs["check_same_thread"] = False
    connection = _FusedConnection(partial(sqlite3.connect, database, **kwargs),
                                  iter_chunk_size=64)
    # Like SQLAlchemy's own aiosqlite connect: a forgotten connection must not keep the
    # interpreter alive at exit. (Before aiosqlite 0.22 the connection was the thread itself.)
    thread = cast(Thread, getattr(connection, "_thread", connection))
    thread.daemon = True
    return await connection
