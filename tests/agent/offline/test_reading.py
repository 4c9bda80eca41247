"""The pieces the policy stands on: language, quantities, addresses, product references, tokens."""

from __future__ import annotations

import json

import pytest

from agent.offline import tokens
from agent.offline.address_text import mentions_address, read_address
from agent.offline.language import Lang, detect_language, find_quantity, kanji_number, nfkc
from agent.offline.products import Candidate, Reference, best_matches, resolve_reference
from agent.state_block import OrderState, ShownProduct, StateBlock, parse, render
from tests.agent.offline.factories import (
    ADDRESS_JA,
    GYOKURO,
    HASAMI,
    LOGO_MUG,
    SENCHA,
    SENCHA_JA,
    TEE_M_JA,
    decide_for,
    line,
    state,
)

# ------------------------------------------------------------------------------ language


@pytest.mark.parametrize(("text", "fallback", "expected"), [
    ("do you have green tea?", "ja", "en"),
    ("緑茶はありますか", "en", "ja"),
    ("煎茶", "en", "ja"),
    ("Tシャツ", "en", "ja"),
    ("add 2 煎茶", "ja", "en"),
    ("OK", "ja", "ja"),
    ("3", "en", "en"),
    ("3", "ja", "ja"),
    ("taro@example.com", "ja", "ja"),
    ("〒150-0002 東京都渋谷区渋谷2-21-1 山田太郎 taro@example.com", "en", "ja"),
])
def test_language_of_a_message(text: str, fallback: Lang, expected: Lang) -> None:
    assert detect_language(text, fallback) == expected


@pytest.mark.parametrize(("utterance", "locale", "marker"), [
    ("hi", "ja", "Hello"),
    ("こんにちは", "en", "こんにちは"),
    ("what's my total?", "ja", "Your cart is empty"),
    ("合計はいくら？", "en", "カートは空です"),
    ("ok", "ja", "承知しました"),
])
def test_replies_follow_the_shoppers_language(utterance: str, locale: Lang, marker: str) -> None:
    decision = decide_for(utterance, block=state(locale=locale))
    assert decision.text is not None and marker in decision.text


def test_amounts_are_written_in_yen_with_separators() -> None:
    decision = decide_for("how much is the gyokuro?", block=state(recent=[GYOKURO]))
    assert decision.text is not None and "¥2,800" in decision.text


# ------------------------------------------------------------------------------ quantities


@pytest.mark.parametrize(("text", "expected"), [
    ("two", 2), ("a couple of mugs", 2), ("a pair of socks", 2), ("a dozen", 12),
    ("half a dozen", 6), ("two dozen", 24), ("twenty-one", 21), ("3 mugs", 3), ("x4", 4),
    ("3つ", 3), ("二個", 2), ("２個", 2), ("三本", 3), ("5袋", 5), ("ひとつ", 1), ("ふたつ", 2),
    ("十二個", 12), ("1ダース", 12), ("半ダース", 6), ("make it three", 3),
])
def test_quantities(text: str, expected: int) -> None:
    found = find_quantity(nfkc(text))
    assert found is not None and found.value == expected


@pytest.mark.parametrize("text", [
    "Sencha green tea 100 g", "300ml mug", "the cheaper one", "that one", "2つ目", "2番目",
    "0.5 mm pen", "¥1,200", "2-21-1",
])
def test_not_quantities(text: str) -> None:
    assert find_quantity(nfkc(text)) is None


@pytest.mark.parametrize(("text", "expected"), [
    ("二", 2), ("十", 10), ("十二", 12), ("二十", 20), ("三十五", 35), ("百", 100), ("一〇", 10),
])
def test_kanji_numbers(text: str, expected: int) -> None:
    assert kanji_number(text) == expected


# ------------------------------------------------------------------------------ addresses


def test_a_free_text_address_in_english() -> None:
    found = read_address("Taro Yamada, 150-0002 Shibuya 2-21-1, 090-1234-5678, taro@example.com")
    assert found.arguments() == {"name": "Taro Yamada", "postal_code": "150-0002",
                                 "line1": "Shibuya 2-21-1", "line2": "",
                                 "phone": "090-1234-5678", "email": "taro@example.com"}


def test_a_free_text_address_in_japanese_with_full_width_digits() -> None:
    found = read_address("〒１５０ー０００２　東京都渋谷区渋谷２ー２１ー１渋谷ビル５F　山田太郎様　"
                         "０９０ー１２３４ー５６７８　taro@example.com")
    assert found.arguments() == {"name": "山田太郎", "postal_code": "150-0002",
                                 "line1": "東京都渋谷区渋谷2-21-1", "line2": "渋谷ビル5F",
                                 "phone": "090-1234-5678", "email": "taro@example.com"}


def test_a_labelled_address_in_japanese() -> None:
    found = read_address("住所は〒150-0002 東京都 渋谷区 渋谷2-21-1です。名前は山田太郎、"
                         "電話090-1234-5678、taro@example.com")
    assert (found.name, found.line1, found.phone) == ("山田太郎", "東京都渋谷区渋谷2-21-1",
                                                     "090-1234-5678")


def test_the_fields_found_pass_the_shops_validation() -> None:
    from tools.address import validate_address

    for text in ("Taro Yamada, 150-0002 Shibuya 2-21-1, 090-1234-5678, taro@example.com",
                 "〒150-0002 東京都渋谷区渋谷2-21-1 山田太郎 09012345678 taro@example.com"):
        address = validate_address(read_address(text).arguments())
        assert address.postal_code == "150-0002" and address.city == "渋谷区"


@pytest.mark.parametrize(("text", "expected"), [
    ("〒150-0002", True), ("150-0002 Shibuya 2-21-1", True),
    ("090-1234-5678, taro@example.com", True), ("order 1234567", False),
    ("add 2 mugs", False), ("do you have green tea?", False),
])
def test_what_counts_as_an_address(text: str, expected: bool) -> None:
    assert mentions_address(text) is expected


# ------------------------------------------------------------------------------ products


def _candidate(product: object) -> Candidate:
    return Candidate(product.sku, product.name, product.price, product.stock,  # type: ignore[attr-defined]
                     product.category)  # type: ignore[attr-defined]


MIXED = [_candidate(p) for p in (SENCHA, GYOKURO, HASAMI, LOGO_MUG)]


@pytest.mark.parametrize(("phrase", "skus"), [
    ("sencha", ["TEA-SENCHA"]), ("煎茶", ["TEA-SENCHA"]), ("せんちゃ", ["TEA-SENCHA"]),
    ("玉露", ["TEA-GYOKURO"]), ("green tea", ["TEA-SENCHA", "TEA-GYOKURO"]),
    ("緑茶", ["TEA-SENCHA", "TEA-GYOKURO"]), ("マグ", ["MUG-HASAMI", "MUG-LOGO"]),
    ("波佐見焼", ["MUG-HASAMI"]), ("ロゴ入りのマグ", ["MUG-LOGO"]), ("porcelain", ["MUG-HASAMI"]),
    ("unicorn", []), ("coffee", []),
])
def test_phrases_match_products_across_languages(phrase: str, skus: list[str]) -> None:
    assert [c.sku for c in best_matches(phrase, MIXED)] == skus


def test_japanese_names_match_english_words() -> None:
    assert [c.sku for c in best_matches("green tea", [_candidate(SENCHA_JA)])] == ["TEA-SENCHA"]


@pytest.mark.parametrize(("reference", "sku"), [
    (Reference("ordinal", 0), "TEA-SENCHA"), (Reference("ordinal", 3), "MUG-LOGO"),
    (Reference("last"), "MUG-LOGO"), (Reference("cheapest"), "TEA-SENCHA"),
    (Reference("priciest"), "TEA-GYOKURO"),
])
def test_references_by_position_and_price(reference: Reference, sku: str) -> None:
    found = resolve_reference(reference, MIXED, None)
    assert found is not None and found.sku == sku


def test_that_one_needs_a_focus_when_several_were_shown() -> None:
    assert resolve_reference(Reference("this"), MIXED, None) is None
    assert resolve_reference(Reference("this"), MIXED, MIXED[2]) == MIXED[2]


# ------------------------------------------------------------------------------ tokens


def test_tokens_are_counted_with_o200k_base() -> None:
    assert tokens.tokenizer_name() == tokens.TOKENIZER
    assert tokens.count_text("hello world") == 2
    assert tokens.count_text("") == 0


def test_the_estimate_counts_japanese_per_character() -> None:
    assert tokens.estimate_tokens("hello world!") == 3
    assert tokens.estimate_tokens("緑茶") == 2
    assert tokens.estimate_tokens("") == 0


# ------------------------------------------------------------------------------ state block

#: Names that look like the block's own line layout, or that a line cannot carry.
_AWKWARD = [
    ShownProduct(sku="ODD-1", name="Tea ¥500, stock 3, tea", price=800, stock=2, size="L"),
    ShownProduct(sku="ODD-2", name="Mug: 1 × ¥2 = ¥2", price=0, stock=0, category="size x"),
    ShownProduct(sku="ODD-3", name="Pens, set of 3", price=450, stock=7, category="a, b"),
    ShownProduct(sku="ODD 4", name="two\nlines", price=1, stock=1),
]


@pytest.mark.parametrize("block", [
    state(),
    state(cart=[line(SENCHA, 2), line(HASAMI)], recent=[SENCHA, HASAMI, GYOKURO, *_AWKWARD]),
    state(locale="ja", cart=[line(SENCHA_JA, 6), line(TEE_M_JA)], recent=[TEE_M_JA, SENCHA_JA],
          address=ADDRESS_JA, method="card", card="visa ending 4242"),
    state(cart=[line(_AWKWARD[1], 3)], method="konbini", payment_fee=200),
    state(order=OrderState(id="o-1", status="paid", total=1800, payment_method="card")),
], ids=["empty", "cart-and-products", "ja-ready-to-pay", "awkward-cart-line", "done"])
def test_the_state_block_reads_back_as_the_shop_built_it(block: StateBlock) -> None:
    assert parse(render(block)) == block


def test_the_state_block_leaves_out_what_is_empty_but_keeps_a_zero_fee() -> None:
    empty = json.loads(render(state()).split("\n", 1)[1])
    assert set(empty) == {"locale", "stage", "missing"}
    free = render(state(cart=[line(SENCHA, 5)]))  # free shipping from ¥5,000
    assert '"shipping_fee":0' in free and '"payment_fee":0' in free
    assert "TEA-SENCHA Sencha green tea 100 g: 5 × ¥1,200 = ¥6,000" in free
