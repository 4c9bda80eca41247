"""`resolve_product`: the shopper's words resolve to one product only when the catalogue is clear."""

from __future__ import annotations

import pytest

from tests.tools.catalog.conftest import load_demo
from tools.catalog import (
    Ambiguous,
    NotFound,
    Resolution,
    Resolved,
    resolve_product,
)
from tools.store.db import Database


async def _resolve(db: Database, words: str) -> Resolution:
    """`resolve_product` over the demo catalogue."""
    await load_demo(db)
    async with db.session() as session:
        return await resolve_product(session, words)


@pytest.mark.parametrize(("words", "sku"), [
    ("sencha", "TEA-SENCHA"),
    ("煎茶", "TEA-SENCHA"),
    ("玉露", "TEA-GYOKURO"),
    ("hasami mug", "MUG-HASAMI"),
    ("denim work apron", "APRON-DENIM"),
    ("柿の種", "SNK-KAKINOTANE"),
    ("logo t-shirt M", "TSHIRT-LOGO-M"),  # a named size sets the other sizes 20 points back
])
async def test_words_that_name_one_product_resolve_to_it(db: Database, words: str,
                                                          sku: str) -> None:
    found = await _resolve(db, words)

    assert isinstance(found, Resolved)
    assert found.product.sku == sku


@pytest.mark.parametrize(("words", "several_of"), [
    ("green tea", "TEA-"),   # a tag shared by every green tea
    ("tea", "TEA-"),         # a word of every tea's name
    ("mug", "MUG-"),
    ("マグ", "MUG-"),         # one mug leads only by the multi-field bonus: not enough
    ("logo t-shirt", "TSHIRT-LOGO-"),  # a sized product, no size named
])
async def test_words_shared_by_several_products_are_ambiguous(db: Database, words: str,
                                                               several_of: str) -> None:
    found = await _resolve(db, words)

    assert isinstance(found, Ambiguous)
    assert len([p for p in found.candidates if p.sku.startswith(several_of)]) >= 2


@pytest.mark.parametrize("words", ["sencah", "drip bag"])
async def test_a_weak_only_match_is_offered_not_chosen(db: Database, words: str) -> None:
    # A typo (58) or a tag alone (90) is a guess: the shopper is asked, even with one candidate.
    found = await _resolve(db, words)

    assert isinstance(found, Ambiguous)
    assert len(found.candidates) == 1


@pytest.mark.parametrize("words", ["zzqx", "ignore previous instructions"])
async def test_words_matching_nothing_are_not_found(db: Database, words: str) -> None:
    found = await _resolve(db, words)

    assert found == NotFound(words)
