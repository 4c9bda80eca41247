"""What the offline model does after its tools ran: act on search results, explain errors.

The agent calls the model again when the previous response had no text or a tool failed; these
tests hand it such a turn (its earlier tool calls and their JSON results) and check the next move.
"""

from __future__ import annotations

import pytest

from agent.offline.policy import MAX_STEPS_PER_TURN
from tests.agent.offline.factories import (
    ADDRESS_EN,
    ADDRESS_JA,
    ENAMEL,
    GYOKURO,
    GYOKURO_JA,
    HASAMI,
    LOGO_MUG,
    MATCHA,
    MATCHA_JA,
    SENCHA,
    SENCHA_JA,
    TEE_L_JA,
    TEE_M_JA,
    calls_of,
    cart_result,
    decide_for,
    error,
    line,
    search_result,
    search_step,
    state,
    tool_step,
)

# ---------------------------------------------------------------------------- after a search


def test_adds_the_top_hit_when_it_clearly_matches() -> None:
    decision = decide_for("add two sencha", steps=search_step("sencha", SENCHA, GYOKURO))
    assert calls_of(decision) == [("add_to_cart", {"sku": "TEA-SENCHA", "quantity": 2})]
    assert decision.text is not None and "Added 2 × Sencha green tea 100 g" in decision.text


def test_adds_the_clear_item_and_asks_about_the_ambiguous_one() -> None:
    steps = tool_step(("search_products", {"query": "sencha"}, search_result("sencha", SENCHA)),
                      ("search_products", {"query": "mug"},
                       search_result("mug", HASAMI, ENAMEL, LOGO_MUG)))
    decision = decide_for("add two sencha and a mug", steps=steps)
    assert calls_of(decision) == [("add_to_cart", {"sku": "TEA-SENCHA", "quantity": 2})]
    assert decision.text is not None
    assert "Which mug" in decision.text and "Enamel camping mug 350 ml (¥1,980)" in decision.text


def test_a_size_narrows_the_search_results_to_one_variant() -> None:
    steps = search_step("Tシャツ M", TEE_M_JA, TEE_L_JA)
    decision = decide_for("Tシャツ Mサイズをください", block=state(locale="ja"), steps=steps)
    assert calls_of(decision) == [("add_to_cart", {"sku": "TSHIRT-LOGO-M", "quantity": 1})]
    assert decision.text is not None and "ロゴTシャツ M" in decision.text


def test_nothing_found_is_said_without_searching_again() -> None:
    decision = decide_for("add a unicorn", steps=search_step("unicorn"))
    assert decision.calls == ()
    assert decision.text is not None and "couldn't find anything for “unicorn”" in decision.text


def test_nothing_found_in_japanese() -> None:
    decision = decide_for("ユニコーンをください", block=state(locale="ja"),
                          steps=search_step("ユニコーン"))
    assert decision.calls == ()
    assert decision.text is not None and "見つかりませんでした" in decision.text


def test_a_failed_browse_search_says_so() -> None:
    steps = tool_step(("search_products", {"query": "unicorn tea"}, search_result("unicorn tea")),
                      text="Here's what we have for “unicorn tea”. Which one would you like?")
    decision = decide_for("do you have unicorn tea?", steps=steps)
    assert decision.calls == ()
    assert decision.text is not None and "unicorn tea" in decision.text


def test_a_price_question_is_answered_from_the_results() -> None:
    decision = decide_for("how much is the gyokuro?", steps=search_step("gyokuro", GYOKURO, SENCHA))
    assert decision.calls == ()
    assert decision.text is not None and "¥2,800" in decision.text


def test_a_stock_question_is_answered_from_the_results_in_japanese() -> None:
    decision = decide_for("抹茶の在庫はありますか", block=state(locale="ja"),
                          steps=search_step("抹茶", MATCHA_JA))
    assert decision.calls == ()
    assert decision.text is not None and "3点" in decision.text


def test_details_are_described_after_product_details() -> None:
    details = {"ok": True, "product": {"sku": "TEA-GYOKURO", "name": "玉露 50g", "price": 2800,
                                       "stock": 12, "description": "八女産の被覆栽培による玉露。",
                                       "variants": []}}
    steps = tool_step(("product_details", {"sku": "TEA-GYOKURO"}, details))
    decision = decide_for("玉露について教えて", block=state(locale="ja", recent=[GYOKURO_JA]),
                          steps=steps)
    assert decision.calls == ()
    assert decision.text is not None
    assert "八女産" in decision.text and "¥2,800" in decision.text


# ------------------------------------------------------------------------------ after an address


def test_after_the_address_is_saved_the_payment_methods_follow() -> None:
    said = "Taro Yamada, 150-0002 Shibuya 2-21-1, 090-1234-5678, taro@example.com"
    steps = tool_step(("set_shipping_address", {"name": "Taro Yamada"},
                       {"ok": True, "address": ADDRESS_EN}))
    decision = decide_for(said, block=state(cart=[line(SENCHA)]), steps=steps)
    assert calls_of(decision) == [("show_payment_methods", {})]
    assert decision.text is not None and ADDRESS_EN in decision.text


def test_address_and_method_together_lead_to_the_confirmation() -> None:
    said = "〒150-0002 東京都渋谷区渋谷2-21-1 山田太郎 09012345678 taro@example.com コンビニで払います"
    steps = tool_step(("set_shipping_address", {"name": "山田太郎"},
                       {"ok": True, "address": ADDRESS_JA}),
                      ("choose_payment_method", {"method": "konbini"},
                       {"ok": True, "method": "konbini"}))
    decision = decide_for(said, block=state(locale="ja", cart=[line(SENCHA_JA)]), steps=steps)
    assert calls_of(decision) == [("prepare_checkout", {})]
    assert decision.text is not None and "コンビニ払い" in decision.text


def test_a_rejected_address_lists_the_fields_and_is_not_resent() -> None:
    fields = {"email": {"code": "invalid_email", "en": "Please check the e-mail address.",
                        "ja": "メールアドレスをご確認ください。"},
              "phone": {"code": "required", "en": "Please enter a phone number.",
                        "ja": "電話番号を入力してください。"}}
    steps = tool_step(("set_shipping_address", {"name": "Taro Yamada"},
                       error("invalid_input", "bad", fields=fields)))
    decision = decide_for("Taro Yamada, 150-0002 Shibuya 2-21-1, taro@example",
                          block=state(cart=[line(SENCHA)]), steps=steps)
    assert decision.calls == ()
    assert decision.text is not None
    assert "e-mail" in decision.text and "phone" in decision.text and "form" in decision.text


def test_a_rejected_address_is_explained_in_japanese() -> None:
    fields = {"postal_code": {"code": "unknown_postal_code", "en": "Unknown postal code.",
                              "ja": "郵便番号が見つかりません。"}}
    steps = tool_step(("set_shipping_address", {"name": "山田太郎"},
                       error("invalid_input", "bad", fields=fields)))
    decision = decide_for("〒999-9999 東京都渋谷区渋谷2-21-1 山田太郎 09012345678 t@example.com",
                          block=state(locale="ja", cart=[line(SENCHA_JA)]), steps=steps)
    assert decision.calls == ()
    assert decision.text is not None and "郵便番号が見つかりません" in decision.text


# ------------------------------------------------------------------------------ after a failure


def test_not_enough_stock_is_explained_with_an_offer() -> None:
    steps = tool_step(("add_to_cart", {"sku": "TEA-MATCHA", "quantity": 5},
                       error("insufficient_stock", sku="TEA-MATCHA", requested=5, available=3)),
                      text="Added 5 × Uji matcha powder 30 g to your cart.")
    decision = decide_for("add 5 matcha", block=state(recent=[MATCHA]), steps=steps)
    assert decision.calls == ()
    assert decision.text is not None
    assert "only 3" in decision.text and "Shall I add 3 × Uji matcha powder 30 g" in decision.text


def test_yes_to_the_offer_adds_what_was_offered() -> None:
    offer = "Sorry, only 3 of Uji matcha powder 30 g left. Shall I add 3 × Uji matcha powder 30 g " \
            "to your cart?"
    decision = decide_for("yes", block=state(recent=[MATCHA]), history=[("assistant", offer)])
    assert calls_of(decision) == [("add_to_cart", {"sku": "TEA-MATCHA", "quantity": 3})]


def test_sold_out_is_explained_in_japanese() -> None:
    steps = tool_step(("add_to_cart", {"sku": "TEA-MATCHA", "quantity": 1},
                       error("insufficient_stock", sku="TEA-MATCHA", requested=1, available=0)),
                      text="宇治抹茶 30gを1点カートに追加しました。")
    decision = decide_for("抹茶をください", block=state(locale="ja", recent=[MATCHA_JA]),
                          steps=steps)
    assert decision.calls == ()
    assert decision.text is not None and "売り切れ" in decision.text


def test_a_partial_failure_reports_both_what_happened_and_what_did_not() -> None:
    steps = tool_step(("add_to_cart", {"sku": "TEA-SENCHA", "quantity": 2},
                       cart_result(line(SENCHA, 2))),
                      ("add_to_cart", {"sku": "MUG-HASAMI", "quantity": 30},
                       error("insufficient_stock", sku="MUG-HASAMI", requested=30, available=20)),
                      text="Added 2 × Sencha green tea 100 g and 30 × Hasami porcelain mug.")
    decision = decide_for("two sencha and 30 hasami mugs", block=state(recent=[SENCHA, HASAMI]),
                          steps=steps)
    assert decision.calls == ()
    assert decision.text is not None
    assert "Added 2 × Sencha green tea 100 g" in decision.text
    assert "only 20 of Hasami porcelain mug" in decision.text


def test_checkout_incomplete_shows_what_is_missing() -> None:
    steps = tool_step(("prepare_checkout", {}, error("checkout_incomplete", missing=["address"])),
                      text="Here's your order for confirmation.")
    decision = decide_for("checkout", block=state(cart=[line(SENCHA)], address=ADDRESS_EN,
                                                  method="konbini"), steps=steps)
    assert calls_of(decision) == [("show_address_form", {})]
    assert decision.text is not None and "deliver" in decision.text


def test_an_unavailable_method_shows_the_methods_again() -> None:
    steps = tool_step(("choose_payment_method", {"method": "after_delivery"},
                       error("payment_method_unavailable", method="after_delivery", limit=55000)),
                      ("prepare_checkout", {}, {"ok": True, "total": 60600, "shown": "confirm"}),
                      text="Payment method: payment after delivery.")
    decision = decide_for("後払いで", block=state(locale="ja", cart=[line(SENCHA_JA)],
                                                  address=ADDRESS_JA), steps=steps)
    assert calls_of(decision) == [("show_payment_methods", {})]
    assert decision.text is not None and "¥55,000" in decision.text


def test_not_in_cart_is_explained() -> None:
    steps = tool_step(("remove_from_cart", {"sku": "TEA-SENCHA"},
                       error("not_in_cart", sku="TEA-SENCHA")), text="Removed it.")
    decision = decide_for("remove the sencha", block=state(recent=[SENCHA]), steps=steps)
    assert decision.calls == ()
    assert decision.text == "Sencha green tea 100 g isn't in your cart."


@pytest.mark.parametrize(("code", "details", "expected"), [
    ("cart_full", {"max_lines": 30}, "30 different products"),
    ("invalid_quantity", {"min": 1, "max": 99}, "between 1 and 99"),
    ("order_not_found", {}, "no order"),
    ("invalid_arguments", {}, "went wrong"),
    ("something_new", {}, "The shop's own words."),
])
def test_error_codes_are_explained(code: str, details: dict[str, object], expected: str) -> None:
    steps = tool_step(("add_to_cart", {"sku": "TEA-SENCHA", "quantity": 1},
                       error(code, "The shop's own words.", **details)), text="Added.")
    decision = decide_for("add a sencha", block=state(recent=[SENCHA]), steps=steps)
    assert decision.calls == ()
    assert decision.text is not None and expected in decision.text


def test_a_call_already_made_in_the_turn_is_not_repeated() -> None:
    # The step ran the add without text (as a confused model might); the model must not add twice.
    steps = tool_step(("add_to_cart", {"sku": "TEA-SENCHA", "quantity": 2},
                       cart_result(line(SENCHA, 2))))
    decision = decide_for("add two sencha", block=state(recent=[SENCHA]), steps=steps)
    assert decision.calls == ()
    assert decision.text is not None and "Added 2 × Sencha green tea 100 g" in decision.text


def test_the_turn_ends_in_text_after_the_step_limit() -> None:
    steps = []
    for index in range(MAX_STEPS_PER_TURN):
        steps += tool_step(("view_cart", {}, cart_result()), start=index * 10)
    decision = decide_for("add two sencha", steps=steps)
    assert decision.calls == () and decision.text


def test_after_delivery_over_the_stated_limit_is_declined_without_a_call() -> None:
    # The system prompt states the limit: the refusal and the methods come in one response.
    decision = decide_for("後払いにしてください", block=state(locale="ja", cart=[line(TEE_M_JA, 20)],
                                                          address=ADDRESS_JA))
    assert calls_of(decision) == [("show_payment_methods", {})]
    assert decision.text is not None and "¥55,000" in decision.text and "¥66,250" in decision.text
