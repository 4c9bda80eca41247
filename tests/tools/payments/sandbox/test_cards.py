"""Card rules: normalising, Luhn, brand detection, and what tokenisation keeps."""

from __future__ import annotations

import pytest

from tools.payments.sandbox.cards import (
    TEST_CARDS,
    Brand,
    CardInputError,
    detect_brand,
    is_card_number,
    luhn_valid,
    normalize_number,
    parse_card_input,
)


@pytest.mark.parametrize("number", list(TEST_CARDS))
def test_every_test_card_is_a_valid_number(number: str) -> None:
    assert is_card_number(number)


@pytest.mark.parametrize(
    ("number", "valid"),
    [
        ("79927398713", True),
        ("79927398710", False),
        ("0", True),
        ("", False),
        ("12a4", False),
    ],
)
def test_luhn(number: str, valid: bool) -> None:
    assert luhn_valid(number) is valid


@pytest.mark.parametrize(
    ("number", "brand"),
    [
        ("4242424242424242", Brand.VISA),
        ("5100000000000000", Brand.MASTERCARD),
        ("5599999999999999", Brand.MASTERCARD),
        ("5600000000000000", Brand.UNKNOWN),
        ("2221000000000000", Brand.MASTERCARD),
        ("2720999999999999", Brand.MASTERCARD),
        ("2220999999999999", Brand.UNKNOWN),
        ("2721000000000000", Brand.UNKNOWN),
        ("3528000000000000", Brand.JCB),
        ("3589999999999999", Brand.JCB),
        ("3527999999999999", Brand.UNKNOWN),
        ("3590000000000000", Brand.UNKNOWN),
        ("340000000000000", Brand.AMEX),
        ("370000000000000", Brand.AMEX),
        ("36000000000000", Brand.DINERS),
        ("30000000000000", Brand.DINERS),
        ("30500000000000", Brand.DINERS),
        ("30600000000000", Brand.UNKNOWN),
        ("6011111111111117", Brand.UNKNOWN),
    ],
)
def test_brand_detection(number: str, brand: Brand) -> None:
    assert detect_brand(number) is brand


@pytest.mark.parametrize(
    ("raw", "digits"),
    [
        ("4242 4242 4242 4242", "4242424242424242"),
        ("4242-4242-4242-4242", "4242424242424242"),
        ("4242.4242", None),
        ("４２４２", None),
        ("4242\u200b4242", None),
        ("", None),
    ],
)
def test_normalize_number(raw: str, digits: str | None) -> None:
    assert normalize_number(raw) == digits


def test_tokenisation_keeps_public_facts_only() -> None:
    facts = parse_card_input(
        {"number": "4242 4242 4242 4242", "exp": "12/32", "cvc": "123", "name": "Hanako Yamada"},
        today_year=2030,
        today_month=1,
    )
    assert (facts.brand, facts.last4, facts.exp_month, facts.exp_year) == (
        Brand.VISA,
        "4242",
        12,
        2032,
    )
    assert not hasattr(facts, "number") and not hasattr(facts, "cvc")
    assert "4242424242424242" not in repr(facts)


def test_refusals_never_quote_the_input() -> None:
    with pytest.raises(CardInputError) as caught:
        parse_card_input(
            {"number": "4242424242424242", "exp": "12/32", "cvc": "12", "name": "A"},
            today_year=2030,
            today_month=1,
        )
    assert caught.value.code == "invalid_cvc"
    assert str(caught.value) == "The security code must be 3 digits."
