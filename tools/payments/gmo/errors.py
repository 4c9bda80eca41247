"""What a GMO ErrInfo code means for the money: declined, maybe charged, refused, busy, ...

This module only houses the error-code table and its classification. The adapter turns the
classification into `ChargeStatus` outcomes; the raw ErrInfo always travels on as `gateway_code`.

Sources. GMO's own error-code list (エラーコード表) is part of its specification, which GMO hands to
merchants under NDA, so the codes below were taken from public code that reproduces it:

- tricot-inc/errors-gmopg, `errors.json`: the full table with GMO's Japanese texts (E00-EX1, 42C,
  42G);
- t-k/gmo-payment-ruby, `lib/gmo/const.rb`: English texts for the 42C and 42G codes;
- activemerchant's `GmoGateway` (a copy circulating on GitHub): its ERROR_CODES/DECLINED_CODES.

Confirmed by at least two of them (same code, same meaning): E01040010 (OrderID already exists),
E01110002 (no transaction for that ID), E11010001 (already settled), E11010999 (may already be
complete), E21xxxxxx (3-D Secure failed), E41170002/E41170099 (card brand / check digit), E61010002,
E82010001, E90010001 (double submission), E91xxxxxx (system errors), E92000001/2 (too busy),
EX1000301-304 (token unknown/used/expired/invalid), every 42C code below (CAFIS / card-company
communication failure) and every 42G code in `DECLINE_REASONS` except 42G530000.

Single source: 42G530000 "security code not provided" appears only in the activemerchant copy (the
tricot table has 42G450000 for that text instead); both are mapped to INCORRECT_CVC.

Assumptions (ours, not GMO's):
- a 42C code (決済通信エラー, "問い合わせにて状況を確認してください") is treated as *uncertain*:
  GMO's own advice is to check the transaction's state, so the adapter answers UNKNOWN (look up);
- any E91 system error after the request reached GMO is uncertain for the same reason ("場合によって
  取消を行ってください" - the transaction may need cancelling);
- an unlisted 42G code is a generic decline; an unlisted E-code refuses the request, uncharged.
- the brief that commissioned this adapter called 42G120000 "card number error"; both public tables
  say 42G120000 is "this card cannot be used" (GENERIC) and 42G650000 is the card-number error.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import IntEnum

from tools.payments.gateway import DeclineReason
from tools.payments.gmo.protocol import ErrorPair

ORDER_ID_EXISTS = "E01040010"
TRANSACTION_NOT_FOUND = "E01110002"
ALREADY_SETTLED = "E11010001"

#: 42G: the card company refused the authorisation (カード会社オーソリエラー).
DECLINE_REASONS: dict[str, DeclineReason] = {
    "42G020000": DeclineReason.INSUFFICIENT_FUNDS,  # card balance insufficient
    "42G030000": DeclineReason.LIMIT_EXCEEDED,  # card limit exceeded
    "42G040000": DeclineReason.INSUFFICIENT_FUNDS,  # card balance insufficient
    "42G050000": DeclineReason.LIMIT_EXCEEDED,  # card limit exceeded
    "42G060000": DeclineReason.INSUFFICIENT_FUNDS,  # debit card: account balance insufficient
    "42G070000": DeclineReason.LIMIT_EXCEEDED,  # card limit exceeded
    "42G120000": DeclineReason.GENERIC,  # this card cannot be used
    "42G220000": DeclineReason.GENERIC,  # this card cannot be used
    "42G300000": DeclineReason.GENERIC,  # this card cannot be used
    "42G420000": DeclineReason.GENERIC,  # PIN incorrect (no PIN reason in our vocabulary)
    "42G440000": DeclineReason.INCORRECT_CVC,  # security code incorrect
    "42G450000": DeclineReason.INCORRECT_CVC,  # security code not entered
    "42G530000": DeclineReason.INCORRECT_CVC,  # security code not provided (single source)
    "42G540000": DeclineReason.GENERIC,  # this card cannot be used
    "42G550000": DeclineReason.LIMIT_EXCEEDED,  # card limit exceeded
    "42G560000": DeclineReason.GENERIC,  # this card cannot be used
    "42G600000": DeclineReason.GENERIC,  # this card cannot be used
    "42G610000": DeclineReason.GENERIC,  # this card cannot be used
    "42G650000": DeclineReason.UNKNOWN_CARD,  # card number incorrect
    # 42G67-42G81: the merchant's request data was wrong (product code, amount, tax, bonus and
    # instalment fields, business/payment/cancel classifications): not the shopper's doing.
    **{f"42G{n}0000": DeclineReason.PROCESSING_ERROR
       for n in (67, 68, 69, 70, 71, 72, 73, 74, 75, 76, 77, 78, 79, 80, 81)},
    "42G830000": DeclineReason.EXPIRED_CARD,  # expiry date incorrect
    "42G910000": DeclineReason.PROCESSING_ERROR,  # card company system failure
    "42G920000": DeclineReason.GENERIC,  # refused at the card company's discretion
    "42G950000": DeclineReason.GENERIC,  # this card cannot be used
    "42G960000": DeclineReason.GENERIC,
    "42G970000": DeclineReason.GENERIC,
    "42G980000": DeclineReason.GENERIC,
    "42G990000": DeclineReason.GENERIC,
}


class Outcome(IntEnum):
    """What an error says about money. Higher values win when a reply carries several errors."""

    REJECTED = 1  # the request was refused (parameters, shop settings): nothing charged
    NOT_FOUND = 2  # no transaction with that OrderID / AccessID
    BUSY = 3  # refused before processing (rate limit): nothing charged, try again later
    DECLINED = 4  # the card, the issuer or 3-D Secure said no: nothing charged
    UNCERTAIN = 5  # the request reached GMO and failed in a way that may have charged
    ORDER_EXISTS = 6  # EntryTran: this OrderID already has a transaction (a retry)
    ALREADY_SETTLED = 7  # ExecTran: this transaction was already settled (a retry)


@dataclass(frozen=True)
class ErrorMeaning:
    outcome: Outcome
    info: str  # the ErrInfo that decided it
    reason: DeclineReason | None = None  # for DECLINED


def classify(info: str) -> ErrorMeaning:
    """The meaning of one ErrInfo code."""
    if info == ORDER_ID_EXISTS:
        return ErrorMeaning(Outcome.ORDER_EXISTS, info)
    if info == ALREADY_SETTLED:
        return ErrorMeaning(Outcome.ALREADY_SETTLED, info)
    if info == TRANSACTION_NOT_FOUND:
        return ErrorMeaning(Outcome.NOT_FOUND, info)
    if info.startswith("42G"):
        reason = DECLINE_REASONS.get(info, DeclineReason.GENERIC)
        return ErrorMeaning(Outcome.DECLINED, info, reason)
    if info.startswith(("42C", "E91")) or info in {"E11010999", "E90010001", "E82010001"}:
        # E90010001/E82010001: the same transaction is being processed by a concurrent request.
        return ErrorMeaning(Outcome.UNCERTAIN, info)
    if info.startswith("E92"):
        return ErrorMeaning(Outcome.BUSY, info)
    if info.startswith("EX1"):
        return ErrorMeaning(Outcome.DECLINED, info, DeclineReason.TOKEN_INVALID)
    if info.startswith("E21"):
        return ErrorMeaning(Outcome.DECLINED, info, DeclineReason.THREEDS_FAILED)
    if info.startswith("E41") or info == "E61010002":
        return ErrorMeaning(Outcome.DECLINED, info, DeclineReason.UNKNOWN_CARD)
    return ErrorMeaning(Outcome.REJECTED, info)


def most_significant(errors: Iterable[ErrorPair]) -> ErrorMeaning:
    """The error that decides the outcome of a reply with several (the most money-relevant one)."""
    meanings = [classify(e.info or e.code) for e in errors]
    if not meanings:
        # An ErrCode/ErrInfo field that was present but empty: treat as an unspecified refusal.
        return ErrorMeaning(Outcome.REJECTED, "")
    # max() keeps the first of equals, so the order GMO listed them in breaks ties.
    return max(meanings, key=lambda m: m.outcome)
