"""Gateway webhooks: convenience-store payments and screening results that arrive after the chat.

A webhook is acted on only if its signature and timestamp verify (the gateway adapter checks them),
and only once: its event id is recorded in `webhook_events` in the same transaction as its effect, so
a replayed or re-delivered event changes nothing. An event that does not fit the order (wrong amount,
order in another state) is recorded with its outcome and ignored, never half-applied.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from tools.checkout.order_status import OrderStatus, can_transition
from tools.checkout.orders import get_order, transition
from tools.errors import NotFoundError
from tools.payments.charging import PaymentStatus
from tools.payments.gateway import PaymentGateway, WebhookEvent
from tools.store.db import Database
from tools.store.models import Payment, WebhookEventRecord, utcnow

log = logging.getLogger(__name__)

#: event type -> (order status it leads to, payment status it records)
_EFFECTS: dict[str, tuple[OrderStatus, PaymentStatus]] = {
    "konbini.paid": (OrderStatus.PAID, PaymentStatus.STORE_PAID),
    "konbini.expired": (OrderStatus.CANCELED, PaymentStatus.EXPIRED),
    "screening.approved": (OrderStatus.DEFERRED_APPROVED, PaymentStatus.SCREENING_APPROVED),
    "screening.rejected": (OrderStatus.FAILED, PaymentStatus.SCREENING_REJECTED),
}


@dataclass(frozen=True)
class WebhookResult:
    event_id: str
    outcome: str  # applied | duplicate | ignored:<why>


async def handle_webhook(db: Database, gateway: PaymentGateway, headers: dict[str, str],
                         body: bytes) -> WebhookResult:
    """Verify and apply one webhook. Raises WebhookVerificationError for a bad one (answer 400)."""
    event = await gateway.confirm_webhook(gateway.verify_webhook(headers, body))
    async with db.session() as session:
        if await session.get(WebhookEventRecord, event.id) is not None:
            return WebhookResult(event.id, "duplicate")
        outcome = await _apply(session, event)
        session.add(WebhookEventRecord(id=event.id, gateway=gateway.name, type=event.type,
                                       order_id=event.order_id, outcome=outcome,
                                       received_at=utcnow()))
        try:
            await session.commit()
        except IntegrityError:  # the same event delivered twice at once: the other one won
            await session.rollback()
            return WebhookResult(event.id, "duplicate")
    log.info("webhook %s %s for order %s: %s", event.id, event.type, event.order_id, outcome)
    return WebhookResult(event.id, outcome)


async def _apply(session: AsyncSession, event: WebhookEvent) -> str:
    effect = _EFFECTS.get(event.type)
    if effect is None:
        return "ignored:unknown_type"
    target, payment_status = effect
    # Gateways name the payment by their own reference (GMO's order id cannot hold ours), so the
    # payment is found by that reference first and by our order id otherwise.
    refs = [ref for ref in (event.gateway_ref, event.order_id) if ref]
    payment = await session.scalar(
        select(Payment).where(Payment.gateway_ref.in_(refs)).order_by(Payment.created_at.desc())
        .limit(1))
    if payment is None:
        payment = await session.scalar(
            select(Payment).where(Payment.order_id == event.order_id)
            .order_by(Payment.created_at.desc()).limit(1))
    if payment is None:
        return "ignored:unknown_payment"
    try:
        order = await get_order(session, payment.order_id)
    except NotFoundError:
        return "ignored:unknown_order"
    amount = event.data.get("amount")
    if target is OrderStatus.PAID and amount is not None and int(amount) != payment.amount:
        log.warning("webhook %s amount %s differs from payment %s", event.id, amount,
                    payment.amount)
        return "ignored:amount_mismatch"
    if not can_transition(OrderStatus(order.status), target):
        return f"ignored:order_is_{order.status}"
    payment.status = payment_status
    payment.updated_at = utcnow()
    await transition(session, order, target, reason=event.type)
    return "applied"
