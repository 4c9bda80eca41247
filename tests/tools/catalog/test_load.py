"""Loading a catalogue into the database, on SQLite and PostgreSQL (the `db` fixture)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import pytest
from sqlalchemy import event, select

from tests.factories import SMALL_CATALOG
from tools.catalog import (
    CatalogEntry,
    LoadReport,
    load_catalog,
    load_demo_entries,
    parse_catalog,
)
from tools.store.db import Database
from tools.store.models import Product


def small_entries(
    changes_by_sku: Mapping[str, Mapping[str, Any]] | None = None,
) -> list[CatalogEntry]:
    changes = changes_by_sku or {}
    rows = [{**row, **changes.get(row["sku"], {})} for row in SMALL_CATALOG]
    return parse_catalog(rows)


async def products_by_sku(db: Database) -> dict[str, Product]:
    async with db.session() as session:
        return {product.sku: product for product in await session.scalars(select(Product))}


@contextmanager
def counting_selects(db: Database) -> Iterator[list[str]]:
    statements: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if statement.lstrip().upper().startswith("SELECT"):
            statements.append(statement)

    event.listen(db.engine.sync_engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(db.engine.sync_engine, "before_cursor_execute", record)


async def test_load_creates_products(db: Database) -> None:
    async with db.session() as session:
        report = await load_catalog(session, small_entries())
        await session.commit()

    assert report == LoadReport(created=4, updated=0, unchanged=0, deactivated=0)
    products = await products_by_sku(db)
    assert set(products) == {"TEA-SENCHA", "COF-DRIP", "MUG-HASAMI", "PEN-BALL"}
    sencha = products["TEA-SENCHA"]
    assert (sencha.price, sencha.tax_rate, sencha.stock) == (1200, 8, 50)
    assert sencha.tags == ["tea", "green tea", "緑茶"] and sencha.name_ja == "煎茶 100g"
    assert sencha.active is True and sencha.attributes == {}


async def test_reload_updates_only_what_changed(db: Database) -> None:
    async with db.session() as session:
        await load_catalog(session, small_entries())
        await session.commit()

    changed = small_entries(
        {
            "COF-DRIP": {"price": 1080, "tags": ["coffee", "コーヒー", "drip"]},
            "MUG-HASAMI": {"attributes": {"colour": "indigo"}},
        }
    )
    async with db.session() as session:
        report = await load_catalog(session, changed)
        await session.commit()

    assert report == LoadReport(created=0, updated=2, unchanged=2, deactivated=0)
    products = await products_by_sku(db)
    assert products["COF-DRIP"].price == 1080
    assert products["COF-DRIP"].tags == ["coffee", "コーヒー", "drip"]
    assert products["MUG-HASAMI"].attributes == {"colour": "indigo"}


async def test_sku_matches_existing_product_whatever_its_case(db: Database) -> None:
    async with db.session() as session:
        await load_catalog(session, small_entries())
        await session.commit()

    lower = parse_catalog([{**SMALL_CATALOG[0], "sku": "tea-sencha", "stock": 7}])
    async with db.session() as session:
        report = await load_catalog(session, lower)
        await session.commit()

    assert report == LoadReport(updated=1)
    products = await products_by_sku(db)
    assert len(products) == 4 and products["TEA-SENCHA"].stock == 7


async def test_deactivate_missing_keeps_rows_and_reactivates_on_return(db: Database) -> None:
    async with db.session() as session:
        await load_catalog(session, small_entries())
        await session.commit()

    only_tea = [entry for entry in small_entries() if entry.sku == "TEA-SENCHA"]
    async with db.session() as session:
        # Without the flag, products missing from the file are left alone.
        assert await load_catalog(session, only_tea) == LoadReport(unchanged=1)
        report = await load_catalog(session, only_tea, deactivate_missing=True)
        await session.commit()

    assert report == LoadReport(unchanged=1, deactivated=3)
    products = await products_by_sku(db)
    assert len(products) == 4  # never deleted: orders reference products
    assert {sku for sku, product in products.items() if product.active} == {"TEA-SENCHA"}

    async with db.session() as session:
        report = await load_catalog(session, small_entries(), deactivate_missing=True)
        await session.commit()
    assert report == LoadReport(updated=3, unchanged=1)
    assert all(product.active for product in (await products_by_sku(db)).values())


async def test_load_flushes_but_leaves_the_commit_to_the_caller(db: Database) -> None:
    async with db.session() as session:
        await load_catalog(session, small_entries())
        assert await session.scalar(select(Product.sku).where(Product.sku == "PEN-BALL"))
        await session.rollback()

    assert await products_by_sku(db) == {}


async def test_demo_catalogue_loads_and_reloads_idempotently(db: Database) -> None:
    entries = load_demo_entries()
    async with db.session() as session:
        first = await load_catalog(session, entries, deactivate_missing=True)
        await session.commit()
    async with db.session() as session:
        second = await load_catalog(session, entries, deactivate_missing=True)
        await session.commit()

    assert first == LoadReport(created=len(entries))
    assert second == LoadReport(unchanged=len(entries))
    products = await products_by_sku(db)
    assert len(products) == len(entries)
    assert products["TSHIRT-LOGO-M"].attributes == {"size": "M", "variant_of": "TSHIRT-LOGO"}


async def test_load_reads_existing_products_with_one_query(db: Database) -> None:
    entries = load_demo_entries()
    async with db.session() as session:
        await load_catalog(session, entries)
        await session.commit()

    async with db.session() as session:
        with counting_selects(db) as selects:
            await load_catalog(session, entries[::-1])
    assert len(selects) == 1


async def test_repeated_sku_in_entries_built_in_code_is_refused(db: Database) -> None:
    (entry,) = parse_catalog([SMALL_CATALOG[0]])
    async with db.session() as session:
        with pytest.raises(ValueError, match="TEA-SENCHA"):
            await load_catalog(session, [entry, entry])
