"""Questions that must not change the cart, and choices that must: comparisons, fees and limits,
"what do you sell?", "what next?", low-caffeine tea; "a logo mug", "and a notebook", pack sizes in
names ("drip coffee bags x10", 「醤油せんべい 12枚を1個」), "the regular ones, two packs", and a
product added after the shopper switched language.
"""

from __future__ import annotations

from typing import Any

import pytest

from agent.offline.entities import find_items
from agent.offline.products import Reference
from agent.state_block import ShownProduct
from tests.agent.offline.factories import (
    BRAZIL,
    DECAF_DRIP,
    DRIP,
    ETHIOPIA,
    GYOKURO,
    HASAMI,
    LOGO_MUG,
    MINO_YUNOMI,
    MUGICHA,
    NOTEBOOK,
    SENBEI_JA,
    SENCHA,
    SENCHA_JA,
    TEE_M,
    WAFER_JA,
    calls_of,
    cart_result,
    decide_for,
    line,
    search_step,
    shown_line,
    state,
    tool_step,
)


def _details(product: ShownProduct, description: str) -> dict[str, Any]:
    return {"ok": True, "product": {"sku": product.sku, "name": product.name,
                                    "price": product.price, "stock": product.stock,
                                    "description": description, "variants": []}}


# ------------------------------------------------------------------------------ comparisons

BEANS_SHOWN = state(recent=[BRAZIL, ETHIOPIA])
BEANS_ASKED = (("user", "do you have coffee beans?"),
               ("assistant", "Here's what we have for “coffee beans”. Which one would you like?\n"
                             + shown_line([BRAZIL, ETHIOPIA])))
COMPARE = "what's the difference between the Brazil and the Ethiopia beans?"


def test_a_comparison_looks_both_products_up_and_adds_nothing() -> None:
    decision = decide_for(COMPARE, block=BEANS_SHOWN, history=BEANS_ASKED)
    assert calls_of(decision) == [("product_details", {"sku": BRAZIL.sku}),
                                  ("product_details", {"sku": ETHIOPIA.sku})]


def test_a_comparison_describes_both_and_asks_which() -> None:
    steps = tool_step(("product_details", {"sku": BRAZIL.sku}, _details(BRAZIL, "Nutty.")),
                      ("product_details", {"sku": ETHIOPIA.sku}, _details(ETHIOPIA, "Floral.")))
    decision = decide_for(COMPARE, block=BEANS_SHOWN, history=BEANS_ASKED, steps=steps)
    assert calls_of(decision) == []
    assert decision.text is not None
    assert "¥1,580. Nutty." in decision.text and "¥1,980. Floral." in decision.text
    assert "Which one would you like" in decision.text


@pytest.mark.parametrize("text", ["which is better, sencha or gyokuro?", "煎茶と玉露の違いは？",
                                  "compare the sencha and the gyokuro"])
def test_comparisons_in_other_words_never_add(text: str) -> None:
    decision = decide_for(text, block=state(recent=[SENCHA, GYOKURO]))
    assert [name for name, _ in calls_of(decision)] == ["product_details", "product_details"]


# ------------------------------------------------------------------------------ fees and limits


@pytest.mark.parametrize(("text", "locale", "expected"), [
    ("is there a fee for card?", "en", "There's no extra fee for credit card."),
    ("is there a fee for paying at a convenience store?", "en",
     "Convenience-store payment has a fee of ¥200."),
    ("コンビニ払いの手数料はいくらですか？", "ja", "コンビニ払いの手数料は¥200です。"),
    ("カード払いに手数料はかかりますか？", "ja", "クレジットカードの手数料はかかりません（¥0）。"),
])
def test_a_fee_question_is_answered_with_the_fee(text: str, locale: str, expected: str) -> None:
    decision = decide_for(text, block=state(locale="ja" if locale == "ja" else "en"))
    assert decision.text is not None and decision.text.startswith(expected)
    assert calls_of(decision) == [("show_payment_methods", {})]


def test_all_fees_when_no_method_is_named() -> None:
    decision = decide_for("are there any fees?")
    assert decision.text is not None
    assert "credit card ¥0, payment after delivery ¥250, convenience-store payment ¥200" \
        in decision.text and "up to ¥55,000" in decision.text


def test_after_delivery_over_the_limit_is_not_answered_yes() -> None:
    decision = decide_for("can I pay after delivery?",
                          block=state(cart=[line(TEE_M, 20)], address="Shibuya"))
    assert decision.text is not None
    assert not decision.text.startswith("Yes")
    assert "up to ¥55,000" in decision.text and "¥66,250" in decision.text


def test_after_delivery_under_the_limit_is_available() -> None:
    decision = decide_for("can I pay after delivery?", block=state(cart=[line(SENCHA)]))
    assert decision.text is not None
    assert decision.text.startswith("Yes, payment after delivery is available.")


# ------------------------------------------------------------------------------ what we sell, what next


@pytest.mark.parametrize(("text", "locale", "markers"), [
    ("what kinds of things do you sell?", "en", ("tea", "coffee", "mugs")),
    ("what do you sell?", "en", ("tea", "coffee", "mugs")),
    ("どんな商品がありますか？", "ja", ("お茶", "コーヒー", "マグカップ")),
])
def test_what_do_you_sell(text: str, locale: str, markers: tuple[str, ...]) -> None:
    decision = decide_for(text, block=state(locale="ja" if locale == "ja" else "en"))
    assert calls_of(decision) == []
    assert decision.text is not None and all(marker in decision.text for marker in markers)


def test_what_teas_do_you_have_is_still_a_search() -> None:
    decision = decide_for("what teas do you have?")
    assert calls_of(decision) == [("search_products", {"query": "teas"})]


def test_what_next_with_a_cart_explains_checkout_without_starting_it() -> None:
    decision = decide_for("次は何をすればいいですか？",
                          block=state(locale="ja", cart=[line(SENCHA_JA, 2)]))
    assert calls_of(decision) == []
    assert decision.text is not None and "ご注文手続きに進みますか？" in decision.text


def test_yes_after_what_next_starts_checkout() -> None:
    block = state(cart=[line(SENCHA, 2)])
    answer = decide_for("what should I do next?", block=block).text or ""
    decision = decide_for("yes", block=block,
                          history=[("user", "what should I do next?"), ("assistant", answer)])
    assert calls_of(decision) == [("show_address_form", {})]


def test_what_next_with_an_empty_cart_suggests_finding_something() -> None:
    decision = decide_for("what now?")
    assert calls_of(decision) == []
    assert decision.text is not None and "looking for" in decision.text


def test_what_next_during_checkout_shows_the_missing_step() -> None:
    decision = decide_for("what do I do next?",
                          block=state(cart=[line(SENCHA)], address="Shibuya"))
    assert calls_of(decision) == [("show_payment_methods", {})]


@pytest.mark.parametrize(("text", "locale", "queries"), [
    ("カフェインが少ないお茶はどれですか？", "ja", ["ほうじ茶", "麦茶"]),
    ("which tea has less caffeine?", "en", ["hojicha", "barley tea"]),
])
def test_low_caffeine_tea_names_hojicha_and_barley_tea(text: str, locale: str,
                                                       queries: list[str]) -> None:
    decision = decide_for(text, block=state(locale="ja" if locale == "ja" else "en"))
    assert [args["query"] for _, args in calls_of(decision)] == queries
    assert decision.text is not None and queries[0] in decision.text


def test_caffeine_free_alone_is_still_the_decaf_search() -> None:
    decision = decide_for("ノンカフェインはありますか", block=state(locale="ja"))
    assert calls_of(decision) == [("search_products", {"query": "ノンカフェイン"})]


# ------------------------------------------------------------------------------ choosing items


@pytest.mark.parametrize(("text", "expected"), [
    ("a logo mug please", ("logo mug", 1)),
    ("and a notebook", ("notebook", 1)),
    ("an apron", ("apron", 1)),
    ("a mug?", ("mug", None)),
    ("two drip coffee bags x10 please", ("drip coffee bags x10", 2)),
    ("醤油せんべい 12枚を1個ください", ("醤油せんべい 12枚", 1)),
    ("sencha, 3 please", ("sencha", 3)),
])
def test_items_and_their_counts(text: str, expected: tuple[str, int | None]) -> None:
    items = find_items(text)
    assert [(item.phrase, item.quantity) for item in items] == [expected]


def test_each_still_applies_one_count_to_every_item() -> None:
    items = find_items("a sencha and a mug, two each")
    assert [(item.phrase, item.quantity) for item in items] == [("sencha", 2), ("mug", 2)]


def test_fillers_are_not_products() -> None:
    decision = decide_for("hmm, that's a lot. remove the teapot",
                          block=state(cart=[line(SENCHA), line(HASAMI)]))
    assert decision.text is not None and "hmm" not in decision.text


def test_a_logo_mug_please_adds_one_after_the_search() -> None:
    decision = decide_for("a logo mug please", steps=search_step("logo mug", LOGO_MUG, TEE_M))
    assert calls_of(decision) == [("add_to_cart", {"sku": "MUG-LOGO", "quantity": 1})]


def test_and_a_notebook_adds_one() -> None:
    decision = decide_for("and a notebook", block=state(cart=[line(SENCHA)]),
                          steps=search_step("notebook", NOTEBOOK))
    assert calls_of(decision) == [("add_to_cart", {"sku": "STA-NOTEBOOK", "quantity": 1})]


def test_the_exact_name_with_its_pack_size_picks_that_product() -> None:
    decision = decide_for("two drip coffee bags x10 please",
                          steps=search_step("drip coffee bags x10", DRIP, DECAF_DRIP))
    assert calls_of(decision) == [("add_to_cart", {"sku": "COF-DRIP", "quantity": 2})]


def test_a_japanese_pack_size_in_the_name_is_not_the_count() -> None:
    decision = decide_for("醤油せんべい 12枚を1個ください", block=state(locale="ja"),
                          steps=search_step("醤油せんべい 12枚", SENBEI_JA, WAFER_JA))
    assert calls_of(decision) == [("add_to_cart", {"sku": "SNK-SENBEI", "quantity": 1})]


def test_the_regular_ones_after_a_list_with_a_decaf_variant() -> None:
    shown = [DRIP, DECAF_DRIP, MUGICHA]
    decision = decide_for("the regular ones, two packs", block=state(recent=shown),
                          history=[("user", "do you have drip coffee bags?"),
                                   ("assistant", "Which one would you like?\n" + shown_line(shown))])
    assert calls_of(decision) == [("add_to_cart", {"sku": "COF-DRIP", "quantity": 2})]


def test_the_regular_one_is_asked_back_when_it_is_not_clear() -> None:
    items = find_items("the regular one")
    assert items[0].reference == Reference("regular")
    decision = decide_for("the regular one", block=state(recent=[MUGICHA, DECAF_DRIP]))
    assert not any(name == "add_to_cart" for name, _ in calls_of(decision))


# ------------------------------------------------------------------------------ language switch


def test_a_product_shown_in_english_is_named_as_the_shopper_named_it() -> None:
    block = state(recent=[MINO_YUNOMI])
    history = [("user", "hello, do you sell tea cups?"),
               ("assistant", "Here's what we have. " + shown_line([MINO_YUNOMI]))]
    decision = decide_for("美濃焼の湯呑みを2つください", block=block, history=history)
    # The name known is English: the reply uses the shopper's own Japanese words for it, in the
    # same response as the add.
    assert calls_of(decision) == [("add_to_cart", {"sku": "MUG-MINO-YUNOMI", "quantity": 2})]
    assert decision.text is not None
    assert decision.text.startswith("美濃焼の湯呑みを2点カートに追加しました。")


def test_an_apology_before_switching_language_is_no_product() -> None:
    brazil_ja = ShownProduct(sku="COF-BEANS-BRAZIL", name="ブラジル 中煎り コーヒー豆 200g",
                             price=1580, stock=20, category="coffee")
    decision = decide_for("sorry, can we continue in English? I'd like one bag of the Brazil "
                          "coffee beans", block=state(locale="ja", recent=[brazil_ja]))
    # Known from the Japanese list: added at once (no search for "sorry"); the words around it are
    # not a product's name, so the reply waits for the English name in the result.
    assert calls_of(decision) == [("add_to_cart", {"sku": "COF-BEANS-BRAZIL", "quantity": 1})]
    assert decision.text is None


def test_a_product_shown_in_english_is_named_from_the_japanese_result() -> None:
    block = state(recent=[MINO_YUNOMI])
    history = [("user", "hello, do you sell tea cups?"),
               ("assistant", "Here's what we have. " + shown_line([MINO_YUNOMI]))]
    first = decide_for("それを2つください", block=block, history=history)
    # No Japanese words for it at all: add without text, and name it from the (Japanese) result.
    assert first.text is None
    assert calls_of(first) == [("add_to_cart", {"sku": "MUG-MINO-YUNOMI", "quantity": 2})]
    result = cart_result(line(ShownProduct(sku="MUG-MINO-YUNOMI", name="美濃焼 湯呑み",
                                           price=1650, stock=20), 2))
    steps = tool_step(("add_to_cart", {"sku": "MUG-MINO-YUNOMI", "quantity": 2}, result))
    second = decide_for("それを2つください", block=block, history=history, steps=steps)
    assert calls_of(second) == []
    assert second.text is not None and second.text.startswith("美濃焼 湯呑みを2点カートに追加しました。")


# ------------------------------------------------------------------------------ limits


def test_a_quantity_over_the_limit_is_refused_and_the_products_shown() -> None:
    decision = decide_for("I want 1000 erasers")
    assert calls_of(decision) == [("search_products", {"query": "erasers"})]
    assert decision.text is not None
    assert decision.text.startswith("You can order between 1 and 99 of one product.")
    assert not any(name == "add_to_cart" for name, _ in calls_of(decision))
