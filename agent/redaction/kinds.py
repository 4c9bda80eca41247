"""The kinds of card data that redaction removes, and the tokens that replace them.

The tokens are part of the contract: prompts tell the model what they mean, stored transcripts
contain them, and tests look for them. Change them only together with the prompts.
"""

from __future__ import annotations

from typing import Final

__all__ = [
    "CARD_NUMBER",
    "CARD_NUMBER_TOKEN",
    "EXPIRY",
    "EXPIRY_TOKEN",
    "SECURITY_CODE",
    "SECURITY_CODE_TOKEN",
    "TOKENS",
]

CARD_NUMBER: Final = "card_number"
SECURITY_CODE: Final = "security_code"
EXPIRY: Final = "expiry"

# S105 sees "TOKEN" and suspects a password; these are placeholders for removed text.
CARD_NUMBER_TOKEN: Final = "[card number removed]"  # noqa: S105
SECURITY_CODE_TOKEN: Final = "[security code removed]"  # noqa: S105
EXPIRY_TOKEN: Final = "[expiry removed]"  # noqa: S105

TOKENS: Final[dict[str, str]] = {
    CARD_NUMBER: CARD_NUMBER_TOKEN,
    SECURITY_CODE: SECURITY_CODE_TOKEN,
    EXPIRY: EXPIRY_TOKEN,
}
