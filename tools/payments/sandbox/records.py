"""What the sandbox remembers: tokens, charges, refunds, screenings, slips, events and faults.

This module only houses the in-memory record types and their JSON views. No record holds a full card
number or a security code (tokenisation keeps only `CardFacts`), so printing or listing any of
them is safe. Times are aware UTC.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from tools.payments.gateway import WebhookEvent
from tools.payments.sandbox.cards import Brand, CardBehaviour


class SandboxError(Exception):
    """A refusal the API answers as `{"error": {"code", "message"}}` with `status`."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        *,
        retryable: bool = False,
        details: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.retryable = retryable
        self.details = details or {}

    def body(self) -> dict[str, Any]:
        error: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.retryable:
            error["retryable"] = True
        error.update(self.details)
        return {"error": error}


def iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


@dataclass
class CardToken:
    token: str
    brand: Brand
    last4: str
    exp_month: int
    exp_year: int
    behaviour: CardBehaviour
    created_at: datetime
    expires_at: datetime
    session: str | None = None
    used_by: str | None = None  # the ref of the charge that consumed it

    def public(self) -> dict[str, Any]:
        return {
            "token": self.token,
            "brand": self.brand.value,
            "last4": self.last4,
            "exp_month": self.exp_month,
            "exp_year": self.exp_year,
            "expires_at": iso(self.expires_at),
        }


class Outcome(StrEnum):
    """The answer to a charge request; changes only when a 3-D Secure challenge completes."""

    APPROVED = "approved"
    DECLINED = "declined"
    REQUIRES_ACTION = "requires_action"


class ChargeState(StrEnum):
    """Where the money of a charge is now (what a lookup reports)."""

    REQUIRES_ACTION = "requires_action"
    AUTHORIZED = "authorized"
    CAPTURED = "captured"
    DECLINED = "declined"
    VOIDED = "voided"
    REFUNDED = "refunded"  # fully; a partial refund leaves the charge `captured`


@dataclass
class Refund:
    ref: str
    charge_ref: str
    amount: int
    idempotency_key: str
    created_at: datetime

    def to_json(self) -> dict[str, Any]:
        return {
            "ref": self.ref,
            "charge_ref": self.charge_ref,
            "amount": self.amount,
            "idempotency_key": self.idempotency_key,
            "created_at": iso(self.created_at),
        }


@dataclass
class Charge:
    ref: str
    order_id: str
    amount: int
    currency: str
    token: str
    idempotency_key: str
    created_at: datetime
    status: Outcome
    state: ChargeState
    brand: str = Brand.UNKNOWN.value
    last4: str | None = None
    reason_code: str | None = None
    capture: bool = True
    captured_amount: int = 0
    refunded_amount: int = 0
    return_url: str | None = None
    challenge_url: str | None = None
    refunds: list[Refund] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "ref": self.ref,
            "order_id": self.order_id,
            "amount": self.amount,
            "currency": self.currency,
            "status": self.status.value,
            "state": self.state.value,
            "idempotency_key": self.idempotency_key,
            "brand": self.brand,
            "last4": self.last4,
            "captured_amount": self.captured_amount,
            "refunded_amount": self.refunded_amount,
            "created_at": iso(self.created_at),
        }
        if self.reason_code:
            body["reason_code"] = self.reason_code
        if self.status is Outcome.REQUIRES_ACTION and self.challenge_url:
            body["challenge_url"] = self.challenge_url
        return body


@dataclass
class Screening:
    ref: str
    order_id: str
    amount: int
    idempotency_key: str
    buyer_fingerprint: str  # detects a replayed key carrying a different buyer
    status: str  # approved | review | rejected
    created_at: datetime
    reason_code: str | None = None

    def to_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "ref": self.ref,
            "order_id": self.order_id,
            "amount": self.amount,
            "status": self.status,
            "created_at": iso(self.created_at),
        }
        if self.reason_code:
            body["reason_code"] = self.reason_code
        return body


@dataclass
class Slip:
    ref: str
    order_id: str
    amount: int
    store_chain: str
    payment_number: str
    confirmation_number: str
    deadline: datetime
    idempotency_key: str
    created_at: datetime
    status: str = "pending"  # pending | paid | expired
    paid_at: datetime | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "ref": self.ref,
            "order_id": self.order_id,
            "amount": self.amount,
            "store_chain": self.store_chain,
            "payment_number": self.payment_number,
            "confirmation_number": self.confirmation_number,
            "deadline": iso(self.deadline),
            "status": self.status,
            "created_at": iso(self.created_at),
            "paid_at": iso(self.paid_at) if self.paid_at else None,
        }


@dataclass
class OutboundEvent:
    """An emitted webhook with the exact bytes and headers sent, so it can be replayed verbatim."""

    event: WebhookEvent
    body: bytes
    headers: dict[str, str]
    url: str | None
    attempts: int = 0
    delivered: bool = False
    last_error: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.event.id,
            "type": self.event.type,
            "order_id": self.event.order_id,
            "gateway_ref": self.event.gateway_ref,
            "url": self.url,
            "headers": self.headers,
            "body": self.body.decode(),
            "attempts": self.attempts,
            "delivered": self.delivered,
            "last_error": self.last_error,
        }


@dataclass
class Faults:
    """Injected failures for `POST /v1/charges` (the only scope so far)."""

    latency_ms: int = 0  # every charge call waits this long first (persists until reset)
    fail_next: int = 0  # the next N calls answer 503 retryable and charge nothing
    lose_next: int = 0  # the next N calls charge, then answer 500 as if the response was lost

    def to_json(self) -> dict[str, Any]:
        return {
            "latency_ms": self.latency_ms,
            "fail_next": self.fail_next,
            "lose_next": self.lose_next,
            "scope": "charges",
        }
