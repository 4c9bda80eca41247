"""The offline model adds a product never shown by the shopper's words, and reads what comes back."""

from __future__ import annotations

from tests.agent.offline.factories import (
    GENMAICHA,
    GYOKURO,
    NOTEBOOK,
    SENCHA,
    calls_of,
    cart_result,
    decide_for,
    error,
    line,
    state,
    tool_step,
)


def _ambiguous(words: str, *products: object) -> dict[str, object]:
    candidates = [{"sku": p.sku, "name": p.name, "price": p.price, "stock": p.stock,  # type: ignore[attr-defined]
                   "category": p.category} for p in products]  # type: ignore[attr-defined]
    return error("product_ambiguous", "ask which one", query=words, candidates=candidates)


def test_a_named_product_goes_in_with_the_reply_in_one_response() -> None:
    decision = decide_for("add two sencha")

    assert calls_of(decision) == [("add_to_cart", {"product": "sencha", "quantity": 2})]
    assert decision.text is not None and "Added 2 × sencha" in decision.text


def test_japanese_words_are_passed_as_written() -> None:
    decision = decide_for("煎茶を2つください", block=state(locale="ja"))

    assert calls_of(decision) == [("add_to_cart", {"product": "煎茶", "quantity": 2})]
    assert decision.text is not None and "カートに追加しました" in decision.text


def test_candidates_of_unclear_words_are_asked_about_like_search_results() -> None:
    steps = tool_step(("add_to_cart", {"product": "green tea", "quantity": 1},
                       _ambiguous("green tea", SENCHA, GYOKURO, GENMAICHA)), text="Added")
    decision = decide_for("add a green tea", steps=steps)

    assert calls_of(decision) == []
    assert decision.text is not None and "Gyokuro premium green tea 50 g" in decision.text


def test_a_candidate_the_words_fit_alone_is_added_by_its_sku() -> None:
    steps = tool_step(("add_to_cart", {"product": "genmaicha", "quantity": 1},
                       _ambiguous("genmaicha", GENMAICHA)), text="Added")
    decision = decide_for("add genmaicha", steps=steps)

    assert calls_of(decision) == [("add_to_cart", {"sku": "TEA-GENMAICHA", "quantity": 1})]


def test_words_matching_nothing_get_an_apology() -> None:
    steps = tool_step(("add_to_cart", {"product": "zzqx", "quantity": 1},
                       error("no_match", "No product matches 'zzqx'.", query="zzqx")), text="x")
    decision = decide_for("add zzqx", steps=steps)

    assert calls_of(decision) == []
    assert decision.text is not None and "couldn't find anything for “zzqx”" in decision.text


def test_a_kind_of_product_waits_to_name_what_the_shop_chose() -> None:
    first = decide_for("and a notebook")
    assert calls_of(first) == [("add_to_cart", {"product": "notebook", "quantity": 1})]
    assert first.text is None

    result = {**cart_result(line(NOTEBOOK)), "added": {"sku": "STA-NOTEBOOK",
                                                       "name": "A5 dot-grid notebook",
                                                       "price": 1320}}
    steps = tool_step(("add_to_cart", {"product": "notebook", "quantity": 1}, result))
    second = decide_for("and a notebook", steps=steps, block=state(cart=[line(NOTEBOOK)]))
    assert calls_of(second) == []
    assert second.text is not None and "Added 1 × A5 dot-grid notebook" in second.text
