"""`add_to_cart` by the shopper's words: added only when they name one product, else candidates."""

from __future__ import annotations

from typing import Any

from agent.shop_tools import ToolContext, ToolOutcome, run_tool
from agent.widgets import CardFormConfig
from tests.factories import make_conversation
from tools.catalog import invalidate_search_index, load_catalog, load_demo_entries
from tools.settings import CommerceSettings
from tools.store.db import Database


async def _add(db: Database, arguments: dict[str, Any], locale: str = "en") -> ToolOutcome:
    invalidate_search_index()
    async with db.session() as session:
        await load_catalog(session, load_demo_entries())
        conversation = await make_conversation(session, locale=locale)
        ctx = ToolContext(session=session, conversation=conversation, locale=locale,  # type: ignore[arg-type]
                          commerce=CommerceSettings(),
                          card_form=CardFormConfig("http://gw", "http://shop"))
        outcome = await run_tool(ctx, "add_to_cart", arguments)
        await session.commit()
    invalidate_search_index()
    return outcome


async def test_clear_words_add_the_product_and_say_which(db: Database) -> None:
    outcome = await _add(db, {"product": "煎茶", "quantity": 2}, locale="ja")

    assert outcome.ok
    assert outcome.result["added"] == {"sku": "TEA-SENCHA", "name": "煎茶 100g", "price": 1200}
    assert [(line["sku"], line["quantity"]) for line in outcome.result["cart"]["lines"]] == [
        ("TEA-SENCHA", 2)]
    assert [w["kind"] for w in outcome.widgets] == ["cart"]


async def test_words_fitting_several_products_add_nothing_and_show_them(db: Database) -> None:
    outcome = await _add(db, {"product": "green tea"})

    assert not outcome.ok
    error = outcome.result["error"]
    assert error["code"] == "product_ambiguous"
    candidates = error["details"]["candidates"]
    assert {"TEA-SENCHA", "TEA-GYOKURO", "TEA-GENMAICHA"} <= {c["sku"] for c in candidates}
    assert {"sku", "name", "price"} <= candidates[0].keys()
    assert [w["kind"] for w in outcome.widgets] == ["product_list"]
    assert [p["sku"] for p in outcome.widgets[0]["products"]] == [c["sku"] for c in candidates]


async def test_a_size_left_out_is_ambiguous(db: Database) -> None:
    outcome = await _add(db, {"product": "logo t-shirt"})

    assert outcome.result["error"]["code"] == "product_ambiguous"


async def test_words_matching_nothing_are_no_match(db: Database) -> None:
    outcome = await _add(db, {"product": "zzqx"})

    assert outcome.result["error"]["code"] == "no_match"
    assert outcome.widgets == []


async def test_a_refused_quantity_names_the_product_and_shows_it(db: Database) -> None:
    outcome = await _add(db, {"product": "castella", "quantity": 5})  # 2 in stock

    error = outcome.result["error"]
    assert error["code"] == "insufficient_stock"
    assert error["details"]["sku"] == "SNK-CASTELLA"
    assert error["details"]["name"]
    assert [p["sku"] for p in outcome.widgets[0]["products"]] == ["SNK-CASTELLA"]


async def test_sku_and_product_together_or_neither_are_invalid_arguments(db: Database) -> None:
    for arguments in ({"quantity": 1}, {"sku": "TEA-SENCHA", "product": "sencha"}):
        outcome = await _add(db, arguments)
        assert outcome.result["error"]["code"] == "invalid_arguments"
