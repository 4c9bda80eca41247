"""Payment after delivery (screening) and convenience-store slips, settled by signed webhooks."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select

from tests.shop_harness import Shop
from tools.checkout.orders import get_order
from tools.payments.charging import ChargePolicy, PaymentOutcome, place_and_pay
from tools.payments.gateway import WebhookVerificationError
from tools.payments.notifications import handle_webhook
from tools.payments.webhooks import sign
from tools.store.models import Conversation, Order, WebhookEventRecord


async def pay(shop: Shop, cid: str) -> PaymentOutcome:
    quote_id, quote_hash = await shop.quote(cid)
    return await place_and_pay(shop.db, shop.gateway, conversation_id=cid, quote_id=quote_id,
                               quote_hash=quote_hash, settings=shop.settings,
                               policy=ChargePolicy(wait_initial_s=0))


async def order_status(shop: Shop, order_id: str) -> str:
    async with shop.db.session() as session:
        return (await get_order(session, order_id)).status


async def deliver_latest(shop: Shop) -> str:
    outbound = shop.webhooks[-1]
    result = await handle_webhook(shop.db, shop.gateway, outbound.headers, outbound.body)
    return result.outcome


async def test_after_delivery_approved(shop: Shop) -> None:
    cid = await shop.ready_conversation(method="after_delivery")
    outcome = await pay(shop, cid)
    assert outcome.order_status == "deferred_approved"
    assert outcome.total == 3000 + 250
    assert shop.gateway.charge_keys == []  # no card charge for a deferred payment


async def test_after_delivery_review_then_approved_by_webhook(shop: Shop) -> None:
    cid = await shop.ready_conversation(method="after_delivery", name="Hanako HOLD Sato")
    outcome = await pay(shop, cid)
    assert outcome.order_status == "awaiting_screening"
    settle = await shop.sandbox.post(f"/sandbox/screenings/{_ref(outcome)}/settle",
                                     json={"result": "approved"})
    assert settle.status_code == 200, settle.text
    assert await deliver_latest(shop) == "applied"
    assert await order_status(shop, outcome.order_id) == "deferred_approved"


def _ref(outcome: PaymentOutcome) -> str:
    assert outcome.gateway_ref, outcome
    return outcome.gateway_ref


async def test_after_delivery_rejected_asks_for_another_method(shop: Shop) -> None:
    cid = await shop.ready_conversation(method="after_delivery", phone="090-1234-0000")
    outcome = await pay(shop, cid)
    assert outcome.order_status == "failed"
    assert outcome.payment_status == "screening_rejected"
    async with shop.db.session() as session:
        conversation = await session.get(Conversation, cid)
        assert conversation is not None and conversation.payment_method is None


async def test_konbini_slip_then_paid_once_despite_replays(shop: Shop) -> None:
    cid = await shop.ready_conversation(method="konbini")
    outcome = await pay(shop, cid)
    assert outcome.order_status == "awaiting_store_payment"
    slip = outcome.details["slip"]
    assert slip["payment_number"] and slip["confirmation_number"] and slip["deadline"]
    assert slip["amount"] == outcome.total == 3000 + 200

    paid = await shop.sandbox.post(f"/sandbox/konbini/{_ref(outcome)}/pay")
    assert paid.status_code == 200, paid.text
    assert await deliver_latest(shop) == "applied"
    assert await order_status(shop, outcome.order_id) == "paid"
    # The same event again (gateway re-delivery or an attacker's replay): nothing happens.
    assert await deliver_latest(shop) == "duplicate"
    async with shop.db.session() as session:
        assert await session.scalar(select(func.count()).select_from(WebhookEventRecord)) == 1


async def test_konbini_expired_cancels_and_restocks(shop: Shop) -> None:
    cid = await shop.ready_conversation(method="konbini")
    outcome = await pay(shop, cid)
    expired = await shop.sandbox.post(f"/sandbox/konbini/{_ref(outcome)}/expire")
    assert expired.status_code == 200, expired.text
    assert await deliver_latest(shop) == "applied"
    assert await order_status(shop, outcome.order_id) == "canceled"


async def test_forged_stale_and_tampered_webhooks_change_nothing(shop: Shop) -> None:
    cid = await shop.ready_conversation(method="konbini")
    outcome = await pay(shop, cid)
    await shop.sandbox.post(f"/sandbox/konbini/{_ref(outcome)}/pay")
    genuine = shop.webhooks[-1]

    tampered = genuine.body.replace(b'"konbini.paid"', b'"konbini.paid" ')
    forged_headers = sign(genuine.body, "whsec_wrong", int(genuine.event.created_at.timestamp()))
    stale_headers = sign(genuine.body, "whsec_test_flow",
                         int(genuine.event.created_at.timestamp()) - 3600)
    attempts = [
        (genuine.headers, tampered),
        (forged_headers, genuine.body),
        (stale_headers, genuine.body),
        ({}, genuine.body),
        (genuine.headers, b"not json"),
    ]
    for headers, body in attempts:
        with pytest.raises(WebhookVerificationError):
            await handle_webhook(shop.db, shop.gateway, headers, body)
    assert await order_status(shop, outcome.order_id) == "awaiting_store_payment"
    async with shop.db.session() as session:
        assert await session.scalar(select(func.count()).select_from(WebhookEventRecord)) == 0


async def test_webhook_with_a_wrong_amount_is_ignored(shop: Shop) -> None:
    cid = await shop.ready_conversation(method="konbini")
    outcome = await pay(shop, cid)
    await shop.sandbox.post(f"/sandbox/konbini/{_ref(outcome)}/pay")
    genuine = shop.webhooks[-1]
    event = json.loads(genuine.body)
    event["id"] = event["id"] + "-x"
    event.setdefault("data", {})["amount"] = 1
    body = json.dumps(event).encode()
    headers = sign(body, "whsec_test_flow", int(genuine.event.created_at.timestamp()))
    result = await handle_webhook(shop.db, shop.gateway, headers, body)
    assert result.outcome == "ignored:amount_mismatch"
    assert await order_status(shop, outcome.order_id) == "awaiting_store_payment"
    async with shop.db.session() as session:
        assert await session.scalar(select(func.count()).select_from(Order)) == 1
