"""Folding of shopper and catalogue text, and reading a query into terms."""

from __future__ import annotations

import pytest

from tools.catalog import normalize
from tools.catalog.query import parse_query


@pytest.mark.parametrize(
    ("text", "folded"),
    [
        ("ｃｏｆｆｅｅ", "coffee"),  # full-width ASCII
        ("１２００円", "1200円"),  # full-width digits
        ("ｺｰﾋｰ", "こーひー"),  # half-width katakana
        ("ｶﾞﾗｽ", "がらす"),  # half-width voicing mark composes
        ("コーヒー", "こーひー"),  # katakana and hiragana are one script
        ("コ－ヒ－", "こーひー"),  # full-width hyphen-minus as the long-vowel mark
        ("コ―ヒ〜", "こーひー"),  # horizontal bar and wave dash as the long-vowel mark
        ("T‐shirt", "t-shirt"),  # Unicode hyphen between Latin letters stays a hyphen
        ("Ｔシャツ\u3000Ｌサイズ", "tしゃつ lさいず"),  # ideographic space
        ("  Green\tTEA \n", "green tea"),
        ("STRASSE Straße", "strasse strasse"),  # casefold, not lower
    ],
)
def test_normalize_folds_width_case_dashes_and_kana(text: str, folded: str) -> None:
    assert normalize(text) == folded
    assert normalize(folded) == folded


@pytest.mark.parametrize(
    ("query", "terms", "size"),
    [
        ("Do you have any green tea, please?", ("green", "tea"), None),
        ("I'm looking for something for my mother", ("mother",), None),
        ("緑茶はありますか？", ("緑茶",), None),
        ("マグカップが欲しいです", ("まぐかっぷ",), None),
        ("ほうじ茶のティーバッグをください", ("ほうじ茶", "てぃーばっぐ"), None),
        ("はがきはありますか", ("はがき",), None),  # は inside a hiragana word stays
        ("T-shirt M", ("t-shirt",), "M"),
        ("extra large tee", ("tee",), "XL"),
        ("Tシャツ Lサイズ", ("tしゃつ",), "L"),
        ("TシャツLLサイズ", ("tしゃつ",), "XL"),
        ("サイズS", (), "S"),
        ("ありますか", (), None),
    ],
)
def test_parse_query_keeps_only_product_words(
    query: str, terms: tuple[str, ...], size: str | None
) -> None:
    parsed = parse_query(query)
    assert (parsed.terms, parsed.size) == (terms, size)
    assert len(parsed.glues) == max(0, len(parsed.terms) - 1)


def test_parse_query_remembers_the_particle_it_split_on() -> None:
    # The index re-joins "柿" + "の" + "種" because 柿の種 is a product word.
    parsed = parse_query("柿の種")
    assert parsed.terms == ("柿", "種") and parsed.glues == ("の",)
