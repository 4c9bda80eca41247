"""A GMO transaction as SearchTrade / SearchTradeMulti report it, and what its Status means to us.

This module only houses the parsed record and the status tables. Statuses are those listed by
pepabo/gmopg (`client.enum.ts`) and used in recorded replies (t-k/gmo-payment-ruby cassettes):

card:  UNPROCESSED (registered, not authorised), AUTHENTICATED (waiting for 3-D Secure), CHECK,
       CAPTURE (authorised and captured), AUTH (authorised only), SALES (captured after AUTH),
       VOID, RETURN, RETURNX (refund after a month boundary), SAUTH (simple authorisation);
store: UNPROCESSED, REQSUCCESS (slip issued), PAYSUCCESS (paid at the store), PAYFAIL, EXPIRED,
       CANCEL.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone

from tools.payments.gateway import LookupStatus
from tools.payments.gmo.protocol import Reply

#: GMO's dates (ProcessDate, TranDate, PaymentTerm) are Japan time; Japan has no daylight saving.
JST = timezone(timedelta(hours=9), "JST")

CHARGED = frozenset({"CAPTURE", "SALES", "AUTH", "SAUTH"})
CAPTURED = frozenset({"CAPTURE", "SALES"})
REFUNDED = frozenset({"RETURN", "RETURNX"})

#: SearchTrade Status -> what `lookup` reports (UNPROCESSED is `lookup`'s call: maybe in flight).
LOOKUP_STATUS: dict[str, LookupStatus] = {
    "CAPTURE": LookupStatus.APPROVED,
    "SALES": LookupStatus.APPROVED,
    "AUTH": LookupStatus.AUTHORIZED,
    "SAUTH": LookupStatus.AUTHORIZED,
    "AUTHENTICATED": LookupStatus.REQUIRES_ACTION,
    "VOID": LookupStatus.VOIDED,
    "RETURN": LookupStatus.REFUNDED,
    "RETURNX": LookupStatus.REFUNDED,
}


class TradeParseError(ValueError):
    """A SearchTrade reply without the fields every transaction has."""


@dataclass(frozen=True)
class Trade:
    order_id: str
    status: str
    access_id: str
    access_pass: str  # never logged, never stored: together with ShopPass it can alter the payment
    amount: int  # Amount + Tax: what the card or the shopper is asked to pay
    process_date: datetime | None  # last processing time, UTC
    reply: Reply  # the whole reply, for store-specific fields (CvsConfNo, PaymentTerm, ...)

    def __repr__(self) -> str:  # keep AccessPass out of logs and tracebacks
        return f"Trade(order_id={self.order_id!r}, status={self.status!r}, amount={self.amount})"


def parse_gmo_time(value: str) -> datetime | None:
    """`yyyyMMddHHmmss` in Japan time -> aware UTC datetime; None when empty or malformed."""
    try:
        return datetime.strptime(value, "%Y%m%d%H%M%S").replace(tzinfo=JST).astimezone(UTC)
    except ValueError:
        return None


def parse_trade(reply: Reply) -> Trade:
    """The transaction in a successful SearchTrade(Multi) reply."""
    status, access_id = reply.get("Status"), reply.get("AccessID")
    try:
        amount = int(reply.get("Amount") or "0") + int(reply.get("Tax") or "0")
    except ValueError:
        raise TradeParseError("Amount/Tax are not integers") from None
    if not status or not access_id or not reply.get("AccessPass"):
        raise TradeParseError("Status/AccessID/AccessPass missing")
    return Trade(order_id=reply.get("OrderID"), status=status, access_id=access_id,
                 access_pass=reply.get("AccessPass"), amount=amount,
                 process_date=parse_gmo_time(reply.get("ProcessDate")), reply=reply)
