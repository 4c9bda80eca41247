"""Catalogue files: what a merchant may write, and the errors a bad file gets."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tools.catalog import CatalogEntry, CatalogFormatError, parse_catalog, read_catalog_file

SENCHA: dict[str, Any] = {
    "sku": "TEA-SENCHA",
    "name": "Sencha green tea 100 g",
    "name_ja": "煎茶 100g",
    "description": "Shizuoka first-flush sencha, loose leaf.",
    "description_ja": "静岡県産の一番茶。",
    "tags": ["tea", "green tea", "緑茶"],
    "price": 1200,
    "tax_rate": 8,
    "stock": 50,
}
PEN: dict[str, Any] = {
    "sku": "PEN-BALL",
    "name": "Ballpoint pen",
    "name_ja": "ボールペン",
    "price": 220,
    "tax_rate": 10,
    "stock": 200,
}

GOOD_YAML = """\
products:
  - sku: TEA-SENCHA
    name: Sencha green tea 100 g
    name_ja: 煎茶 100g
    description: Shizuoka first-flush sencha, loose leaf.
    description_ja: 静岡県産の一番茶。
    tags: [tea, green tea, 緑茶]
    price: 1200
    tax_rate: 8
    stock: 50
  - sku: tshirt-logo-m
    name: Logo T-shirt M
    name_ja: ロゴTシャツ M
    price: 3300
    tax_rate: 10
    stock: 0
    category: Apparel
    attributes: {size: M, variant_of: TSHIRT-LOGO}
    active: false
"""


def with_changes(base: dict[str, Any], **changes: Any) -> dict[str, Any]:
    entry = {**base, **changes}
    return {key: value for key, value in entry.items() if value is not ...}


def test_good_yaml_file_gives_validated_entries(tmp_path: Path) -> None:
    path = tmp_path / "catalog.yaml"
    path.write_text(GOOD_YAML, encoding="utf-8")

    sencha, shirt = read_catalog_file(path)

    assert sencha == CatalogEntry(**SENCHA)
    assert sencha.category == "" and sencha.attributes == {} and sencha.active is True
    assert shirt.sku == "TSHIRT-LOGO-M"  # normalised to upper case
    assert shirt.description == "" and shirt.tags == []
    assert shirt.category == "apparel"
    assert shirt.attributes == {"size": "M", "variant_of": "TSHIRT-LOGO"}
    assert shirt.active is False and shirt.stock == 0


def test_json_file_and_bare_list_are_accepted(tmp_path: Path) -> None:
    path = tmp_path / "catalog.json"
    path.write_text(json.dumps([SENCHA, PEN], ensure_ascii=False), encoding="utf-8")

    assert [entry.sku for entry in read_catalog_file(path)] == ["TEA-SENCHA", "PEN-BALL"]
    # Eval scenarios embed catalogues inline as a bare list.
    assert [entry.sku for entry in parse_catalog([PEN])] == ["PEN-BALL"]
    assert parse_catalog({"products": []}) == []


def test_sku_is_stripped_and_upper_cased() -> None:
    (entry,) = parse_catalog([with_changes(PEN, sku="  pen-ball_2 ")])
    assert entry.sku == "PEN-BALL_2"


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"price": 1200.0}, "price", "whole number"),
        ({"price": "1,200"}, "price", "got '1,200'"),
        ({"price": True}, "price", "whole number"),
        ({"price": -1}, "price", "0 or more"),
        ({"tax_rate": 9}, "tax_rate", "8 (reduced rate"),
        ({"tax_rate": "10"}, "tax_rate", "whole number"),
        ({"stock": -3}, "stock", "0 or more"),
        ({"stock": 2.5}, "stock", "whole number"),
        ({"sku": "tea sencha"}, "sku", "letters, digits"),
        ({"sku": "-TEA"}, "sku", "starting with a letter or digit"),
        ({"sku": "X" * 65}, "sku", "1-64"),
        ({"sku": 12345}, "sku", "quote it"),
        ({"name": ...}, "name", "required field is missing"),
        ({"name_ja": "   "}, "name_ja", "at least 1 character"),
        ({"prce": 1200}, "prce", "did you mean 'price'"),
        ({"tags": "tea"}, "tags", "list"),
        ({"attributes": {"size": ["M"]}}, "attributes", "text or a whole number"),
        ({"active": "yes"}, "active", "boolean"),
    ],
)
def test_each_bad_field_is_reported_with_entry_sku_and_field(
    changes: dict[str, Any], field: str, message: str
) -> None:
    with pytest.raises(CatalogFormatError) as caught:
        parse_catalog({"products": [SENCHA, with_changes(PEN, **changes)]}, source="shop.yaml")

    (error,) = caught.value.errors
    assert (error.index, error.field) == (1, field)
    assert message in error.message
    text = str(caught.value)
    assert text.startswith("shop.yaml: 1 problem")
    assert "products[1]" in text and f": {field}: " in text
    if "sku" not in changes:
        assert "(sku PEN-BALL)" in text


def test_every_bad_entry_is_reported_not_only_the_first() -> None:
    bad = [
        with_changes(SENCHA, price="1,200", stock=-1),
        PEN,
        "not a product",
        with_changes(PEN, sku="PEN-2", tax_rate=5),
    ]
    with pytest.raises(CatalogFormatError) as caught:
        parse_catalog(bad, source="<scenario>")

    found = {(error.index, error.field) for error in caught.value.errors}
    assert found == {(0, "price"), (0, "stock"), (2, ""), (3, "tax_rate")}
    assert caught.value.source == "<scenario>"
    assert "4 problems" in str(caught.value)


def test_duplicate_skus_are_an_error_whatever_their_case() -> None:
    with pytest.raises(CatalogFormatError) as caught:
        parse_catalog([SENCHA, PEN, with_changes(SENCHA, sku="tea-sencha", price=900)])

    (error,) = caught.value.errors
    assert (error.index, error.sku, error.field) == (2, "TEA-SENCHA", "sku")
    assert "duplicate" in error.message and "products[0]" in error.message


@pytest.mark.parametrize(
    "data",
    [
        {"items": [PEN]},
        {"products": [PEN], "version": 2},
        {"products": {"sku": "PEN-BALL"}},
        "products: []",
        None,
    ],
)
def test_a_catalogue_must_be_a_product_list(data: object) -> None:
    with pytest.raises(CatalogFormatError, match="<inline>: 1 problem"):
        parse_catalog(data)


def test_yaml_syntax_error_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "broken.yml"
    path.write_text("products:\n  - sku: PEN-BALL\n    tags: [pen, ink\n", encoding="utf-8")

    with pytest.raises(CatalogFormatError) as caught:
        read_catalog_file(path)

    assert str(path) in str(caught.value)
    assert "line 4" in str(caught.value)


def test_json_syntax_error_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "broken.json"
    path.write_text('[\n  {"sku": "PEN-BALL",}\n]', encoding="utf-8")

    with pytest.raises(CatalogFormatError, match="line 2"):
        read_catalog_file(path)


def test_unknown_file_type_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "catalog.csv"
    path.write_text("sku,price\nPEN-BALL,220\n", encoding="utf-8")

    with pytest.raises(CatalogFormatError, match="use .yaml, .yml or .json"):
        read_catalog_file(path)
