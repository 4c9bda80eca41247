"""Exactly-once payment of a confirmed quote, 3-D Secure completion, and reconciliation.

The order of writes is what makes a double charge impossible:

1. In one transaction the shopper's confirm creates the order (one per quote, unique constraint) and a
   `pending` payment row whose idempotency key is derived from the quote (unique constraint). Commit.
2. Only then is the gateway called, always with that key. Errors the gateway marks as safe
   (`retryable_error`: nothing was charged) are retried with the same key; declines never are.
   An `unknown` outcome (timeout, lost response) is followed by lookups, never by a new charge.
3. A second transaction records the outcome and moves the order through the state machine.

A crash between 1 and 3 leaves a `pending` payment that `reconcile` settles from the gateway's own
records. A repeated confirm of the same quote finds the existing order and makes no gateway call.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from tools.address import ShippingAddress
from tools.cart import clear_cart
from tools.checkout.order_status import SUCCESS_STATUSES, OrderStatus
from tools.checkout.orders import confirm, get_order, transition
from tools.checkout.payment_choice import forget_card
from tools.errors import NotFoundError
from tools.payments.gateway import (
    Buyer,
    ChargeResult,
    ChargeStatus,
    GatewayError,
    LookupStatus,
    PaymentGateway,
    ScreeningStatus,
)
from tools.payments.methods import PaymentMethod
from tools.settings import CommerceSettings
from tools.store.db import Database
from tools.store.models import Conversation, Order, Payment, utcnow

log = logging.getLogger(__name__)


class PaymentStatus(StrEnum):
    PENDING = "pending"  # row written, gateway outcome not (yet) known: reconcile settles it
    APPROVED = "approved"  # card charged
    REQUIRES_ACTION = "requires_action"  # 3-D Secure outstanding
    DECLINED = "declined"
    FAILED = "failed"  # nothing charged (gateway error, screening unavailable, not found later)
    SCREENING_APPROVED = "screening_approved"
    SCREENING_REVIEW = "screening_review"
    SCREENING_REJECTED = "screening_rejected"
    SLIP_ISSUED = "slip_issued"  # convenience-store slip waiting for the shopper
    STORE_PAID = "store_paid"
    EXPIRED = "expired"
    REFUNDED = "refunded"
    VOIDED = "voided"


@dataclass(frozen=True)
class ChargePolicy:
    """How hard to try before leaving a payment to `reconcile`."""

    attempts: int = 3  # charge attempts for retryable errors (same idempotency key)
    lookups: int = 3  # lookups after an unknown outcome
    wait_initial_s: float = 0.2
    wait_max_s: float = 2.0


@dataclass(frozen=True)
class PaymentOutcome:
    """What happened to an order's payment, for the chat to tell the shopper."""

    order_id: str
    order_status: OrderStatus
    payment_id: str | None
    payment_status: PaymentStatus | None
    method: PaymentMethod
    total: int
    currency: str
    reason_code: str | None = None
    challenge_url: str | None = None
    gateway_ref: str | None = None  # the gateway's id of the payment (charge, screening, slip)
    details: dict[str, Any] = field(default_factory=dict)  # convenience-store slip, screening
    created: bool = True  # False when a repeated confirm found the existing order

    @property
    def settled(self) -> bool:
        """The order reached a state where the chat can show a receipt or a slip."""
        return self.order_status in SUCCESS_STATUSES


def idempotency_key(quote_id: str, purpose: str = "pay") -> str:
    """The key for every gateway request about one quote's payment (stable across retries)."""
    return f"chatpay:{quote_id}:{purpose}"


def _outcome(order: Order, payment: Payment | None, *, created: bool = True) -> PaymentOutcome:
    details = dict(payment.details) if payment is not None else {}
    return PaymentOutcome(
        order_id=order.id,
        order_status=OrderStatus(order.status),
        payment_id=payment.id if payment else None,
        payment_status=PaymentStatus(payment.status) if payment else None,
        method=PaymentMethod(order.payment_method),
        total=order.total,
        currency=order.currency,
        reason_code=payment.reason_code if payment else None,
        challenge_url=details.pop("challenge_url", None),
        gateway_ref=payment.gateway_ref if payment else None,
        details=details,
        created=created,
    )


async def _payment_for(session: AsyncSession, order_id: str) -> Payment | None:
    return await session.scalar(
        select(Payment).where(Payment.order_id == order_id).order_by(Payment.created_at.desc())
        .limit(1)
    )


def _buyer(address: dict[str, Any]) -> Buyer:
    shipping = ShippingAddress.model_validate(address)
    return Buyer(name=shipping.name, postal_code=shipping.postal_code,
                 address=shipping.one_line("ja"), phone=shipping.phone, email=shipping.email)


async def _charge_with_retries(gateway: PaymentGateway, policy: ChargePolicy,
                               **kwargs: Any) -> ChargeResult:
    """Charge; retry only what the gateway says is safe (nothing charged), with the same key."""
    wait = policy.wait_initial_s
    result = await gateway.charge(**kwargs)
    for _ in range(policy.attempts - 1):
        if result.status is not ChargeStatus.RETRYABLE_ERROR:
            break
        await asyncio.sleep(wait)
        wait = min(wait * 2, policy.wait_max_s)
        result = await gateway.charge(**kwargs)
    return result


async def _resolve_unknown(gateway: PaymentGateway, policy: ChargePolicy, *, order_id: str,
                           key: str) -> ChargeResult:
    """After an unknown outcome: ask the gateway what happened. Never charge again."""
    for _ in range(policy.lookups):
        try:
            found = await gateway.lookup(order_id=order_id, idempotency_key=key)
        except GatewayError:
            continue
        if found.status in (LookupStatus.APPROVED, LookupStatus.AUTHORIZED):
            return ChargeResult(ChargeStatus.APPROVED, gateway_ref=found.gateway_ref,
                                amount=found.amount)
        if found.status is LookupStatus.DECLINED:
            return ChargeResult(ChargeStatus.DECLINED, gateway_ref=found.gateway_ref,
                                reason_code=found.reason_code)
        if found.status is LookupStatus.REQUIRES_ACTION and found.gateway_ref:
            # The lookup has no challenge URL; the charge itself does.
            try:
                return await gateway.complete_3ds(gateway_ref=found.gateway_ref)
            except GatewayError:
                continue
        # NOT_FOUND right after an unknown outcome may mean "still in flight": keep it pending.
    return ChargeResult(ChargeStatus.UNKNOWN)


async def _record_charge(session: AsyncSession, order: Order, payment: Payment,
                         result: ChargeResult, *, now: datetime) -> None:
    """Write a charge result onto the payment and the order (the caller commits)."""
    payment.gateway_ref = result.gateway_ref or payment.gateway_ref
    payment.updated_at = now
    if result.status is ChargeStatus.APPROVED:
        payment.status = PaymentStatus.APPROVED
        await transition(session, order, OrderStatus.PAID, reason="card approved", now=now)
    elif result.status is ChargeStatus.REQUIRES_ACTION:
        payment.status = PaymentStatus.REQUIRES_ACTION
        payment.details = {**payment.details, "challenge_url": result.challenge_url}
        if order.status != OrderStatus.REQUIRES_ACTION:
            await transition(session, order, OrderStatus.REQUIRES_ACTION, reason="3-D Secure",
                             now=now)
    elif result.status in (ChargeStatus.DECLINED, ChargeStatus.RETRYABLE_ERROR):
        payment.status = (PaymentStatus.DECLINED if result.status is ChargeStatus.DECLINED
                          else PaymentStatus.FAILED)
        payment.reason_code = result.reason_code or "processing_error"
        await transition(session, order, OrderStatus.FAILED, reason=payment.reason_code, now=now)
    # UNKNOWN: leave the payment pending and the order pending_payment for reconcile.


async def _after_outcome(session: AsyncSession, order: Order) -> None:
    """Tidy the conversation: a used card token is forgotten, a bought cart is emptied."""
    if order.conversation_id is None:
        return
    if order.payment_method == PaymentMethod.CARD and order.status != OrderStatus.PENDING_PAYMENT:
        await forget_card(session, order.conversation_id)  # gateway tokens are single-use
    # Only a purchase that went through empties the cart: after a failed 3-D Secure check or a
    # decline the shopper retries with another card and the same items.
    if order.status in SUCCESS_STATUSES:
        await clear_cart(session, order.conversation_id)
    if order.status == OrderStatus.FAILED and order.payment_method == PaymentMethod.AFTER_DELIVERY:
        conversation = await session.get(Conversation, order.conversation_id)
        if conversation is not None:
            conversation.payment_method = None  # rejected screening: ask for another method


async def place_and_pay(
    db: Database,
    gateway: PaymentGateway,
    *,
    conversation_id: str,
    quote_id: str,
    quote_hash: str,
    settings: CommerceSettings,
    policy: ChargePolicy | None = None,
    return_url: str | None = None,
) -> PaymentOutcome:
    """The shopper's confirm action: place the order and take the payment, exactly once."""
    policy = policy or ChargePolicy()
    now = utcnow()
    async with db.session() as session:
        placed = await confirm(session, conversation_id, quote_id, quote_hash, settings, now=now)
        order = placed.order
        if not placed.created:
            # A repeated confirm: report where the first one got to, and call nobody.
            return _outcome(order, await _payment_for(session, order.id), created=False)
        conversation = await session.get(Conversation, conversation_id)
        assert conversation is not None  # noqa: S101 - confirm checked it
        card_token = conversation.card_token
        payment = Payment(
            id=str(uuid.uuid4()), order_id=order.id, idempotency_key=idempotency_key(quote_id),
            method=order.payment_method, gateway=gateway.name, amount=order.total,
            currency=order.currency, status=PaymentStatus.PENDING,
            card_brand=conversation.card_brand if card_token else None,
            card_last4=conversation.card_last4 if card_token else None,
            details={}, created_at=now, updated_at=now,
        )
        session.add(payment)
        await session.commit()

    method = PaymentMethod(order.payment_method)
    try:
        if method is PaymentMethod.CARD:
            assert card_token is not None  # noqa: S101 - the quote required a card
            result = await _charge_with_retries(
                gateway, policy, order_id=order.id, amount=order.total, currency=order.currency,
                token=card_token, idempotency_key=payment.idempotency_key, return_url=return_url)
            if result.status is ChargeStatus.UNKNOWN:
                result = await _resolve_unknown(gateway, policy, order_id=order.id,
                                                key=payment.idempotency_key)
        else:
            result = None
            extra = await _deferred_or_store(gateway, order, payment, method)
    except GatewayError as exc:
        # Non-charge requests (screening, slips) move no money: the order fails cleanly.
        log.warning("gateway refused %s for order %s: %s", method.value, order.id, exc.code)
        result, extra = None, {"error": exc.code}

    async with db.session() as session:
        order = await get_order(session, order.id)
        payment = await session.get(Payment, payment.id) or payment
        now = utcnow()
        if method is PaymentMethod.CARD and result is not None:
            await _record_charge(session, order, payment, result, now=now)
        else:
            await _record_non_card(session, order, payment, extra, now=now)
        await _after_outcome(session, order)
        await session.commit()
        return _outcome(order, payment)


async def _deferred_or_store(gateway: PaymentGateway, order: Order, payment: Payment,
                             method: PaymentMethod) -> dict[str, Any]:
    buyer = _buyer(order.address)
    if method is PaymentMethod.AFTER_DELIVERY:
        screening = await gateway.screen_deferred(
            order_id=order.id, amount=order.total, buyer=buyer,
            idempotency_key=payment.idempotency_key)
        return {"screening": screening.status.value, "gateway_ref": screening.gateway_ref,
                "reason_code": screening.reason_code}
    slip = await gateway.create_konbini_slip(
        order_id=order.id, amount=order.total, buyer=buyer, store_chain="seven_eleven",
        idempotency_key=payment.idempotency_key)
    return {"slip": {"store_chain": slip.store_chain, "payment_number": slip.payment_number,
                     "confirmation_number": slip.confirmation_number,
                     "deadline": slip.deadline.isoformat(), "amount": slip.amount,
                     "instructions_url": slip.instructions_url},
            "gateway_ref": slip.gateway_ref}


async def _record_non_card(session: AsyncSession, order: Order, payment: Payment,
                           extra: dict[str, Any], *, now: datetime) -> None:
    payment.updated_at = now
    payment.gateway_ref = extra.get("gateway_ref") or payment.gateway_ref
    if "error" in extra:
        payment.status = PaymentStatus.FAILED
        payment.reason_code = str(extra["error"])
        await transition(session, order, OrderStatus.FAILED, reason=payment.reason_code, now=now)
    elif "slip" in extra:
        payment.status = PaymentStatus.SLIP_ISSUED
        payment.details = {"slip": extra["slip"]}
        await transition(session, order, OrderStatus.AWAITING_STORE_PAYMENT, reason="slip issued",
                         now=now)
    else:
        screening = ScreeningStatus(extra["screening"])
        payment.reason_code = extra.get("reason_code")
        target, status = {
            ScreeningStatus.APPROVED: (OrderStatus.DEFERRED_APPROVED,
                                       PaymentStatus.SCREENING_APPROVED),
            ScreeningStatus.REVIEW: (OrderStatus.AWAITING_SCREENING,
                                     PaymentStatus.SCREENING_REVIEW),
            ScreeningStatus.REJECTED: (OrderStatus.FAILED, PaymentStatus.SCREENING_REJECTED),
        }[screening]
        payment.status = status
        await transition(session, order, target, reason=f"screening {screening.value}", now=now)


async def complete_threeds(db: Database, gateway: PaymentGateway, *, conversation_id: str,
                           payment_id: str) -> PaymentOutcome:
    """After the shopper's 3-D Secure challenge: ask the gateway for the result and record it."""
    async with db.session() as session:
        payment = await session.get(Payment, payment_id)
        order = await get_order(session, payment.order_id) if payment else None
        if payment is None or order is None or order.conversation_id != conversation_id:
            raise NotFoundError("payment_not_found", "Payment not found.",
                                "お支払いが見つかりません。")
        if payment.status != PaymentStatus.REQUIRES_ACTION or not payment.gateway_ref:
            return _outcome(order, payment, created=False)
        ref = payment.gateway_ref
    result = await gateway.complete_3ds(gateway_ref=ref)
    if result.status in (ChargeStatus.RETRYABLE_ERROR, ChargeStatus.UNKNOWN):
        # The gateway could not be asked; nothing changed. The shopper (or reconcile) tries again.
        async with db.session() as session:
            order = await get_order(session, order.id)
            return _outcome(order, await session.get(Payment, payment_id), created=False)
    async with db.session() as session:
        order = await get_order(session, order.id)
        payment = await session.get(Payment, payment_id)
        assert payment is not None  # noqa: S101 - read above
        if payment.status == PaymentStatus.REQUIRES_ACTION:  # a concurrent call may have won
            if result.status is ChargeStatus.DECLINED and not result.reason_code:
                result = ChargeResult(ChargeStatus.DECLINED, gateway_ref=ref,
                                      reason_code="threeds_failed")
            await _record_charge(session, order, payment, result, now=utcnow())
            await _after_outcome(session, order)
            await session.commit()
        return _outcome(order, payment)


@dataclass
class ReconcileReport:
    checked: int = 0
    settled: dict[str, int] = field(default_factory=dict)
    still_pending: int = 0


async def reconcile(db: Database, gateway: PaymentGateway, *,
                    older_than: timedelta = timedelta(seconds=30)) -> ReconcileReport:
    """Settle every pending card payment from the gateway's records (after crashes or timeouts).

    `not_found` means the gateway never charged under the key: the order fails and nothing is owed.
    Payments younger than `older_than` are skipped, since their request may still be in flight.
    """
    report = ReconcileReport()
    cutoff = utcnow() - older_than
    async with db.session() as session:
        pending = (await session.scalars(
            select(Payment).where(Payment.status == PaymentStatus.PENDING,
                                  Payment.created_at <= cutoff))).all()
        rows = [(p.id, p.order_id, p.idempotency_key, p.method) for p in pending]
    for payment_id, order_id, key, method in rows:
        report.checked += 1
        try:
            found = await gateway.lookup(order_id=order_id, idempotency_key=key)
        except GatewayError:
            report.still_pending += 1
            continue
        result = {
            LookupStatus.APPROVED: ChargeResult(ChargeStatus.APPROVED, found.gateway_ref),
            LookupStatus.AUTHORIZED: ChargeResult(ChargeStatus.APPROVED, found.gateway_ref),
            LookupStatus.DECLINED: ChargeResult(ChargeStatus.DECLINED, found.gateway_ref,
                                                reason_code=found.reason_code),
            LookupStatus.REQUIRES_ACTION: ChargeResult(ChargeStatus.REQUIRES_ACTION,
                                                       found.gateway_ref),
            LookupStatus.NOT_FOUND: ChargeResult(ChargeStatus.RETRYABLE_ERROR,
                                                 reason_code="not_charged"),
        }.get(found.status)
        if result is None or method != PaymentMethod.CARD:
            report.still_pending += 1
            continue
        async with db.session() as session:
            order = await get_order(session, order_id)
            payment = await session.get(Payment, payment_id)
            if payment is None or payment.status != PaymentStatus.PENDING:
                continue
            await _record_charge(session, order, payment, result, now=utcnow())
            await _after_outcome(session, order)
            await session.commit()
        report.settled[found.status.value] = report.settled.get(found.status.value, 0) + 1
    return report
