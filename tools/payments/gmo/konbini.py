"""Convenience-store payment (コンビニ決済) with GMO: store codes, the shopper fields, the slip.

This module only houses the pure parts of EntryTranCvs/ExecTranCvs: which `Convenience` code a store
chain has, how a `Buyer` becomes CustomerName/CustomerKana/TelNo/MailAddress, and how a reply (or a
SearchTradeMulti record) becomes a `KonbiniSlip`.

Store codes are from pepabo/gmopg's `CvsCode` enum (current codes; the 0000x codes it marks as old
are still recognised in replies). Required fields (CustomerName, CustomerKana, TelNo and the shop's
ReceiptsDisp11-13 contact lines) follow t-k/gmo-payment-ruby's `exec_tran_cvs`. Reply fields
(ConfNo, ReceiptNo, PaymentTerm) follow its recorded ExecTranCvs exchange; the SearchTradeMulti
field names (CvsCode, CvsConfNo, CvsReceiptNo, PaymentTerm) follow recorded result notifications
and are an assumption for SearchTradeMulti itself.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import datetime

import jaconv

from tools.payments.gateway import Buyer, GatewayError, KonbiniSlip
from tools.payments.gmo.protocol import Reply
from tools.payments.gmo.trades import parse_gmo_time

CONVENIENCE_CODES: dict[str, str] = {
    "seven_eleven": "00007",
    "lawson": "10001",
    "familymart": "10002",
    "ministop": "10005",
    "seicomart": "10008",
}
STORE_CHAINS: dict[str, str] = {
    **{code: chain for chain, code in CONVENIENCE_CODES.items()},
    "00001": "lawson", "00002": "familymart", "00005": "ministop", "00008": "seicomart",
}
CVS_PAY_TYPE = "3"  # SearchTradeMulti / notification PayType of convenience-store payments

# Full-width katakana, the prolonged-sound mark and the ideographic space.
_KATAKANA = re.compile(r"[\u30a1-\u30fa\u30fc\u3000]+")


def convenience_code(store_chain: str) -> str:
    """GMO's Convenience code for a chain; GatewayError('unsupported_store_chain') otherwise."""
    try:
        return CONVENIENCE_CODES[store_chain]
    except KeyError:
        raise GatewayError("unsupported_store_chain",
                           f"GMO has no convenience code for {store_chain!r}") from None


def customer_kana(name: str) -> str:
    """The name in full-width katakana, as GMO's CustomerKana wants it.

    Only names already written in kana can be converted; a name in kanji has no single reading, so
    it raises GatewayError('buyer_kana_required') (the Buyer type has no reading field yet).
    """
    text = unicodedata.normalize("NFKC", name).strip()  # half-width kana -> full-width
    text = jaconv.hira2kata(text).replace(" ", "\u3000")
    if not _KATAKANA.fullmatch(text):
        raise GatewayError("buyer_kana_required",
                           "GMO needs the buyer's name in kana for a convenience-store slip")
    return text


def telephone_digits(phone: str) -> str:
    """A phone number as GMO's TelNo: domestic digits only (`+81 90-...` -> `090...`)."""
    digits = re.sub(r"\D", "", unicodedata.normalize("NFKC", phone))
    if phone.strip().startswith("+81"):
        digits = "0" + digits[2:]
    if not 10 <= len(digits) <= 13:
        raise GatewayError("buyer_phone_invalid", "the buyer's phone number is not usable")
    return digits


def customer_fields(buyer: Buyer) -> dict[str, str]:
    """CustomerName, CustomerKana, TelNo and MailAddress for ExecTranCvs."""
    return {
        "CustomerName": unicodedata.normalize("NFKC", buyer.name).strip(),
        "CustomerKana": customer_kana(buyer.name),
        "TelNo": telephone_digits(buyer.phone),
        "MailAddress": buyer.email,
    }


def _deadline(value: str) -> datetime:
    deadline = parse_gmo_time(value)
    if deadline is None:
        raise GatewayError("malformed_reply", "GMO sent no usable PaymentTerm", retryable=True)
    return deadline


def slip_from_exec(reply: Reply, *, gmo_order_id: str, amount: int) -> KonbiniSlip:
    """The slip in a successful ExecTranCvs reply."""
    code = reply.get("Convenience")
    if not reply.get("ReceiptNo"):
        raise GatewayError("malformed_reply", "GMO sent no ReceiptNo", retryable=True)
    return KonbiniSlip(
        gateway_ref=gmo_order_id,
        store_chain=STORE_CHAINS.get(code, code),
        payment_number=reply.get("ReceiptNo"),
        confirmation_number=reply.get("ConfNo"),
        deadline=_deadline(reply.get("PaymentTerm")),
        amount=amount,
        instructions_url=reply.get("ReceiptUrl") or reply.get("ReceiptURL") or None,
    )


def slip_from_search(reply: Reply, *, gmo_order_id: str, amount: int) -> KonbiniSlip:
    """The slip of an already issued transaction, from SearchTradeMulti (a retried request)."""
    code = reply.get("CvsCode")
    if not reply.get("CvsReceiptNo"):
        raise GatewayError("malformed_reply", "GMO sent no CvsReceiptNo", retryable=True)
    return KonbiniSlip(
        gateway_ref=gmo_order_id,
        store_chain=STORE_CHAINS.get(code, code),
        payment_number=reply.get("CvsReceiptNo"),
        confirmation_number=reply.get("CvsConfNo"),
        deadline=_deadline(reply.get("PaymentTerm")),
        amount=amount,
        instructions_url=reply.get("CvsReceiptUrl") or reply.get("ReceiptURL") or None,
    )
