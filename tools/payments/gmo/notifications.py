"""GMO's result notifications (結果通知プログラム) turned into `WebhookEvent`s, and their limits.

This module only houses parsing and the checks that GMO's scheme allows. GMO POSTs a form to the
URL configured in its shop console whenever a transaction changes (card captured, slip paid, slip
expired, ...) and expects the body `0` back (`1` or no answer within 15 s: resent about hourly, five
times). Fields seen in recorded notifications: ShopID, ShopPass, AccessID, AccessPass, OrderID,
Status, JobCd, Amount, Tax, Currency, Forward, Method, PayTimes, TranID, Approve, TranDate, ErrCode,
ErrInfo, PayType, CvsCode, CvsConfNo, CvsReceiptNo, PaymentTerm, FinishDate, ...

What can and cannot be verified - honestly:

- GMO signs nothing. There is no HMAC, no signature header, no timestamp to check.
- ShopPass and AccessPass arrive masked as asterisks (`**********`, 32 `*`), per gmopg/sdk-nodejs'
  result-notification type ("“*” 10 桁固定") and recorded bodies. So the only shop-specific value is
  ShopID, which is not secret (it also identifies the shop to GMO's token script in the browser).
- `verify` therefore checks the format, that ShopID is ours (constant time) and that ShopPass is
  either GMO's mask or, should GMO ever send it, our real ShopPass (constant time); anything else is
  `bad_signature`. That stops misdirected and careless forgeries, not a deliberate one.
- Authenticity comes from asking GMO: `GMOGateway.confirm_webhook` re-reads the transaction with
  SearchTrade / SearchTradeMulti (an authenticated call) and refuses the event unless GMO agrees.
  Nothing that moves an order forward should act on an unconfirmed GMO event. Restricting the
  notification URL to GMO's source addresses is a useful extra the deployment can add.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from tools.payments.gateway import WebhookEvent, WebhookVerificationError
from tools.payments.gmo.konbini import CVS_PAY_TYPE, STORE_CHAINS
from tools.payments.gmo.protocol import MalformedReply, decode_notification, parse_errors
from tools.payments.gmo.trades import CAPTURED, REFUNDED, parse_gmo_time

CARD_PAY_TYPE = "0"

_KONBINI_TYPES = {"REQSUCCESS": "konbini.issued", "PAYSUCCESS": "konbini.paid",
                  "EXPIRED": "konbini.expired", "CANCEL": "konbini.cancelled",
                  "PAYFAIL": "konbini.failed"}


def event_type(pay_type: str, status: str, *, failed: bool = False) -> str:
    """Our event type for a GMO PayType and Status (`konbini.paid`, `card.captured`, ...)."""
    if pay_type == CVS_PAY_TYPE:
        return _KONBINI_TYPES.get(status, f"konbini.{status.lower()}")
    if pay_type == CARD_PAY_TYPE:
        if failed:
            return "card.failed"
        if status in CAPTURED:
            return "card.captured"
        if status in REFUNDED:
            return "card.refunded"
        return {"AUTH": "card.authorized", "VOID": "card.voided"}.get(status,
                                                                     f"card.{status.lower()}")
    return f"gmo.paytype{pay_type}.{status.lower()}"


def _header(headers: Mapping[str, str], name: str) -> str | None:
    wanted = name.lower()
    return next((v for k, v in headers.items() if k.lower() == wanted), None)


def _same(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())


def event_id(fields: Mapping[str, str]) -> str:
    """A stable id for one notification: GMO resends the same body, and it must dedupe."""
    parts = [fields.get(k, "") for k in ("OrderID", "AccessID", "PayType", "Status", "TranID",
                                          "TranDate", "FinishDate", "ErrInfo")]
    return "gmo_" + hashlib.sha256("|".join(parts).encode()).hexdigest()[:32]


def verify(headers: Mapping[str, str], body: bytes, *, shop_id: str, shop_pass: str,
           received_at: datetime | None = None) -> WebhookEvent:
    """Parse a result notification after the checks GMO's scheme allows (see module docstring)."""
    try:
        fields = decode_notification(body, _header(headers, "content-type"))
    except MalformedReply:
        raise WebhookVerificationError("malformed") from None
    order_id, status, pay_type = fields.get("OrderID"), fields.get("Status"), fields.get("PayType")
    if not order_id or not status or pay_type is None or "ShopID" not in fields:
        raise WebhookVerificationError("malformed")
    sent_pass = fields.get("ShopPass", "")
    masked = bool(sent_pass) and set(sent_pass) == {"*"}
    # Evaluate both comparisons before deciding, so timing does not say which one failed.
    shop_matches = _same(fields["ShopID"], shop_id)
    pass_matches = masked or (bool(sent_pass) and _same(sent_pass, shop_pass))
    if not (shop_matches and pass_matches):
        raise WebhookVerificationError("bad_signature")
    try:
        amount = int(fields.get("Amount") or "0") + int(fields.get("Tax") or "0")
    except ValueError:
        raise WebhookVerificationError("malformed") from None
    errors = parse_errors(fields)
    data: dict[str, Any] = {
        "gmo_status": status, "pay_type": pay_type, "amount": amount,
        "err_info": [e.info for e in errors], "confirmed": False,
    }
    if pay_type == CVS_PAY_TYPE:
        code = fields.get("CvsCode", "")
        data.update(store_chain=STORE_CHAINS.get(code, code),
                    payment_number=fields.get("CvsReceiptNo", ""),
                    confirmation_number=fields.get("CvsConfNo", ""))
    created_at = (parse_gmo_time(fields.get("FinishDate", "")) or
                  parse_gmo_time(fields.get("TranDate", "")) or received_at or datetime.now(UTC))
    # GMO's OrderID is all that links the event to us; the merchant finds its payment by it.
    return WebhookEvent(id=event_id(fields), type=event_type(pay_type, status, failed=bool(errors)),
                        order_id=order_id, gateway_ref=order_id, created_at=created_at, data=data)
