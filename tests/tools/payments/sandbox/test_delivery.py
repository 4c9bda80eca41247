"""Webhook delivery: retries, failure recording, and an in-process merchant that verifies."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from tests.tools.payments.sandbox.conftest import API_KEY, BASE_URL, WEBHOOK_SECRET
from tools.payments import webhooks
from tools.payments.gateway import Buyer, WebhookEvent, WebhookVerificationError
from tools.payments.sandbox import ManualClock, SandboxGateway, SandboxSettings, create_app
from tools.payments.sandbox.delivery import HttpWebhookSender, dispatch
from tools.payments.sandbox.records import OutboundEvent

BUYER = Buyer(
    name="Hanako Yamada",
    postal_code="150-0002",
    address="Tokyo",
    phone="0312345678",
    email="h@example.jp",
)


def _outbound(url: str | None = "http://merchant.test/hook") -> OutboundEvent:
    event = WebhookEvent(
        id="evt_1",
        type="konbini.paid",
        order_id="o-1",
        gateway_ref="kb_1",
        created_at=datetime(2030, 1, 15, tzinfo=UTC),
        data={},
    )
    body = webhooks.encode_event(event)
    return OutboundEvent(event=event, body=body, headers=webhooks.sign(body, "s", 1), url=url)


async def test_dispatch_retries_then_records_success() -> None:
    calls: list[int] = []
    waits: list[float] = []

    async def flaky(outbound: OutboundEvent) -> None:
        calls.append(1)
        if len(calls) < 3:
            raise ConnectionError("merchant down")

    async def sleep(seconds: float) -> None:
        waits.append(seconds)

    outbound = _outbound()
    await dispatch(outbound, flaky, attempts=3, sleep=sleep)
    assert (outbound.delivered, outbound.attempts, outbound.last_error) == (True, 3, None)
    assert waits == [0.5, 2.0]


async def test_dispatch_gives_up_without_raising_and_records_why() -> None:
    async def down(outbound: OutboundEvent) -> None:
        raise ConnectionError("merchant down")

    async def sleep(seconds: float) -> None:
        return None

    outbound = _outbound()
    await dispatch(outbound, down, attempts=2, sleep=sleep)
    assert (outbound.delivered, outbound.attempts) == (False, 2)
    assert outbound.last_error == "ConnectionError: merchant down"


async def test_http_sender_treats_non_2xx_as_failure() -> None:
    sender = HttpWebhookSender(transport=httpx.MockTransport(lambda r: httpx.Response(400)))
    with pytest.raises(Exception, match="HTTP 400"):
        await sender(_outbound())


async def test_events_reach_an_in_process_merchant_verbatim_and_verify() -> None:
    clock = ManualClock()
    received: list[WebhookEvent] = []
    checker = SandboxGateway(BASE_URL, API_KEY, WEBHOOK_SECRET, clock=clock)

    async def hook(request: Request) -> JSONResponse:
        try:
            event = checker.verify_webhook(dict(request.headers), await request.body())
        except WebhookVerificationError as exc:
            return JSONResponse({"error": exc.code}, status_code=400)
        received.append(event)
        return JSONResponse({"ok": True})

    merchant_app = Starlette(routes=[Route("/api/webhooks/gateway", hook, methods=["POST"])])
    settings = SandboxSettings(
        public_url=BASE_URL,
        api_key=API_KEY,
        webhook_secret=WEBHOOK_SECRET,
        webhook_url="http://merchant.test/api/webhooks/gateway",
    )
    sandbox = create_app(
        settings,
        clock=clock,
        send_webhook=HttpWebhookSender(transport=httpx.ASGITransport(app=merchant_app)),
    )

    async with SandboxGateway(
        BASE_URL, API_KEY, WEBHOOK_SECRET, clock=clock, transport=httpx.ASGITransport(app=sandbox)
    ) as gateway:
        slip = await gateway.create_konbini_slip(
            order_id="o-9", amount=1200, buyer=BUYER, store_chain="lawson", idempotency_key="kb"
        )
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=sandbox),
            base_url=BASE_URL,
            headers={"Authorization": f"Bearer {API_KEY}"},
        ) as admin:
            await admin.post(f"/sandbox/konbini/{slip.gateway_ref}/pay")
            listed = (await admin.get("/sandbox/webhooks")).json()["data"]
    await checker.aclose()

    assert [(e.type, e.order_id, e.data["amount"]) for e in received] == [
        ("konbini.paid", "o-9", 1200)
    ]
    assert listed[0]["delivered"] is True and listed[0]["attempts"] == 1


async def test_without_a_webhook_url_events_are_only_listed(clock: ManualClock) -> None:
    sent: list[OutboundEvent] = []

    async def capture(outbound: OutboundEvent) -> None:
        sent.append(outbound)

    settings = SandboxSettings(api_key=API_KEY, webhook_url="")
    sandbox = create_app(settings, clock=clock, send_webhook=capture)
    async with SandboxGateway(
        BASE_URL,
        API_KEY,
        "whsec_sandbox_local",
        clock=clock,
        transport=httpx.ASGITransport(app=sandbox),
    ) as gateway:
        slip = await gateway.create_konbini_slip(
            order_id="o-9", amount=1200, buyer=BUYER, store_chain="lawson", idempotency_key="kb"
        )
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=sandbox),
            base_url=BASE_URL,
            headers={"Authorization": f"Bearer {API_KEY}"},
        ) as admin:
            await admin.post(f"/sandbox/konbini/{slip.gateway_ref}/expire")
            listed = (await admin.get("/sandbox/webhooks")).json()["data"]
    assert sent == []
    assert [(e["type"], e["url"], e["attempts"]) for e in listed] == [("konbini.expired", None, 0)]
