"""Catalogue test fixtures: every test starts with no cached search index."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tools.catalog import invalidate_search_index


@pytest.fixture(autouse=True)
def fresh_search_index() -> Iterator[None]:
    # The index cache is process-wide; a test must not see an index built by the previous one.
    invalidate_search_index()
    yield
    invalidate_search_index()
