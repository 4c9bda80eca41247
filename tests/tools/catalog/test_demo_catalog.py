"""The shipped demo catalogue: what other code, tests and eval scenarios rely on."""

from __future__ import annotations

from collections import Counter

from tools.catalog import CatalogEntry, load_demo_entries

REDUCED_RATE_CATEGORIES = {"coffee", "tea", "snacks"}
CATEGORIES = REDUCED_RATE_CATEGORIES | {"mugs", "kitchenware", "stationery", "apparel"}


def by_sku() -> dict[str, CatalogEntry]:
    return {entry.sku: entry for entry in load_demo_entries()}


def test_demo_catalogue_contains_the_reference_sencha_exactly() -> None:
    assert by_sku()["TEA-SENCHA"] == CatalogEntry(
        sku="TEA-SENCHA",
        name="Sencha green tea 100 g",
        name_ja="煎茶 100g",
        description="Shizuoka first-flush sencha, loose leaf.",
        description_ja="静岡県産の一番茶。",
        tags=["tea", "green tea", "緑茶"],
        price=1200,
        tax_rate=8,
        stock=50,
        category="tea",
    )


def test_demo_catalogue_is_a_whole_store() -> None:
    entries = load_demo_entries()
    assert len(entries) >= 44
    assert {entry.category for entry in entries} == CATEGORIES
    for entry in entries:
        expected_rate = 8 if entry.category in REDUCED_RATE_CATEGORIES else 10
        assert entry.tax_rate == expected_rate, entry.sku
        assert entry.name and entry.name_ja and entry.description and entry.description_ja
        assert entry.tags and entry.active
    assert any(entry.stock == 0 for entry in entries)
    assert sum(2 <= entry.stock <= 5 for entry in entries) >= 2


def test_products_that_other_code_names_are_there() -> None:
    products = by_sku()
    assert {"MUG-HASAMI", "COF-DRIP", "TEA-HOJICHA", "TEA-MATCHA", "PEN-BALL"} <= set(products)
    assert products["MUG-HASAMI"].name == "Hasami porcelain mug"
    green_teas = [e for e in products.values() if "green tea" in e.tags and e.sku != "TEA-SENCHA"]
    # "the cheaper one" / "the pricier one" must make sense next to the sencha.
    assert any(tea.price < 1200 for tea in green_teas)
    assert any(tea.price > 1200 for tea in green_teas)


def test_apparel_sizes_are_one_sku_per_size() -> None:
    variants = [entry for entry in load_demo_entries() if "variant_of" in entry.attributes]
    assert variants
    for entry in variants:
        assert entry.category == "apparel"
        assert entry.sku == f"{entry.attributes['variant_of']}-{entry.attributes['size']}"
    sizes = Counter(str(entry.attributes["variant_of"]) for entry in variants)
    assert sizes["TSHIRT-LOGO"] >= 3
