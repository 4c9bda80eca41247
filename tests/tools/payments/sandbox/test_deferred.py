"""Payment after delivery (screening) and convenience-store slips, with their signed webhooks."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
import pytest

from tools.payments.gateway import Buyer, GatewayError, ScreeningStatus, WebhookVerificationError
from tools.payments.sandbox import ManualClock, SandboxGateway
from tools.payments.sandbox.records import OutboundEvent


def _buyer(name: str = "Hanako Yamada", phone: str = "090-1234-5678") -> Buyer:
    return Buyer(
        name=name,
        postal_code="150-0002",
        address="東京都渋谷区渋谷2-1-1",
        phone=phone,
        email="hanako@example.jp",
    )


@pytest.mark.parametrize(
    ("amount", "buyer", "status", "reason"),
    [
        (55000, _buyer(), ScreeningStatus.APPROVED, None),
        (55001, _buyer(), ScreeningStatus.REJECTED, "limit_exceeded"),
        (3000, _buyer(phone="03-1234-0000"), ScreeningStatus.REJECTED, "screening_rejected"),
        (3000, _buyer(name="Taro Hold"), ScreeningStatus.REVIEW, None),
        (3000, _buyer(name="hOLDen Caulfield"), ScreeningStatus.REVIEW, None),
        (99999, _buyer(name="HOLD"), ScreeningStatus.REJECTED, "limit_exceeded"),
    ],
)
async def test_screening_rules(
    gateway: SandboxGateway, amount: int, buyer: Buyer, status: ScreeningStatus, reason: str | None
) -> None:
    result = await gateway.screen_deferred(
        order_id="o-1", amount=amount, buyer=buyer, idempotency_key="s-1"
    )
    assert (result.status, result.reason_code) == (status, reason)
    assert result.gateway_ref


async def test_screening_is_idempotent_per_key(gateway: SandboxGateway) -> None:
    first = await gateway.screen_deferred(
        order_id="o-1", amount=3000, buyer=_buyer(), idempotency_key="s-1"
    )
    assert (
        await gateway.screen_deferred(
            order_id="o-1", amount=3000, buyer=_buyer(), idempotency_key="s-1"
        )
        == first
    )
    with pytest.raises(GatewayError) as caught:
        await gateway.screen_deferred(
            order_id="o-1", amount=3000, buyer=_buyer(name="Someone Else"), idempotency_key="s-1"
        )
    assert caught.value.code == "idempotency_conflict"


async def test_review_settles_by_signed_webhook(
    gateway: SandboxGateway, merchant: httpx.AsyncClient, sent_webhooks: list[OutboundEvent]
) -> None:
    held = await gateway.screen_deferred(
        order_id="o-7", amount=3000, buyer=_buyer("HOLD me"), idempotency_key="s-1"
    )
    assert held.status is ScreeningStatus.REVIEW

    response = await merchant.post(
        f"/sandbox/screenings/{held.gateway_ref}/settle", json={"result": "rejected"}
    )
    assert response.status_code == 200
    [sent] = sent_webhooks
    event = gateway.verify_webhook(sent.headers, sent.body)
    assert (event.type, event.order_id, event.gateway_ref) == (
        "screening.rejected",
        "o-7",
        held.gateway_ref,
    )
    assert event.data["reason_code"] == "screening_rejected"

    again = await merchant.post(
        f"/sandbox/screenings/{held.gateway_ref}/settle", json={"result": "approved"}
    )
    assert again.status_code == 409


async def test_konbini_slip_deadline_is_end_of_the_third_day_in_tokyo(
    gateway: SandboxGateway, clock: ManualClock
) -> None:
    # 2030-01-15 20:00 UTC is already 2030-01-16 in Tokyo.
    clock.now = datetime(2030, 1, 15, 20, 0, tzinfo=UTC)
    slip = await gateway.create_konbini_slip(
        order_id="o-1", amount=2640, buyer=_buyer(), store_chain="lawson", idempotency_key="kb-1"
    )
    assert slip.deadline == datetime(2030, 1, 19, 14, 59, 59, tzinfo=UTC)  # 23:59:59 JST
    assert (slip.store_chain, slip.amount) == ("lawson", 2640)
    assert slip.payment_number.isdigit() and slip.confirmation_number.isdigit()


async def test_konbini_slip_is_idempotent_and_checks_the_chain(gateway: SandboxGateway) -> None:
    args = {
        "order_id": "o-1",
        "amount": 2640,
        "buyer": _buyer(),
        "store_chain": "familymart",
        "idempotency_key": "kb-1",
    }
    first = await gateway.create_konbini_slip(**args)  # type: ignore[arg-type]
    assert await gateway.create_konbini_slip(**args) == first  # type: ignore[arg-type]
    with pytest.raises(GatewayError) as caught:
        await gateway.create_konbini_slip(
            **{
                **args,
                "store_chain": "daily_yamazaki",  # type: ignore[arg-type]
                "idempotency_key": "kb-2",
            }
        )
    assert (caught.value.code, caught.value.status_code) == ("invalid_store_chain", 400)


async def test_paying_a_slip_emits_a_verifiable_konbini_paid(
    gateway: SandboxGateway,
    merchant: httpx.AsyncClient,
    clock: ManualClock,
    sent_webhooks: list[OutboundEvent],
) -> None:
    slip = await gateway.create_konbini_slip(
        order_id="o-1",
        amount=2640,
        buyer=_buyer(),
        store_chain="seven_eleven",
        idempotency_key="kb-1",
    )
    clock.advance(3600)

    response = await merchant.post(f"/sandbox/konbini/{slip.gateway_ref}/pay")

    assert response.status_code == 200
    [sent] = sent_webhooks
    assert sent.url == "http://merchant.test/api/webhooks/gateway"
    event = gateway.verify_webhook(sent.headers, sent.body)
    assert (event.type, event.order_id, event.gateway_ref) == (
        "konbini.paid",
        "o-1",
        slip.gateway_ref,
    )
    assert event.data["amount"] == 2640
    assert event.created_at == clock.now

    # The same bytes are listed for replay, and a second payment is refused.
    listed = (await merchant.get("/sandbox/webhooks")).json()["data"]
    assert [(e["id"], e["body"], e["headers"]) for e in listed] == [
        (event.id, sent.body.decode(), sent.headers)
    ]
    assert (await merchant.post(f"/sandbox/konbini/{slip.gateway_ref}/pay")).status_code == 409

    # Five minutes later the same delivery no longer verifies (replay window closed).
    clock.advance(301)
    with pytest.raises(WebhookVerificationError) as stale:
        gateway.verify_webhook(sent.headers, sent.body)
    assert stale.value.code == "stale_timestamp"


async def test_expiring_a_slip_emits_konbini_expired_and_blocks_payment(
    gateway: SandboxGateway, merchant: httpx.AsyncClient, sent_webhooks: list[OutboundEvent]
) -> None:
    slip = await gateway.create_konbini_slip(
        order_id="o-1", amount=500, buyer=_buyer(), store_chain="ministop", idempotency_key="kb-1"
    )
    assert (await merchant.post(f"/sandbox/konbini/{slip.gateway_ref}/expire")).status_code == 200
    assert (
        gateway.verify_webhook(sent_webhooks[0].headers, sent_webhooks[0].body).type
        == "konbini.expired"
    )
    assert (await merchant.post(f"/sandbox/konbini/{slip.gateway_ref}/pay")).status_code == 409


async def test_paying_after_the_deadline_is_refused(
    gateway: SandboxGateway,
    merchant: httpx.AsyncClient,
    clock: ManualClock,
    sent_webhooks: list[OutboundEvent],
) -> None:
    slip = await gateway.create_konbini_slip(
        order_id="o-1", amount=500, buyer=_buyer(), store_chain="seicomart", idempotency_key="kb-1"
    )
    clock.now = slip.deadline.replace(second=59, microsecond=1)
    response = await merchant.post(f"/sandbox/konbini/{slip.gateway_ref}/pay")
    assert (response.status_code, response.json()["error"]["code"]) == (409, "slip_expired")
    assert sent_webhooks == []


async def test_tampered_webhook_is_rejected_by_the_adapter(
    gateway: SandboxGateway, merchant: httpx.AsyncClient, sent_webhooks: list[OutboundEvent]
) -> None:
    slip = await gateway.create_konbini_slip(
        order_id="o-1", amount=500, buyer=_buyer(), store_chain="lawson", idempotency_key="kb-1"
    )
    await merchant.post(f"/sandbox/konbini/{slip.gateway_ref}/pay")
    sent = sent_webhooks[0]
    with pytest.raises(WebhookVerificationError) as caught:
        gateway.verify_webhook(sent.headers, sent.body.replace(b"o-1", b"o-2"))
    assert caught.value.code == "bad_signature"
