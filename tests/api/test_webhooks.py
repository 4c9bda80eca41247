"""The merchant's webhook endpoint over HTTP: a store payment arrives, once; forgeries are refused."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from agent.testing import ScriptedModel
from api.app import create_app
from tests.shop_harness import Shop
from tools.checkout.orders import get_order
from tools.payments.charging import place_and_pay
from tools.settings import CommerceSettings


@pytest.fixture
async def merchant(shop: Shop) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(commerce=CommerceSettings(), database=shop.db, gateway=shop.gateway,
                     model=ScriptedModel([]))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                 base_url="http://testserver") as client:
        yield client


async def test_store_payment_webhook_marks_the_order_paid_once(
    shop: Shop, merchant: httpx.AsyncClient
) -> None:
    cid = await shop.ready_conversation(method="konbini")
    quote_id, quote_hash = await shop.quote(cid)
    outcome = await place_and_pay(shop.db, shop.gateway, conversation_id=cid, quote_id=quote_id,
                                  quote_hash=quote_hash, settings=shop.settings)
    assert outcome.order_status == "awaiting_store_payment" and outcome.gateway_ref
    await shop.sandbox.post(f"/sandbox/konbini/{outcome.gateway_ref}/pay")
    event = shop.webhooks[-1]

    tampered = await merchant.post("/api/webhooks/gateway", content=event.body + b" ",
                                   headers=event.headers)
    assert tampered.status_code == 400
    assert tampered.json()["error"]["code"] == "bad_signature"

    first = await merchant.post("/api/webhooks/gateway", content=event.body,
                                headers=event.headers)
    assert first.status_code == 200 and first.json()["outcome"] == "applied"
    replay = await merchant.post("/api/webhooks/gateway", content=event.body,
                                 headers=event.headers)
    assert replay.status_code == 200 and replay.json()["outcome"] == "duplicate"
    async with shop.db.session() as session:
        assert (await get_order(session, outcome.order_id)).status == "paid"


async def test_oversized_and_unsigned_webhooks_are_refused(merchant: httpx.AsyncClient) -> None:
    huge = await merchant.post("/api/webhooks/gateway", content=b"x" * (65 * 1024))
    assert huge.status_code == 413
    unsigned = await merchant.post("/api/webhooks/gateway", json={"type": "konbini.paid"})
    assert unsigned.status_code == 400
