"""Card facts for a GMO token, built from what GMO's browser script returned to the card frame.

This module only houses `token_info_from_frame`. GMO has no server API that describes a token: the
token is made in the shopper's browser by GMO's script (`Multipayment.getToken`, or MpToken.js), and
the callback receives a `tokenObject` of `{token: [...], toBeExpiredAt: "yyyy-mm-dd-HH-MM-SS",
maskedCardNo, isSecurityCodeSet}` (field names as typed in several public merchant front-ends on
GitHub, interfaces named `IGmoTokenObject` / `MultipaymentToken`). So `GMOGateway.token_info`
cannot work and raises GatewayError('unsupported'); the card frame must post these facts back with
the token and the merchant builds `TokenInfo` here. Expiry month/year are not in the token object:
the frame passes what the shopper typed (month and year are not secret; the number and security
code never leave the frame). The facts are what the browser said, not what GMO verified: use them
for display only.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

from tools.payments.gateway import GatewayError, TokenInfo
from tools.payments.gmo.trades import JST

_EXPIRES_AT = "%Y-%m-%d-%H-%M-%S"


def card_brand(masked_card_no: str) -> str:
    """The brand from the visible leading digits of a masked number ('unknown' if none show)."""
    lead = re.match(r"\d+", masked_card_no)
    digits = lead.group(0) if lead else ""
    if digits.startswith("4"):
        return "visa"
    if digits[:2] in {"34", "37"}:
        return "amex"
    if len(digits) >= 4 and 3528 <= int(digits[:4]) <= 3589:
        return "jcb"
    if digits[:2] in {"36", "38", "39"} or digits[:3] in {"300", "301", "302", "303", "304", "305"}:
        return "diners"
    if digits[:2] in {"51", "52", "53", "54", "55"} or (
        len(digits) >= 4 and 2221 <= int(digits[:4]) <= 2720
    ):
        return "mastercard"
    return "unknown"


def token_info_from_frame(*, token: str, masked_card_no: str, to_be_expired_at: str,
                          exp_month: int, exp_year: int) -> TokenInfo:
    """`TokenInfo` from the frame's report; GatewayError('token_invalid') if it does not add up."""
    last4 = masked_card_no[-4:]
    if not token or not re.fullmatch(r"\d{4}", last4) or not 1 <= exp_month <= 12:
        raise GatewayError("token_invalid", "the card frame's token report is incomplete")
    if re.search(r"\d{7,}", masked_card_no[:-4]):
        # More than a BIN shows: a full number must never reach the merchant, not even here.
        raise GatewayError("token_invalid", "the masked card number is not masked")
    try:
        expires_local = datetime.strptime(to_be_expired_at, _EXPIRES_AT)
    except ValueError:
        raise GatewayError("token_invalid", "the token expiry is not yyyy-mm-dd-HH-MM-SS") from None
    # GMO's clock is Japan time; store UTC like every other timestamp.
    expires_at = expires_local.replace(tzinfo=JST).astimezone(UTC)
    year = exp_year + 2000 if exp_year < 100 else exp_year
    return TokenInfo(token=token, brand=card_brand(masked_card_no), last4=last4,
                     exp_month=exp_month, exp_year=year, expires_at=expires_at)
