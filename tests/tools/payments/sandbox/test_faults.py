"""Fault injection and the adapter's mapping of every way a call can end (exactly-once charging)."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest

from tests.tools.payments.sandbox.conftest import API_KEY, BASE_URL, WEBHOOK_SECRET, Shopper
from tools.payments.gateway import ChargeStatus, GatewayError, LookupStatus
from tools.payments.sandbox import SandboxGateway

CHARGE = {"order_id": "o-1", "amount": 2640, "currency": "JPY", "idempotency_key": "k-1"}


async def _ledger_size(merchant: httpx.AsyncClient) -> int:
    return len((await merchant.get("/sandbox/charges")).json()["data"])


async def test_fail_next_is_retryable_and_charges_nothing(
    shopper: Shopper, gateway: SandboxGateway, merchant: httpx.AsyncClient
) -> None:
    token = await shopper.token()
    response = await merchant.post("/sandbox/faults", json={"fail_next": 2})
    assert response.json() == {"latency_ms": 0, "fail_next": 2, "lose_next": 0, "scope": "charges"}

    first = await gateway.charge(**CHARGE, token=token.token)  # type: ignore[arg-type]
    second = await gateway.charge(**CHARGE, token=token.token)  # type: ignore[arg-type]

    assert first.status is ChargeStatus.RETRYABLE_ERROR
    assert second.status is ChargeStatus.RETRYABLE_ERROR
    assert await _ledger_size(merchant) == 0
    # The caller's retry with the same key then goes through, once.
    third = await gateway.charge(**CHARGE, token=token.token)  # type: ignore[arg-type]
    assert third.status is ChargeStatus.APPROVED
    assert await _ledger_size(merchant) == 1


async def test_lose_next_is_unknown_but_charged_and_lookup_finds_it(
    shopper: Shopper, gateway: SandboxGateway, merchant: httpx.AsyncClient
) -> None:
    token = await shopper.token()
    await merchant.post("/sandbox/faults", json={"lose_next": 1})

    lost = await gateway.charge(**CHARGE, token=token.token)  # type: ignore[arg-type]

    assert lost.status is ChargeStatus.UNKNOWN
    ledger = (await merchant.get("/sandbox/charges")).json()["data"]
    assert [(c["order_id"], c["state"], c["idempotency_key"]) for c in ledger] == [
        ("o-1", "captured", "k-1")
    ]
    found = await gateway.lookup(order_id="o-1", idempotency_key="k-1")
    assert (found.status, found.gateway_ref, found.amount) == (
        LookupStatus.APPROVED,
        ledger[0]["ref"],
        2640,
    )
    # Even a retry under the same key cannot charge twice.
    replay = await gateway.charge(**CHARGE, token=token.token)  # type: ignore[arg-type]
    assert replay.status is ChargeStatus.APPROVED and replay.gateway_ref == found.gateway_ref
    assert await _ledger_size(merchant) == 1


async def test_latency_is_awaited_on_every_charge_until_cleared(
    shopper: Shopper, gateway: SandboxGateway, merchant: httpx.AsyncClient, sleeps: list[float]
) -> None:
    token = await shopper.token()
    await merchant.post("/sandbox/faults", json={"latency_ms": 250})
    await gateway.charge(**CHARGE, token=token.token)  # type: ignore[arg-type]
    await gateway.charge(**CHARGE, token=token.token)  # type: ignore[arg-type]
    await merchant.post("/sandbox/faults", json={})
    await gateway.charge(**CHARGE, token=token.token)  # type: ignore[arg-type]
    assert sleeps == [0.25, 0.25]
    assert (await merchant.get("/sandbox/faults")).json()["latency_ms"] == 0


@pytest.mark.parametrize(
    "body", [{"scope": "refunds"}, {"fail_next": -1}, {"oops": 1}, {"latency_ms": "slow"}]
)
async def test_bad_fault_requests_are_400(
    merchant: httpx.AsyncClient, body: dict[str, object]
) -> None:
    assert (await merchant.post("/sandbox/faults", json=body)).status_code == 400


# --- transport outcomes, with a stand-in for the network ---------------------------------------

Handler = Callable[[httpx.Request], httpx.Response]


def _raise(exc: type[httpx.TransportError]) -> Handler:
    def handler(request: httpx.Request) -> httpx.Response:
        raise exc("simulated", request=request)

    return handler


def _answer(status: int, **kwargs: object) -> Handler:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(status, **kwargs)  # type: ignore[arg-type]

    return handler


def _gateway(handler: Handler) -> SandboxGateway:
    return SandboxGateway(BASE_URL, API_KEY, WEBHOOK_SECRET, transport=httpx.MockTransport(handler))


@pytest.mark.parametrize(
    ("handler", "status"),
    [
        (_raise(httpx.ConnectError), ChargeStatus.RETRYABLE_ERROR),  # refused / DNS: never sent
        (_raise(httpx.ConnectTimeout), ChargeStatus.RETRYABLE_ERROR),
        (_raise(httpx.PoolTimeout), ChargeStatus.RETRYABLE_ERROR),
        (_raise(httpx.ReadTimeout), ChargeStatus.UNKNOWN),  # sent, no answer
        (_raise(httpx.WriteTimeout), ChargeStatus.UNKNOWN),
        (_raise(httpx.ReadError), ChargeStatus.UNKNOWN),
        (_raise(httpx.RemoteProtocolError), ChargeStatus.UNKNOWN),  # connection dropped
        (_answer(500), ChargeStatus.UNKNOWN),
        (_answer(502, text="Bad Gateway"), ChargeStatus.UNKNOWN),
        (_answer(504), ChargeStatus.UNKNOWN),
        (_answer(503, text="maintenance"), ChargeStatus.UNKNOWN),  # a proxy's 503 promises nothing
        (
            _answer(503, json={"error": {"code": "processing_error", "retryable": True}}),
            ChargeStatus.RETRYABLE_ERROR,
        ),
        (_answer(500, json={"error": {"code": "x", "retryable": True}}), ChargeStatus.UNKNOWN),
        (_answer(429), ChargeStatus.RETRYABLE_ERROR),
        (_answer(201, text="<html>"), ChargeStatus.UNKNOWN),  # answered, but unreadable
    ],
)
async def test_charge_outcome_mapping(handler: Handler, status: ChargeStatus) -> None:
    async with _gateway(handler) as gateway:
        result = await gateway.charge(**CHARGE, token="tok_x")  # type: ignore[arg-type]
    assert result.status is status
    assert result.status is not ChargeStatus.DECLINED


async def test_client_errors_on_charge_raise_with_the_gateway_code() -> None:
    handler = _answer(400, json={"error": {"code": "invalid_request", "message": "amount"}})
    async with _gateway(handler) as gateway:
        with pytest.raises(GatewayError) as caught:
            await gateway.charge(**CHARGE, token="tok_x")  # type: ignore[arg-type]
    assert (caught.value.code, caught.value.status_code, caught.value.retryable) == (
        "invalid_request",
        400,
        False,
    )


@pytest.mark.parametrize(
    ("handler", "status"),
    [
        (_raise(httpx.ConnectError), ChargeStatus.RETRYABLE_ERROR),
        (_raise(httpx.ReadTimeout), ChargeStatus.UNKNOWN),
        (_answer(502), ChargeStatus.UNKNOWN),
    ],
)
async def test_refund_void_capture_share_the_mapping(
    handler: Handler, status: ChargeStatus
) -> None:
    async with _gateway(handler) as gateway:
        results = [
            await gateway.refund(gateway_ref="ch_1", amount=1, idempotency_key="r"),
            await gateway.void(gateway_ref="ch_1"),
            await gateway.capture(gateway_ref="ch_1", amount=1),
        ]
    assert {r.status for r in results} == {status}


async def test_complete_3ds_without_an_answer_is_unknown() -> None:
    async with _gateway(_raise(httpx.ConnectError)) as gateway:
        result = await gateway.complete_3ds(gateway_ref="ch_1")
    assert (result.status, result.gateway_ref) == (ChargeStatus.UNKNOWN, "ch_1")


@pytest.mark.parametrize(
    ("handler", "code"),
    [
        (_raise(httpx.ConnectError), "gateway_unreachable"),
        (_raise(httpx.ReadTimeout), "gateway_timeout"),
        (_answer(502), "http_502"),
    ],
)
async def test_reads_fail_with_a_retryable_gateway_error(handler: Handler, code: str) -> None:
    async with _gateway(handler) as gateway:
        with pytest.raises(GatewayError) as caught:
            await gateway.lookup(order_id="o-1", idempotency_key="k-1")
    assert (caught.value.code, caught.value.retryable) == (code, True)


async def test_the_adapter_sends_the_api_key_and_makes_one_request_per_call() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(503, json={"error": {"code": "x", "retryable": True}})

    async with _gateway(handler) as gateway:
        await gateway.charge(**CHARGE, token="tok_x")  # type: ignore[arg-type]
    assert len(seen) == 1  # no retries inside the adapter
    assert seen[0].headers["authorization"] == f"Bearer {API_KEY}"
