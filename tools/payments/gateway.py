"""The payment-gateway interface every adapter implements (sandbox, GMO Payment Gateway, ...).

This module only houses the types shared by the merchant side and the adapters: results, errors and
the `PaymentGateway` protocol. It never sees a card number: the shopper's card is entered in the
gateway's own frame, and the merchant holds only a single-use token plus public facts (brand, last
four digits, expiry).

Outcome semantics matter for exactly-once charging:
- `approved` / `declined` / `requires_action` are final answers for that idempotency key;
- `retryable_error` means the gateway says nothing was charged; retry *with the same key*;
- `unknown` means the request may or may not have charged (timeout, lost response, 5xx after send):
  never charge again under a new key; look the payment up (`lookup`) until it is known.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, Protocol


class ChargeStatus(StrEnum):
    APPROVED = "approved"
    DECLINED = "declined"
    REQUIRES_ACTION = "requires_action"  # 3-D Secure challenge outstanding
    RETRYABLE_ERROR = "retryable_error"  # nothing charged; safe to retry with the same key
    UNKNOWN = "unknown"  # may have charged; look up, never re-charge under a new key


class DeclineReason(StrEnum):
    """Gateway-independent decline reasons (adapters map their own codes onto these)."""

    GENERIC = "card_declined"
    INSUFFICIENT_FUNDS = "insufficient_funds"
    EXPIRED_CARD = "expired_card"
    INCORRECT_CVC = "incorrect_cvc"
    UNKNOWN_CARD = "unknown_card"
    PROCESSING_ERROR = "processing_error"
    THREEDS_FAILED = "threeds_failed"
    TOKEN_INVALID = "token_invalid"  # noqa: S105 - a reason code, not a secret
    LIMIT_EXCEEDED = "limit_exceeded"


class LookupStatus(StrEnum):
    NOT_FOUND = "not_found"  # the gateway never charged under this key/order
    APPROVED = "approved"  # authorised and captured (or authorised, when capture is separate)
    AUTHORIZED = "authorized"
    DECLINED = "declined"
    REQUIRES_ACTION = "requires_action"
    VOIDED = "voided"
    REFUNDED = "refunded"


class ScreeningStatus(StrEnum):
    APPROVED = "approved"
    REVIEW = "review"  # settled later by webhook
    REJECTED = "rejected"


@dataclass(frozen=True)
class TokenInfo:
    """Public facts of a card token. Never the number or the security code."""

    token: str
    brand: str  # visa | mastercard | jcb | amex | diners | unknown
    last4: str
    exp_month: int
    exp_year: int
    expires_at: datetime  # when the token itself stops being usable


@dataclass(frozen=True)
class ChargeResult:
    status: ChargeStatus
    gateway_ref: str | None = None  # the gateway's id for this payment (access id, charge id, ...)
    reason_code: str | None = None  # a DeclineReason value, or the gateway's own code if unmapped
    gateway_code: str | None = None  # the raw code as the gateway sent it (e.g. GMO "42G020000")
    challenge_url: str | None = None  # for REQUIRES_ACTION: the 3-D Secure page for the shopper
    amount: int | None = None


@dataclass(frozen=True)
class PaymentLookup:
    status: LookupStatus
    gateway_ref: str | None = None
    amount: int | None = None
    reason_code: str | None = None


@dataclass(frozen=True)
class Buyer:
    """What deferred-payment screening and convenience-store slips need to know of the shopper."""

    name: str
    postal_code: str
    address: str
    phone: str
    email: str
    name_kana: str | None = None  # some gateways (GMO convenience store) need the name in kana


@dataclass(frozen=True)
class ScreeningResult:
    status: ScreeningStatus
    gateway_ref: str | None = None
    reason_code: str | None = None


@dataclass(frozen=True)
class KonbiniSlip:
    """A convenience-store payment slip: the shopper pays at the store before `deadline`."""

    gateway_ref: str
    store_chain: str  # seven_eleven | familymart | lawson | ministop | seicomart
    payment_number: str
    confirmation_number: str
    deadline: datetime
    amount: int
    instructions_url: str | None = None


@dataclass(frozen=True)
class WebhookEvent:
    """A verified notification from the gateway (store payment arrived, screening settled, ...)."""

    id: str  # unique per event; used to ignore replays
    type: str  # konbini.paid | konbini.expired | screening.approved | screening.rejected | ...
    order_id: str
    gateway_ref: str | None
    created_at: datetime
    data: dict[str, Any] = field(default_factory=dict)


class GatewayError(Exception):
    """The gateway refused or failed a non-charge request (bad token, bad key, unreachable).

    `retryable` tells whether the same request may be sent again. Messages never hold card data.
    """

    def __init__(self, code: str, message: str = "", *, retryable: bool = False,
                 status_code: int | None = None) -> None:
        super().__init__(message or code)
        self.code = code
        self.retryable = retryable
        self.status_code = status_code


class WebhookVerificationError(Exception):
    """A webhook whose signature, timestamp or format is wrong. Nothing may be done with it."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code  # bad_signature | stale_timestamp | malformed


class PaymentGateway(Protocol):
    """What the merchant side needs from a payment gateway. All amounts are integer minor units."""

    name: str

    async def token_info(self, token: str) -> TokenInfo:
        """Public facts of a card token; raises GatewayError(code='token_invalid') if unusable."""
        ...

    async def charge(self, *, order_id: str, amount: int, currency: str, token: str,
                     idempotency_key: str, return_url: str | None = None) -> ChargeResult:
        """Authorise and capture `amount`. The same idempotency key never charges twice."""
        ...

    async def complete_3ds(self, *, gateway_ref: str) -> ChargeResult:
        """The outcome of a charge after the shopper's 3-D Secure challenge."""
        ...

    async def capture(self, *, gateway_ref: str, amount: int) -> ChargeResult: ...

    async def void(self, *, gateway_ref: str) -> ChargeResult: ...

    async def refund(self, *, gateway_ref: str, amount: int, idempotency_key: str) -> ChargeResult: ...

    async def lookup(self, *, order_id: str, idempotency_key: str) -> PaymentLookup:
        """What the gateway knows of the charge for this order and key (used after unknown outcomes)."""
        ...

    async def screen_deferred(self, *, order_id: str, amount: int, buyer: Buyer,
                              idempotency_key: str) -> ScreeningResult:
        """Credit screening for payment after delivery."""
        ...

    async def create_konbini_slip(self, *, order_id: str, amount: int, buyer: Buyer,
                                  store_chain: str, idempotency_key: str) -> KonbiniSlip: ...

    def verify_webhook(self, headers: dict[str, str], body: bytes) -> WebhookEvent:
        """Check signature and timestamp; raises WebhookVerificationError. Replays: caller's job."""
        ...

    async def confirm_webhook(self, event: WebhookEvent) -> WebhookEvent:
        """Confirm a verified event with the gateway where its signature alone proves nothing.

        Signed gateways return the event unchanged; GMO (which signs nothing) asks its own API.
        Raises WebhookVerificationError when the gateway disowns the event.
        """
        ...
