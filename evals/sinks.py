"""The sinks the leak check reads, as text pieces: database rows, and masking for the report.

This module only houses turning what a run left behind into `(where, text, produced_at)` pieces
and scanning them (`scan_pieces`), reading every row of a run's SQLite file, and masking nested
report data (`mask_entry`). What counts as a secret is `evals.leaks`' business.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from evals.leaks import Leak, Secrets, SinkName, find_leaks, mask


def database_rows(path: Path) -> Iterator[tuple[str, str]]:
    """Every row of every table, all columns as text: `("table row N", text)`."""
    connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        tables = [row[0] for row in connection.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table'")]
        for table in tables:
            quoted = table.replace('"', '""')
            for number, row in enumerate(connection.execute(f'SELECT * FROM "{quoted}"'), 1):  # noqa: S608 - names from sqlite_master
                cells = [value.decode("utf-8", "replace") if isinstance(value, bytes)
                         else "" if value is None else str(value) for value in row]
                yield f"{table} row {number}", " | ".join(cells)
    finally:
        connection.close()


Piece = tuple[str, str, int | None]  # (where, text, step during which it was produced)


def scan_pieces(secrets: Secrets, sink: SinkName, pieces: Sequence[Piece]) -> list[Leak]:
    """Leaks in many pieces of one sink; one joined search first, since most runs have none."""
    if not secrets or not pieces:
        return []
    # NUL is no separator of card digits, so joining cannot make a number out of two pieces.
    if not find_leaks(secrets, sink, "", "\x00".join(text for _, text, _ in pieces)):
        return []
    found: list[Leak] = []
    for where, text, produced_at in pieces:
        found += find_leaks(secrets, sink, where, text, produced_at)
    return found


def mask_entry(value: Any, secrets: Secrets) -> Any:
    """A transcript entry with every string masked (the structure kept intact)."""
    if isinstance(value, str):
        return mask(value, secrets)
    if isinstance(value, dict):
        return {key: mask_entry(item, secrets) for key, item in value.items()}
    if isinstance(value, list):
        return [mask_entry(item, secrets) for item in value]
    return value
