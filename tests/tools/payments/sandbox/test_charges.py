"""Charging through `SandboxGateway`: every test card, idempotency, tokens, capture/void/refund."""

from __future__ import annotations

import httpx
import pytest

from tests.tools.payments.sandbox.conftest import UNKNOWN_CARD, Shopper
from tools.payments.gateway import ChargeStatus, GatewayError, LookupStatus
from tools.payments.sandbox import ManualClock, SandboxGateway

CARD_OUTCOMES = [
    ("4242424242424242", ChargeStatus.APPROVED, None),
    ("4111111111111111", ChargeStatus.APPROVED, None),
    ("5555555555554444", ChargeStatus.APPROVED, None),
    ("2223003122003222", ChargeStatus.APPROVED, None),
    ("3530111333300000", ChargeStatus.APPROVED, None),
    ("378282246310005", ChargeStatus.APPROVED, None),
    ("4000000000000002", ChargeStatus.DECLINED, "card_declined"),
    ("4000000000009995", ChargeStatus.DECLINED, "insufficient_funds"),
    ("4000000000000069", ChargeStatus.DECLINED, "expired_card"),
    ("4000000000000127", ChargeStatus.DECLINED, "incorrect_cvc"),
    ("4000000000000119", ChargeStatus.RETRYABLE_ERROR, "processing_error"),
    ("4000002500003155", ChargeStatus.REQUIRES_ACTION, None),
    (UNKNOWN_CARD, ChargeStatus.DECLINED, "unknown_card"),
]


async def _ledger(merchant: httpx.AsyncClient) -> list[dict[str, object]]:
    response = await merchant.get("/sandbox/charges")
    assert response.status_code == 200
    data: list[dict[str, object]] = response.json()["data"]
    return data


@pytest.mark.parametrize(("number", "status", "reason"), CARD_OUTCOMES)
async def test_every_test_card_charges_as_documented(
    shopper: Shopper,
    gateway: SandboxGateway,
    merchant: httpx.AsyncClient,
    number: str,
    status: ChargeStatus,
    reason: str | None,
) -> None:
    token = await shopper.token(number)
    assert token.last4 == number[-4:]

    result = await gateway.charge(
        order_id="o-1", amount=2640, currency="JPY", token=token.token, idempotency_key="k-1"
    )

    assert result.status is status
    assert result.reason_code == reason
    ledger = await _ledger(merchant)
    if status is ChargeStatus.RETRYABLE_ERROR:
        assert ledger == []  # nothing charged
    else:
        assert result.gateway_ref and len(ledger) == 1
        assert result.amount == 2640
    if status is ChargeStatus.REQUIRES_ACTION:
        assert result.challenge_url == f"http://127.0.0.1:8001/3ds/{result.gateway_ref}"
    else:
        assert result.challenge_url is None


async def test_same_key_replays_the_stored_result_without_charging_again(
    shopper: Shopper, gateway: SandboxGateway, merchant: httpx.AsyncClient
) -> None:
    token = await shopper.token()
    args = {
        "order_id": "o-1",
        "amount": 2640,
        "currency": "JPY",
        "token": token.token,
        "idempotency_key": "quote-abc",
    }

    first = await gateway.charge(**args)  # type: ignore[arg-type]
    second = await gateway.charge(**args)  # type: ignore[arg-type]

    assert first.status is ChargeStatus.APPROVED
    assert second == first
    ledger = await _ledger(merchant)
    assert [(c["ref"], c["state"]) for c in ledger] == [(first.gateway_ref, "captured")]


async def test_replayed_decline_stays_declined(
    shopper: Shopper, gateway: SandboxGateway, merchant: httpx.AsyncClient
) -> None:
    token = await shopper.token("4000000000009995")
    args = {
        "order_id": "o-1",
        "amount": 100,
        "currency": "JPY",
        "token": token.token,
        "idempotency_key": "k",
    }
    first = await gateway.charge(**args)  # type: ignore[arg-type]
    second = await gateway.charge(**args)  # type: ignore[arg-type]
    assert first == second
    assert second.reason_code == "insufficient_funds"
    assert len(await _ledger(merchant)) == 1


@pytest.mark.parametrize(
    "change", [{"amount": 2641}, {"order_id": "o-2"}, {"token": "other"}, {"currency": "USD"}]
)
async def test_same_key_for_a_different_charge_is_a_conflict(
    shopper: Shopper,
    gateway: SandboxGateway,
    merchant: httpx.AsyncClient,
    change: dict[str, object],
) -> None:
    token = await shopper.token()
    args: dict[str, object] = {
        "order_id": "o-1",
        "amount": 2640,
        "currency": "JPY",
        "token": token.token,
        "idempotency_key": "k-1",
    }
    await gateway.charge(**args)  # type: ignore[arg-type]

    with pytest.raises(GatewayError) as caught:
        await gateway.charge(**{**args, **change})  # type: ignore[arg-type]

    assert caught.value.code == "idempotency_conflict"
    assert caught.value.status_code == 409
    assert len(await _ledger(merchant)) == 1


async def test_raw_conflicting_replay_answers_409(
    shopper: Shopper, merchant: httpx.AsyncClient
) -> None:
    token = await shopper.token()
    body = {
        "order_id": "o-1",
        "amount": 500,
        "currency": "JPY",
        "token": token.token,
        "idempotency_key": "k",
    }
    assert (await merchant.post("/v1/charges", json=body)).status_code == 201
    replay = await merchant.post("/v1/charges", json=body)
    assert replay.status_code == 200 and replay.headers["Idempotent-Replayed"] == "true"
    conflict = await merchant.post("/v1/charges", json={**body, "amount": 501})
    assert conflict.status_code == 409
    assert conflict.json()["error"]["code"] == "idempotency_conflict"


async def test_a_token_charges_once(
    shopper: Shopper, gateway: SandboxGateway, merchant: httpx.AsyncClient
) -> None:
    token = await shopper.token()
    first = await gateway.charge(
        order_id="o-1", amount=100, currency="JPY", token=token.token, idempotency_key="k-1"
    )
    second = await gateway.charge(
        order_id="o-1", amount=100, currency="JPY", token=token.token, idempotency_key="k-2"
    )
    assert first.status is ChargeStatus.APPROVED
    assert (second.status, second.reason_code) == (ChargeStatus.DECLINED, "token_invalid")
    states = [c["state"] for c in await _ledger(merchant)]
    assert states == ["captured", "declined"]


async def test_an_expired_token_is_declined(
    shopper: Shopper, gateway: SandboxGateway, clock: ManualClock
) -> None:
    token = await shopper.token()
    clock.advance(1800)  # token_ttl_seconds
    result = await gateway.charge(
        order_id="o-1", amount=100, currency="JPY", token=token.token, idempotency_key="k-1"
    )
    assert (result.status, result.reason_code) == (ChargeStatus.DECLINED, "token_invalid")


async def test_an_unknown_token_is_declined(gateway: SandboxGateway) -> None:
    result = await gateway.charge(
        order_id="o-1", amount=100, currency="JPY", token="tok_nope", idempotency_key="k-1"
    )
    assert (result.status, result.reason_code) == (ChargeStatus.DECLINED, "token_invalid")


async def test_processing_error_keeps_failing_with_the_same_key_and_charges_nothing(
    shopper: Shopper, gateway: SandboxGateway, merchant: httpx.AsyncClient
) -> None:
    token = await shopper.token("4000000000000119")
    args = {
        "order_id": "o-1",
        "amount": 100,
        "currency": "JPY",
        "token": token.token,
        "idempotency_key": "k-1",
    }
    results = [await gateway.charge(**args) for _ in range(3)]  # type: ignore[arg-type]
    assert {r.status for r in results} == {ChargeStatus.RETRYABLE_ERROR}
    assert await _ledger(merchant) == []
    assert (await gateway.lookup(order_id="o-1", idempotency_key="k-1")).status is (
        LookupStatus.NOT_FOUND
    )
    # The token was not consumed: nothing was charged.
    assert (await gateway.token_info(token.token)).last4 == "0119"


async def test_lookup_reports_what_happened(shopper: Shopper, gateway: SandboxGateway) -> None:
    assert (await gateway.lookup(order_id="o-1", idempotency_key="k-1")).status is (
        LookupStatus.NOT_FOUND
    )
    token = await shopper.token()
    charged = await gateway.charge(
        order_id="o-1", amount=700, currency="JPY", token=token.token, idempotency_key="k-1"
    )
    found = await gateway.lookup(order_id="o-1", idempotency_key="k-1")
    assert (found.status, found.gateway_ref, found.amount) == (
        LookupStatus.APPROVED,
        charged.gateway_ref,
        700,
    )
    # A key is only found under its own order.
    assert (await gateway.lookup(order_id="o-2", idempotency_key="k-1")).status is (
        LookupStatus.NOT_FOUND
    )


async def test_refunds_partial_then_full_once_per_key(
    shopper: Shopper, gateway: SandboxGateway
) -> None:
    token = await shopper.token()
    charged = await gateway.charge(
        order_id="o-1", amount=1000, currency="JPY", token=token.token, idempotency_key="k-1"
    )
    ref = charged.gateway_ref
    assert ref

    part = await gateway.refund(gateway_ref=ref, amount=300, idempotency_key="r-1")
    again = await gateway.refund(gateway_ref=ref, amount=300, idempotency_key="r-1")
    assert (part.status, part.amount) == (ChargeStatus.APPROVED, 300)
    assert again == part
    assert (await gateway.lookup(order_id="o-1", idempotency_key="k-1")).status is (
        LookupStatus.APPROVED
    )

    with pytest.raises(GatewayError) as too_much:
        await gateway.refund(gateway_ref=ref, amount=701, idempotency_key="r-2")
    assert too_much.value.code == "invalid_amount"
    with pytest.raises(GatewayError) as conflict:
        await gateway.refund(gateway_ref=ref, amount=200, idempotency_key="r-1")
    assert conflict.value.code == "idempotency_conflict"

    rest = await gateway.refund(gateway_ref=ref, amount=700, idempotency_key="r-2")
    assert rest.amount == 700
    assert (await gateway.lookup(order_id="o-1", idempotency_key="k-1")).status is (
        LookupStatus.REFUNDED
    )


async def test_void_cancels_a_charge_and_refuses_a_declined_one(
    shopper: Shopper, gateway: SandboxGateway
) -> None:
    token = await shopper.token()
    charged = await gateway.charge(
        order_id="o-1", amount=1000, currency="JPY", token=token.token, idempotency_key="k-1"
    )
    assert charged.gateway_ref
    voided = await gateway.void(gateway_ref=charged.gateway_ref)
    assert voided.status is ChargeStatus.APPROVED
    assert (await gateway.void(gateway_ref=charged.gateway_ref)) == voided  # idempotent
    assert (await gateway.lookup(order_id="o-1", idempotency_key="k-1")).status is (
        LookupStatus.VOIDED
    )
    with pytest.raises(GatewayError) as refund_voided:
        await gateway.refund(gateway_ref=charged.gateway_ref, amount=1, idempotency_key="r")
    assert refund_voided.value.code == "invalid_state"

    declined_token = await shopper.token("4000000000000002")
    declined = await gateway.charge(
        order_id="o-2",
        amount=1000,
        currency="JPY",
        token=declined_token.token,
        idempotency_key="k-2",
    )
    assert declined.gateway_ref
    with pytest.raises(GatewayError) as caught:
        await gateway.void(gateway_ref=declined.gateway_ref)
    assert (caught.value.code, caught.value.status_code) == ("invalid_state", 409)


async def test_authorise_then_capture(
    shopper: Shopper, gateway: SandboxGateway, merchant: httpx.AsyncClient
) -> None:
    token = await shopper.token()
    response = await merchant.post(
        "/v1/charges",
        json={
            "order_id": "o-1",
            "amount": 1000,
            "currency": "JPY",
            "token": token.token,
            "idempotency_key": "k-1",
            "capture": False,
        },
    )
    assert response.json()["status"] == "approved"
    assert response.json()["state"] == "authorized"
    ref = response.json()["ref"]
    assert (await gateway.lookup(order_id="o-1", idempotency_key="k-1")).status is (
        LookupStatus.AUTHORIZED
    )

    with pytest.raises(GatewayError) as over:
        await gateway.capture(gateway_ref=ref, amount=1001)
    assert over.value.code == "invalid_amount"
    captured = await gateway.capture(gateway_ref=ref, amount=800)
    assert (captured.status, captured.amount) == (ChargeStatus.APPROVED, 800)
    assert await gateway.capture(gateway_ref=ref, amount=800) == captured  # idempotent
    assert (await gateway.lookup(order_id="o-1", idempotency_key="k-1")).status is (
        LookupStatus.APPROVED
    )


async def test_unknown_charge_ref_is_not_found(gateway: SandboxGateway) -> None:
    with pytest.raises(GatewayError) as caught:
        await gateway.refund(gateway_ref="ch_missing", amount=1, idempotency_key="r")
    assert (caught.value.code, caught.value.status_code) == ("not_found", 404)


@pytest.mark.parametrize(
    "body",
    [
        {"amount": 0},
        {"amount": -5},
        {"amount": 1.5},
        {"amount": "100"},
        {"currency": "jpy"},
        {"return_url": "javascript:alert(1)"},
        {"order_id": ""},
    ],
)
async def test_bad_charge_input_is_a_400_naming_the_field(
    merchant: httpx.AsyncClient, body: dict[str, object]
) -> None:
    base = {
        "order_id": "o-1",
        "amount": 100,
        "currency": "JPY",
        "token": "tok_x",
        "idempotency_key": "k",
    }
    response = await merchant.post("/v1/charges", json={**base, **body})
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid_request"
    assert error["fields"] == list(body)
