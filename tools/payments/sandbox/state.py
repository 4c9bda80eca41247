"""The sandbox's in-memory ledger and every rule that changes it.

This module only houses `SandboxState`: tokens, charges and refunds, deferred-payment screenings,
convenience-store slips and the outbox of signed events. It knows nothing of HTTP; the app turns its
`SandboxError`s into responses.

Every method is synchronous and the app runs on one event loop, so each operation is atomic: two
concurrent requests with the same idempotency key can never both charge.

Idempotency rules (what exactly-once charging on the merchant side relies on):
- a charge key seen before returns the stored charge, whatever happened since (3-D Secure result
  included), and charges nothing; the same key with another order, amount, currency or token is
  a 409;
- a declined charge is stored too, so replaying its key declines again without touching a token;
- a processing error (test card ...0119) stores nothing and consumes no token, so a retry with the
  same key fails the same way: the merchant must stop retrying and ask for another card.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from dataclasses import astuple
from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from tools.payments import webhooks
from tools.payments.gateway import Buyer, WebhookEvent
from tools.payments.sandbox.cards import CardBehaviour, CardInputError, parse_card_input
from tools.payments.sandbox.clock import Clock
from tools.payments.sandbox.records import (
    CardToken,
    Charge,
    ChargeState,
    Faults,
    OutboundEvent,
    Outcome,
    Refund,
    SandboxError,
    Screening,
    Slip,
)
from tools.payments.sandbox.settings import SandboxSettings

THREEDS_PASS_CODE = "123456"  # noqa: S105 - the public sandbox code
STORE_CHAINS = ("seven_eleven", "familymart", "lawson", "ministop", "seicomart")
SLIP_DAYS = 3
TOKYO = ZoneInfo("Asia/Tokyo")

_DECLINES: dict[CardBehaviour, str] = {
    CardBehaviour.DECLINE: "card_declined",
    CardBehaviour.INSUFFICIENT_FUNDS: "insufficient_funds",
    CardBehaviour.EXPIRED_CARD: "expired_card",
    CardBehaviour.INCORRECT_CVC: "incorrect_cvc",
    CardBehaviour.UNKNOWN_CARD: "unknown_card",
}


def _ref(prefix: str) -> str:
    return f"{prefix}_{secrets.token_hex(12)}"


def _digits(count: int) -> str:
    return "".join(str(secrets.randbelow(10)) for _ in range(count))


class SandboxState:
    """Tokens, charges, screenings, slips and emitted events of one sandbox instance."""

    def __init__(self, settings: SandboxSettings, clock: Clock) -> None:
        self.settings = settings
        self.clock = clock
        self._clear()

    def reset(self) -> None:
        """Forget everything (between eval scenarios)."""
        self._clear()

    def _clear(self) -> None:
        self.faults = Faults()
        self.tokens: dict[str, CardToken] = {}
        self.charges: dict[str, Charge] = {}
        self._charge_by_key: dict[str, str] = {}
        self._refund_by_key: dict[str, Refund] = {}
        self.screenings: dict[str, Screening] = {}
        self._screening_by_key: dict[str, str] = {}
        self.slips: dict[str, Slip] = {}
        self._slip_by_key: dict[str, str] = {}
        self.events: list[OutboundEvent] = []

    # --- tokens -------------------------------------------------------------------------------

    def create_token(self, payload: dict[str, Any]) -> CardToken:
        """Validate card details and issue a single-use token; the number is dropped right here."""
        now = self.clock()
        try:
            facts = parse_card_input(payload, today_year=now.year, today_month=now.month)
        except CardInputError as exc:
            raise SandboxError(400, exc.code, exc.message) from None
        session = payload.get("session")
        token = CardToken(
            token=f"tok_{secrets.token_urlsafe(18)}",
            brand=facts.brand,
            last4=facts.last4,
            exp_month=facts.exp_month,
            exp_year=facts.exp_year,
            behaviour=facts.behaviour,
            created_at=now,
            expires_at=now + timedelta(seconds=self.settings.token_ttl_seconds),
            session=session[:200] if isinstance(session, str) and session else None,
        )
        self.tokens[token.token] = token
        return token

    def usable_token(self, token: str) -> CardToken:
        """A token that can still be charged; 404 if unknown, 410 if used or expired."""
        card = self.tokens.get(token)
        if card is None:
            raise SandboxError(
                404, "token_invalid", "Unknown token.", details={"reason": "unknown"}
            )
        if card.used_by is not None:
            raise SandboxError(
                410, "token_invalid", "Token already used.", details={"reason": "used"}
            )
        if self.clock() >= card.expires_at:
            raise SandboxError(
                410, "token_invalid", "Token expired.", details={"reason": "expired"}
            )
        return card

    # --- charges ------------------------------------------------------------------------------

    def charge(
        self,
        *,
        order_id: str,
        amount: int,
        currency: str,
        token: str,
        idempotency_key: str,
        return_url: str | None = None,
        capture: bool = True,
    ) -> tuple[Charge, bool]:
        """Charge a token once per idempotency key; returns (charge, replayed)."""
        existing_ref = self._charge_by_key.get(idempotency_key)
        if existing_ref is not None:
            existing = self.charges[existing_ref]
            if (existing.order_id, existing.amount, existing.currency, existing.token) != (
                order_id,
                amount,
                currency,
                token,
            ):
                raise SandboxError(
                    409,
                    "idempotency_conflict",
                    "This idempotency key was used for a different charge.",
                )
            return existing, True

        now = self.clock()
        ref = _ref("ch")
        charge = Charge(
            ref=ref,
            order_id=order_id,
            amount=amount,
            currency=currency,
            token=token,
            idempotency_key=idempotency_key,
            created_at=now,
            status=Outcome.DECLINED,
            state=ChargeState.DECLINED,
            capture=capture,
            return_url=return_url,
        )
        try:
            card = self.usable_token(token)
        except SandboxError:
            charge.reason_code = "token_invalid"
            return self._store(charge), False
        if card.behaviour is CardBehaviour.PROCESSING_ERROR:
            raise SandboxError(
                503,
                "processing_error",
                "The card network did not answer; nothing was charged.",
                retryable=True,
            )

        card.used_by = ref
        charge.brand, charge.last4 = card.brand.value, card.last4
        if card.behaviour is CardBehaviour.APPROVE:
            self._approve(charge)
        elif card.behaviour is CardBehaviour.THREEDS_REQUIRED:
            charge.status = Outcome.REQUIRES_ACTION
            charge.state = ChargeState.REQUIRES_ACTION
            charge.challenge_url = f"{self.settings.public_url}/3ds/{ref}"
        else:
            charge.reason_code = _DECLINES[card.behaviour]
        return self._store(charge), False

    def _store(self, charge: Charge) -> Charge:
        self.charges[charge.ref] = charge
        self._charge_by_key[charge.idempotency_key] = charge.ref
        return charge

    @staticmethod
    def _approve(charge: Charge) -> None:
        charge.status = Outcome.APPROVED
        charge.reason_code = None
        if charge.capture:
            charge.state = ChargeState.CAPTURED
            charge.captured_amount = charge.amount
        else:
            charge.state = ChargeState.AUTHORIZED

    def get_charge(self, ref: str) -> Charge:
        charge = self.charges.get(ref)
        if charge is None:
            raise SandboxError(404, "not_found", "No such charge.")
        return charge

    def find_charge(self, *, order_id: str | None, idempotency_key: str | None) -> Charge:
        """The charge made under a key (and order), or the latest one for an order."""
        if idempotency_key:
            ref = self._charge_by_key.get(idempotency_key)
            charge = self.charges.get(ref) if ref else None
            if charge is not None and (order_id is None or charge.order_id == order_id):
                return charge
        elif order_id:
            for charge in reversed(self.charges.values()):
                if charge.order_id == order_id:
                    return charge
        raise SandboxError(404, "not_found", "No charge for this order and key.")

    def complete_challenge(self, ref: str, code: str) -> Charge:
        """Settle a 3-D Secure challenge; a charge already settled is returned unchanged."""
        charge = self.get_charge(ref)
        if charge.status is not Outcome.REQUIRES_ACTION:
            return charge
        if secrets.compare_digest(code.strip().encode(), THREEDS_PASS_CODE.encode()):
            self._approve(charge)
        else:
            charge.status = Outcome.DECLINED
            charge.state = ChargeState.DECLINED
            charge.reason_code = "threeds_failed"
        return charge

    def capture(self, ref: str, amount: int) -> Charge:
        """Capture an authorisation (up to its amount); the same capture again is a no-op."""
        charge = self.get_charge(ref)
        if charge.state is ChargeState.CAPTURED and amount == charge.captured_amount:
            return charge
        if charge.state is not ChargeState.AUTHORIZED:
            raise SandboxError(409, "invalid_state", f"Cannot capture a {charge.state} charge.")
        if not 0 < amount <= charge.amount:
            raise SandboxError(400, "invalid_amount", "Capture amount exceeds the authorisation.")
        charge.state = ChargeState.CAPTURED
        charge.captured_amount = amount
        return charge

    def void(self, ref: str) -> Charge:
        """Cancel before settlement: an authorisation, unrefunded capture or open challenge."""
        charge = self.get_charge(ref)
        if charge.state is ChargeState.VOIDED:
            return charge
        voidable = {ChargeState.AUTHORIZED, ChargeState.REQUIRES_ACTION, ChargeState.CAPTURED}
        if charge.state not in voidable or charge.refunded_amount:
            raise SandboxError(409, "invalid_state", f"Cannot void a {charge.state} charge.")
        charge.state = ChargeState.VOIDED
        return charge

    def refund(self, ref: str, amount: int, idempotency_key: str) -> tuple[Charge, Refund]:
        """Refund part or all of a captured charge, once per idempotency key."""
        charge = self.get_charge(ref)
        previous = self._refund_by_key.get(idempotency_key)
        if previous is not None:
            if (previous.charge_ref, previous.amount) != (ref, amount):
                raise SandboxError(
                    409,
                    "idempotency_conflict",
                    "This idempotency key was used for a different refund.",
                )
            return charge, previous
        if charge.state is not ChargeState.CAPTURED:
            raise SandboxError(409, "invalid_state", f"Cannot refund a {charge.state} charge.")
        if not 0 < amount <= charge.captured_amount - charge.refunded_amount:
            raise SandboxError(400, "invalid_amount", "Refund exceeds what is left to refund.")
        refund = Refund(
            ref=_ref("re"),
            charge_ref=ref,
            amount=amount,
            idempotency_key=idempotency_key,
            created_at=self.clock(),
        )
        charge.refunds.append(refund)
        charge.refunded_amount += amount
        if charge.refunded_amount == charge.captured_amount:
            charge.state = ChargeState.REFUNDED
        self._refund_by_key[idempotency_key] = refund
        return charge, refund

    # --- payment after delivery: screening ----------------------------------------------------

    def screen(
        self, *, order_id: str, amount: int, buyer: Buyer, idempotency_key: str
    ) -> Screening:
        """Deterministic credit screening (see the rules in the README's test-data table)."""
        fingerprint = hashlib.sha256(json.dumps(astuple(buyer)).encode()).hexdigest()
        existing_ref = self._screening_by_key.get(idempotency_key)
        if existing_ref is not None:
            existing = self.screenings[existing_ref]
            if (existing.order_id, existing.amount, existing.buyer_fingerprint) != (
                order_id,
                amount,
                fingerprint,
            ):
                raise SandboxError(
                    409,
                    "idempotency_conflict",
                    "This idempotency key was used for a different screening.",
                )
            return existing
        phone_digits = "".join(ch for ch in buyer.phone if ch.isdigit())
        status, reason = "approved", None
        if amount > self.settings.after_delivery_limit:
            status, reason = "rejected", "limit_exceeded"
        elif phone_digits.endswith("0000"):
            status, reason = "rejected", "screening_rejected"
        elif "hold" in buyer.name.casefold():
            status = "review"
        screening = Screening(
            ref=_ref("sc"),
            order_id=order_id,
            amount=amount,
            idempotency_key=idempotency_key,
            buyer_fingerprint=fingerprint,
            status=status,
            reason_code=reason,
            created_at=self.clock(),
        )
        self.screenings[screening.ref] = screening
        self._screening_by_key[idempotency_key] = screening.ref
        return screening

    def settle_screening(self, ref: str, result: str) -> OutboundEvent:
        """Finish a screening left in review and emit `screening.approved|rejected`."""
        screening = self.screenings.get(ref)
        if screening is None:
            raise SandboxError(404, "not_found", "No such screening.")
        if screening.status != "review":
            raise SandboxError(409, "invalid_state", f"Screening is already {screening.status}.")
        screening.status = result
        screening.reason_code = "screening_rejected" if result == "rejected" else None
        return self.emit(
            f"screening.{result}",
            screening.order_id,
            ref,
            {"amount": screening.amount, "status": result, "reason_code": screening.reason_code},
        )

    # --- convenience-store slips --------------------------------------------------------------

    def create_slip(
        self, *, order_id: str, amount: int, store_chain: str, idempotency_key: str
    ) -> Slip:
        """Issue a payment slip due at the end of the third day after today, Tokyo time."""
        if store_chain not in STORE_CHAINS:
            raise SandboxError(
                400, "invalid_store_chain", f"store_chain must be one of {', '.join(STORE_CHAINS)}."
            )
        existing_ref = self._slip_by_key.get(idempotency_key)
        if existing_ref is not None:
            existing = self.slips[existing_ref]
            if (existing.order_id, existing.amount, existing.store_chain) != (
                order_id,
                amount,
                store_chain,
            ):
                raise SandboxError(
                    409,
                    "idempotency_conflict",
                    "This idempotency key was used for a different slip.",
                )
            return existing
        now = self.clock()
        due_day = now.astimezone(TOKYO).date() + timedelta(days=SLIP_DAYS)
        deadline = datetime.combine(due_day, time(23, 59, 59), tzinfo=TOKYO).astimezone(UTC)
        slip = Slip(
            ref=_ref("kb"),
            order_id=order_id,
            amount=amount,
            store_chain=store_chain,
            payment_number=_digits(11),
            confirmation_number=_digits(6),
            deadline=deadline,
            idempotency_key=idempotency_key,
            created_at=now,
        )
        self.slips[slip.ref] = slip
        self._slip_by_key[idempotency_key] = slip.ref
        return slip

    def _pending_slip(self, ref: str) -> Slip:
        slip = self.slips.get(ref)
        if slip is None:
            raise SandboxError(404, "not_found", "No such slip.")
        if slip.status != "pending":
            raise SandboxError(409, "invalid_state", f"Slip is already {slip.status}.")
        return slip

    def pay_slip(self, ref: str) -> OutboundEvent:
        """The shopper paid at the store: emit `konbini.paid`."""
        slip = self._pending_slip(ref)
        now = self.clock()
        if now > slip.deadline:
            raise SandboxError(409, "slip_expired", "The payment deadline has passed.")
        slip.status, slip.paid_at = "paid", now
        return self.emit(
            "konbini.paid",
            slip.order_id,
            ref,
            {"amount": slip.amount, "store_chain": slip.store_chain, "paid_at": now.isoformat()},
        )

    def expire_slip(self, ref: str) -> OutboundEvent:
        """The deadline passed without payment: emit `konbini.expired`."""
        slip = self._pending_slip(ref)
        slip.status = "expired"
        return self.emit(
            "konbini.expired",
            slip.order_id,
            ref,
            {"amount": slip.amount, "store_chain": slip.store_chain},
        )

    # --- events -------------------------------------------------------------------------------

    def emit(
        self, event_type: str, order_id: str, gateway_ref: str | None, data: dict[str, Any]
    ) -> OutboundEvent:
        """Record a signed event in the outbox; the app delivers it after answering."""
        now = self.clock()
        event = WebhookEvent(
            id=webhooks.new_event_id(),
            type=event_type,
            order_id=order_id,
            gateway_ref=gateway_ref,
            created_at=now,
            data=data,
        )
        body = webhooks.encode_event(event)
        headers = {
            "Content-Type": "application/json",
            **webhooks.sign(body, self.settings.webhook_secret, int(now.timestamp())),
        }
        outbound = OutboundEvent(
            event=event, body=body, headers=headers, url=self.settings.webhook_url or None
        )
        self.events.append(outbound)
        return outbound
