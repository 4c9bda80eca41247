"""`search_products`: search over the database, with an index cached across calls."""

from __future__ import annotations

from dataclasses import replace

from sqlalchemy import select, update

from tests.factories import make_product
from tests.tools.catalog.conftest import load_demo
from tools.catalog import (
    ProductSnapshot,
    SearchIndex,
    load_catalog,
    load_demo_entries,
    search_products,
)
from tools.store.db import Database
from tools.store.models import Product


async def test_search_products_returns_snapshots_of_active_rows(db: Database) -> None:
    await load_demo(db)
    async with db.session() as session:
        hits = await search_products(session, "緑茶はありますか", limit=3)
        row = await session.scalar(select(Product).where(Product.sku == "TEA-SENCHA"))

    assert row is not None
    assert [hit.sku for hit in hits][0] == "TEA-SENCHA"
    sencha = hits[0].product
    assert isinstance(sencha, ProductSnapshot)
    assert (sencha.id, sencha.price, sencha.tax_rate, sencha.stock) == (row.id, 1200, 8, 50)
    assert sencha.tags == ("tea", "green tea", "緑茶")


async def test_index_is_reused_while_the_catalogue_is_unchanged(db: Database) -> None:
    await load_demo(db)
    async with db.session() as session:
        first = await search_products(session, "hasami mug")
    async with db.session() as session:
        second = await search_products(session, "Hasami porcelain mug")

    assert first[0].sku == second[0].sku == "MUG-HASAMI"
    assert first[0].product is second[0].product  # same snapshot: no rebuild


async def test_changes_by_other_sessions_are_seen_without_invalidation(db: Database) -> None:
    await load_demo(db)
    async with db.session() as session:
        assert (await search_products(session, "castella"))[0].product.stock == 2

    # What checkout and another server process do: plain updates, no call into the catalogue.
    async with db.session() as session:
        await session.execute(update(Product).where(Product.sku == "SNK-CASTELLA").values(stock=1))
        await session.execute(
            update(Product).where(Product.sku == "MUG-HASAMI").values(active=False)
        )
        await make_product(
            session, sku="SNK-MONAKA", name="Monaka wafers x6", name_ja="最中 6個",
            tags=["snack", "monaka", "最中"], price=972, tax_rate=8, stock=12,
        )  # fmt: skip
        await session.commit()

    async with db.session() as session:
        assert (await search_products(session, "castella"))[0].product.stock == 1
        assert "MUG-HASAMI" not in [hit.sku for hit in await search_products(session, "mug")]
        assert [hit.sku for hit in await search_products(session, "最中")] == ["SNK-MONAKA"]


async def test_a_sale_moves_stock_without_rebuilding_the_index(db: Database) -> None:
    """Orders take and return stock keeping updated_at (tools.checkout.orders): under load every
    sale used to cost the next search a full index rebuild. The hits' stock is read afresh."""
    await load_demo(db)
    async with db.session() as session:
        before = (await search_products(session, "castella"))[0]
        mug = (await search_products(session, "hasami mug"))[0]
    assert before.product.stock == 2

    async with db.session() as session:  # the statement an order's confirm runs
        await session.execute(
            update(Product).where(Product.sku == "SNK-CASTELLA", Product.stock >= 1)
            .values(stock=Product.stock - 1, updated_at=Product.updated_at))
        await session.commit()

    async with db.session() as session:
        after = (await search_products(session, "castella"))[0]
        mug_after = (await search_products(session, "hasami mug"))[0]
    assert after.product == replace(before.product, stock=1)  # the stock read afresh
    assert mug_after.product is mug.product  # the same snapshot: the index was not rebuilt


async def test_a_load_in_the_same_session_is_searchable_before_commit(db: Database) -> None:
    async with db.session() as session:
        assert await search_products(session, "sencha") == []
        await load_catalog(session, load_demo_entries())
        hits = await search_products(session, "sencha")
    assert hits[0].sku == "TEA-SENCHA"


async def test_filler_only_query_finds_nothing(db: Database) -> None:
    await load_demo(db)
    async with db.session() as session:
        assert await search_products(session, "do you have any?") == []
        assert await search_products(session, "ありますか") == []


async def test_index_accepts_orm_rows(db: Database) -> None:
    await load_demo(db)
    async with db.session() as session:
        rows = list(await session.scalars(select(Product)))
    hits = SearchIndex(rows).search("ballpoint pen", limit=1)
    assert [hit.sku for hit in hits] == ["PEN-BALL"]
    assert isinstance(hits[0].product, Product)
