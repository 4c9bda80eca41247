"""Addresses typed in the middle of talk: after "checkout please.", "Ship to …", 「会計します。」, and
corrections that give only what changed ("the postal code is 150-0002") or say the address was wrong.
"""

from __future__ import annotations

import pytest

from agent.offline.address_text import read_address
from tests.agent.offline.factories import (
    ADDRESS_EN,
    SENCHA,
    SENCHA_JA,
    calls_of,
    decide_for,
    error,
    line,
    state,
    tool_step,
)

TARO = {"name": "Taro Yamada", "postal_code": "150-0002", "line1": "Shibuya 2-21-1", "line2": "",
        "phone": "090-1234-5678", "email": "taro@example.com"}


@pytest.mark.parametrize("text", [
    "checkout please. Taro Yamada, 150-0002 Shibuya 2-21-1, 090-1234-5678, taro@example.com",
    "sorry, wrong address. Taro Yamada, 150-0002 Shibuya 2-21-1, 090-1234-5678, taro@example.com",
    "OK! Taro Yamada, 150-0002 Shibuya 2-21-1, 090-1234-5678, taro@example.com",
])
def test_a_name_after_a_sentence_is_still_the_name(text: str) -> None:
    assert read_address(text).arguments() == TARO


@pytest.mark.parametrize("text", [
    "Ship to Ken Ito, 100-0005 Marunouchi 1-9-1, 03-1234-5678, ken@example.com",
    "Please deliver to Ken Ito, 100-0005 Marunouchi 1-9-1, 03-1234-5678, ken@example.com",
])
def test_a_short_romaji_name_after_a_lead_in(text: str) -> None:
    # "Ken" also ends a prefecture ("Kanagawa ken"); at the start of a name it is a given name.
    assert read_address(text).name == "Ken Ito"


def test_a_place_suffix_after_a_place_is_still_no_name() -> None:
    found = read_address("Kanagawa ken, 220-0012 Minatomirai 2-2-1, 045-123-4567, a@example.com")
    assert found.name == ""


def test_a_japanese_sentence_before_the_name_is_not_part_of_it() -> None:
    found = read_address("会計します。山田太郎、〒150-0002 東京都渋谷区渋谷2-21-1、090-1234-5678、"
                         "taro@example.com")
    assert (found.name, found.line1) == ("山田太郎", "東京都渋谷区渋谷2-21-1")


@pytest.mark.parametrize(("text", "line2"), [
    ("Taro Yamada, 150-0002 Shibuya 2-21-1 Shibuya Bldg. 5F, 090-1234-5678, taro@example.com",
     "Shibuya Bldg. 5F"),
    ("Taro Yamada, 150-0002 Shibuya 2-21-1, Apt. Room 5, 090-1234-5678, taro@example.com",
     "Apt. Room 5"),
])
def test_an_abbreviations_full_stop_does_not_end_a_sentence(text: str, line2: str) -> None:
    found = read_address(text)
    assert (found.name, found.line2) == ("Taro Yamada", line2)


def test_checkout_please_then_the_address_saves_it_with_the_name() -> None:
    decision = decide_for(
        "checkout please. Taro Yamada, 150-0002 Shibuya 2-21-1, 090-1234-5678, taro@example.com",
        block=state(cart=[line(SENCHA, 2)]))
    # A complete address: saved and the next step (the payment methods) in the same response.
    assert calls_of(decision) == [("set_shipping_address", TARO), ("show_payment_methods", {})]
    assert decision.text is not None and "150-0002 Shibuya 2-21-1" in decision.text


def test_a_postal_code_correction_keeps_the_other_fields() -> None:
    first = "checkout. Taro Yamada, 999-9999 Shibuya 2-21-1, 090-1234-5678, taro@example.com"
    decision = decide_for(
        "oops, the postal code is 150-0002", block=state(cart=[line(SENCHA)]),
        history=[("user", first),
                 ("assistant", "Please check the address: postal code: Postal code 999-9999 was "
                               "not found. You can correct it in the form.")])
    assert calls_of(decision) == [("set_shipping_address", TARO), ("show_payment_methods", {})]


def test_a_new_street_drops_the_old_building_but_keeps_the_contact() -> None:
    first = "Taro Yamada, 150-0002 Shibuya 2-21-1 Shibuya Bldg. 5F, 090-1234-5678, taro@example.com"
    decision = decide_for("no wait, 530-0001 Umeda 1-1-3", block=state(cart=[line(SENCHA)]),
                          history=[("user", first), ("assistant", "Thanks, we'll deliver to: …")])
    assert calls_of(decision) == [("set_shipping_address", {
        "name": "Taro Yamada", "postal_code": "530-0001", "line1": "Umeda 1-1-3", "line2": "",
        "phone": "090-1234-5678", "email": "taro@example.com"}), ("show_payment_methods", {})]


def test_without_an_earlier_address_a_lone_postal_code_opens_the_form() -> None:
    decision = decide_for("the postal code is 150-0002", block=state(cart=[line(SENCHA)]))
    assert calls_of(decision) == [("show_address_form", {})]


@pytest.mark.parametrize(("text", "locale"), [
    ("すみません、住所を間違えました", "ja"),
    ("sorry, wrong address", "en"),
    ("the address is wrong", "en"),
])
def test_saying_the_address_was_wrong_opens_the_form(text: str, locale: str) -> None:
    product = SENCHA_JA if locale == "ja" else SENCHA
    block = state(locale="ja" if locale == "ja" else "en", cart=[line(product)],
                  address=ADDRESS_EN)
    decision = decide_for(text, block=block)
    assert calls_of(decision) == [("show_address_form", {})]
    assert decision.text is not None and ("お届け先" in decision.text or "deliver" in decision.text)


# ------------------------------------------------------------------------------ one response


def test_a_complete_japanese_address_is_saved_and_the_methods_shown_at_once() -> None:
    decision = decide_for("山田太郎、〒150-0002 東京都渋谷区渋谷2-21-1、090-1234-5678、taro@example.com",
                          block=state(locale="ja", cart=[line(SENCHA_JA)]))
    assert [name for name, _ in calls_of(decision)] == ["set_shipping_address",
                                                         "show_payment_methods"]
    assert decision.text == ("お届け先（〒150-0002 東京都渋谷区渋谷2-21-1）を登録しました。"
                             "お支払い方法を下からお選びください。")


def test_a_complete_address_with_the_last_missing_method_prepares_the_confirmation() -> None:
    decision = decide_for("Taro Yamada, 150-0002 Shibuya 2-21-1, 090-1234-5678, taro@example.com, "
                          "I'll pay at a convenience store", block=state(cart=[line(SENCHA)]))
    assert [name for name, _ in calls_of(decision)] == [
        "set_shipping_address", "choose_payment_method", "prepare_checkout"]
    assert decision.text is not None and decision.text.startswith(
        "Thanks, I've saved your delivery address (150-0002 Shibuya 2-21-1).")


def test_an_address_missing_a_field_waits_for_the_shops_answer() -> None:
    # No phone: the shop refuses it with a pre-filled form, which the next step explains.
    decision = decide_for("山田太郎、〒150-0002 東京都渋谷区渋谷2-21-1、taro@example.com",
                          block=state(locale="ja", cart=[line(SENCHA_JA)]))
    assert decision.text is None
    assert [name for name, _ in calls_of(decision)] == ["set_shipping_address"]


def test_a_refused_address_is_explained_without_a_blank_form() -> None:
    taro = "Taro Yamada, 999-9999 Shibuya 2-21-1, 090-1234-5678, taro@example.com"
    refused = error("invalid_input", fields={"postal_code": {
        "en": "Postal code 999-9999 was not found.", "ja": "郵便番号999-9999が見つかりません。"}})
    steps = tool_step(("set_shipping_address", read_address(taro).arguments(), refused),
                      ("prepare_checkout", {}, error("checkout_incomplete", missing=["address"])),
                      text="Thanks, I've saved your delivery address.")
    decision = decide_for(taro, block=state(cart=[line(SENCHA)], method="konbini"), steps=steps)
    assert decision.calls == ()
    assert decision.text is not None and "Postal code 999-9999 was not found" in decision.text


def test_could_you_send_it_to_is_no_part_of_the_name() -> None:
    found = read_address("Could you send it to Hanako Suzuki, 530-0001 1-1-3? My phone is "
                         "06-1234-5678 and my email is hanako@example.com.")
    assert found.arguments() == {"name": "Hanako Suzuki", "postal_code": "530-0001",
                                 "line1": "1-1-3", "line2": "", "phone": "06-1234-5678",
                                 "email": "hanako@example.com"}


def test_a_refused_address_next_to_the_methods_says_to_fix_it_first() -> None:
    taro = "Taro Yamada, 999-9999 Shibuya 2-21-1, 090-1234-5678, taro@example.com"
    refused = error("invalid_input", fields={"postal_code": {
        "en": "Postal code 999-9999 was not found.", "ja": "郵便番号999-9999が見つかりません。"}})
    steps = tool_step(("set_shipping_address", read_address(taro).arguments(), refused),
                      ("show_payment_methods", {}, {"ok": True, "methods": []}),
                      text="Thanks, I've saved your delivery address.")
    decision = decide_for(taro, block=state(cart=[line(SENCHA)]), steps=steps)
    assert decision.calls == ()
    assert decision.text == ("Please check the address: postal code: Postal code 999-9999 was not "
                             "found. You can correct it in the form. Then choose how to pay below.")
