"""Catalogue test fixtures: every test starts with no cached search index; `load_demo`."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tools.catalog import invalidate_search_index, load_catalog, load_demo_entries
from tools.store.db import Database


@pytest.fixture(autouse=True)
def fresh_search_index() -> Iterator[None]:
    # The index cache is process-wide; a test must not see an index built by the previous one.
    invalidate_search_index()
    yield
    invalidate_search_index()


async def load_demo(db: Database) -> None:
    """The shipped demo catalogue, committed."""
    async with db.session() as session:
        await load_catalog(session, load_demo_entries())
        await session.commit()
