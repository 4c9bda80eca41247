"""Card numbers as the sandbox sees them: normalising, Luhn, brand detection and the test cards.

This module only houses pure functions over card data; nothing here stores, logs or returns a full
number. The hosted card form repeats the Luhn and brand rules in JavaScript (for inline errors), and
the tokenise endpoint applies them again here, because the browser cannot be trusted.

Test cards (any future expiry, any holder name; security code 3 digits, 4 for American Express):

| number              | brand      | charge outcome                                           |
|---------------------|------------|----------------------------------------------------------|
| 4242 4242 4242 4242 | visa       | approved                                                 |
| 4111 1111 1111 1111 | visa       | approved                                                 |
| 5555 5555 5555 4444 | mastercard | approved                                                 |
| 2223 0031 2200 3222 | mastercard | approved                                                 |
| 3530 1113 3330 0000 | jcb        | approved                                                 |
| 3782 822463 10005   | amex       | approved                                                 |
| 4000 0000 0000 0002 | visa       | declined `card_declined`                                 |
| 4000 0000 0000 9995 | visa       | declined `insufficient_funds`                            |
| 4000 0000 0000 0069 | visa       | declined `expired_card` (tokenises, fails when charged)  |
| 4000 0000 0000 0127 | visa       | declined `incorrect_cvc`                                 |
| 4000 0000 0000 0119 | visa       | `retryable_error`: 503 `processing_error`, not charged   |
| 4000 0025 0000 3155 | visa       | `requires_action`: 3-D Secure, code 123456 passes        |
| other Luhn-valid    | (by IIN)   | declined `unknown_card`                                  |

The processing-error card fails on *every* attempt, including retries with the same idempotency key
and the same token (the token is not consumed): it shows that a merchant's bounded retry gives up
and tells the shopper to use another card, rather than looping or charging under a new key.
"""

from __future__ import annotations

import re
from enum import StrEnum


class Brand(StrEnum):
    VISA = "visa"
    MASTERCARD = "mastercard"
    JCB = "jcb"
    AMEX = "amex"
    DINERS = "diners"
    UNKNOWN = "unknown"


class CardBehaviour(StrEnum):
    """What the sandbox does when a card is charged."""

    APPROVE = "approve"
    DECLINE = "card_declined"
    INSUFFICIENT_FUNDS = "insufficient_funds"
    EXPIRED_CARD = "expired_card"
    INCORRECT_CVC = "incorrect_cvc"
    PROCESSING_ERROR = "processing_error"
    THREEDS_REQUIRED = "threeds_required"
    UNKNOWN_CARD = "unknown_card"


TEST_CARDS: dict[str, CardBehaviour] = {
    "4242424242424242": CardBehaviour.APPROVE,
    "4111111111111111": CardBehaviour.APPROVE,
    "5555555555554444": CardBehaviour.APPROVE,
    "2223003122003222": CardBehaviour.APPROVE,
    "3530111333300000": CardBehaviour.APPROVE,
    "378282246310005": CardBehaviour.APPROVE,
    "4000000000000002": CardBehaviour.DECLINE,
    "4000000000009995": CardBehaviour.INSUFFICIENT_FUNDS,
    "4000000000000069": CardBehaviour.EXPIRED_CARD,
    "4000000000000127": CardBehaviour.INCORRECT_CVC,
    "4000000000000119": CardBehaviour.PROCESSING_ERROR,
    "4000002500003155": CardBehaviour.THREEDS_REQUIRED,
}

MIN_LENGTH = 13
MAX_LENGTH = 19

# Shoppers type numbers grouped the way they are embossed; only spaces and dashes are accepted as
# separators, so anything else (letters, a pasted sentence) is an invalid number, not a guess.
_SEPARATORS = re.compile(r"[ \-]")


def normalize_number(raw: str) -> str | None:
    """The digits of a number typed with spaces or dashes; None if anything else is there."""
    digits = _SEPARATORS.sub("", raw)
    if not digits.isascii() or not digits.isdigit():
        return None
    return digits


def luhn_valid(digits: str) -> bool:
    """The Luhn (mod 10) check every payment card number carries in its last digit."""
    if not digits.isascii() or not digits.isdigit():
        return False
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = int(char)
        if position % 2 == 1:
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return total % 10 == 0


def is_card_number(digits: str) -> bool:
    """Plausible as a card number: 13 to 19 digits passing Luhn."""
    return MIN_LENGTH <= len(digits) <= MAX_LENGTH and luhn_valid(digits)


def detect_brand(digits: str) -> Brand:
    """The card brand from the issuer prefix (IIN ranges of the brands the chat accepts)."""
    if digits.startswith("4"):
        return Brand.VISA
    if digits[:2] in {"34", "37"}:
        return Brand.AMEX
    prefix2 = int(digits[:2]) if len(digits) >= 2 else -1
    prefix3 = int(digits[:3]) if len(digits) >= 3 else -1
    prefix4 = int(digits[:4]) if len(digits) >= 4 else -1
    if 51 <= prefix2 <= 55 or 2221 <= prefix4 <= 2720:
        return Brand.MASTERCARD
    if 3528 <= prefix4 <= 3589:
        return Brand.JCB
    if prefix2 == 36 or 300 <= prefix3 <= 305:
        return Brand.DINERS
    return Brand.UNKNOWN


def cvc_length(brand: Brand) -> int:
    """American Express prints a 4-digit code on the front; every other brand 3 on the back."""
    return 4 if brand is Brand.AMEX else 3


def behaviour_of(digits: str) -> CardBehaviour:
    """What charging this (Luhn-valid) number does in the sandbox."""
    return TEST_CARDS.get(digits, CardBehaviour.UNKNOWN_CARD)


class CardInputError(Exception):
    """Card details the tokenise endpoint refuses. The message never quotes what was typed."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        # invalid_number | invalid_expiry | expired_card | invalid_cvc | invalid_name
        self.code = code
        self.message = message


class CardFacts:
    """What survives tokenisation: public facts plus the sandbox behaviour. Never the number."""

    __slots__ = ("behaviour", "brand", "exp_month", "exp_year", "last4")

    def __init__(
        self, *, brand: Brand, last4: str, exp_month: int, exp_year: int, behaviour: CardBehaviour
    ) -> None:
        self.brand = brand
        self.last4 = last4
        self.exp_month = exp_month
        self.exp_year = exp_year
        self.behaviour = behaviour

    def __repr__(self) -> str:
        return f"CardFacts({self.brand} ****{self.last4} {self.exp_month:02d}/{self.exp_year})"


_EXPIRY = re.compile(r"^\s*(\d{1,2})\s*/\s*(\d{2}|\d{4})\s*$")
_MAX_YEARS_AHEAD = 20
_MAX_NAME = 64


def _as_int(value: object) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isascii() and value.strip().isdigit():
        return int(value.strip())
    return None


def parse_expiry(
    exp_month: object, exp_year: object, exp: object, *, today_year: int, today_month: int
) -> tuple[int, int]:
    """(month, four-digit year) from `exp_month`/`exp_year` or `exp` ("MM/YY" or "MM/YYYY")."""
    if isinstance(exp, str) and exp.strip():
        match = _EXPIRY.match(exp)
        if match is None:
            raise CardInputError("invalid_expiry", "Expiry must be MM/YY.")
        month, year = int(match.group(1)), int(match.group(2))
    else:
        month_or_none, year_or_none = _as_int(exp_month), _as_int(exp_year)
        if month_or_none is None or year_or_none is None:
            raise CardInputError("invalid_expiry", "Expiry month and year are required.")
        month, year = month_or_none, year_or_none
    if year < 100:
        year += 2000
    if not 1 <= month <= 12 or year > today_year + _MAX_YEARS_AHEAD:
        raise CardInputError("invalid_expiry", "Expiry is not a valid month and year.")
    # A card is valid through the last day of its expiry month.
    if (year, month) < (today_year, today_month):
        raise CardInputError("expired_card", "The card has expired.")
    return month, year


def parse_card_input(payload: dict[str, object], *, today_year: int, today_month: int) -> CardFacts:
    """Validate what the card form sent and reduce it to `CardFacts`.

    The full number and the security code go no further than this function: they are checked and
    dropped, so no record, log line or error elsewhere can ever contain them.
    """
    raw_number = payload.get("number")
    if isinstance(raw_number, int) and not isinstance(raw_number, bool):
        raw_number = str(raw_number)
    digits = normalize_number(raw_number) if isinstance(raw_number, str) else None
    if digits is None or not is_card_number(digits):
        raise CardInputError("invalid_number", "The card number is not valid.")
    brand = detect_brand(digits)

    month, year = parse_expiry(
        payload.get("exp_month"),
        payload.get("exp_year"),
        payload.get("exp"),
        today_year=today_year,
        today_month=today_month,
    )

    cvc = payload.get("cvc")
    if isinstance(cvc, int) and not isinstance(cvc, bool):
        cvc = str(cvc)
    if not (
        isinstance(cvc, str)
        and cvc.strip().isascii()
        and cvc.strip().isdigit()
        and len(cvc.strip()) == cvc_length(brand)
    ):
        raise CardInputError(
            "invalid_cvc", f"The security code must be {cvc_length(brand)} digits."
        )

    name = payload.get("name")
    name = name.strip() if isinstance(name, str) else ""
    # No digits in a holder name: it also keeps a number typed into the wrong field from being kept.
    if (
        not name
        or len(name) > _MAX_NAME
        or any(ch.isdigit() for ch in name)
        or not name.isprintable()
    ):
        raise CardInputError("invalid_name", "Enter the name as printed on the card.")

    return CardFacts(
        brand=brand,
        last4=digits[-4:],
        exp_month=month,
        exp_year=year,
        behaviour=behaviour_of(digits),
    )
