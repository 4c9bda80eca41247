"""No response body, log record or stored record ever carries a full card number or security code.

(Every test in this package is also guarded by the autouse fixture in conftest.py; this test drives
one of everything in a single run, so a leak on any path shows up here with a clear name.)
"""

from __future__ import annotations

import logging
from dataclasses import fields

import httpx
import pytest

from tests.tools.payments.sandbox.conftest import (
    MERCHANT_ORIGIN,
    WATCHED_NUMBERS,
    Shopper,
    Transcript,
    leaked_numbers,
)
from tools.payments.sandbox import SandboxGateway
from tools.payments.sandbox.records import CardToken, Charge


def test_the_guard_itself_detects_spaced_numbers() -> None:
    assert leaked_numbers("card 4242 4242 4242 4242 here") == ["4242424242424242"]
    assert leaked_numbers("last4 4242") == []


async def test_a_full_session_leaks_no_card_data(
    shopper: Shopper,
    gateway: SandboxGateway,
    merchant: httpx.AsyncClient,
    browser: httpx.AsyncClient,
    transcript: Transcript,
    caplog: pytest.LogCaptureFixture,
    app: object,
) -> None:
    caplog.set_level(logging.DEBUG)
    await browser.get("/card-form", params={"origin": MERCHANT_ORIGIN})
    for index, number in enumerate(WATCHED_NUMBERS):
        token = await shopper.token(number)
        await gateway.token_info(token.token)
        result = await gateway.charge(
            order_id=f"o-{index}",
            amount=100,
            currency="JPY",
            token=token.token,
            idempotency_key=f"k-{index}",
        )
        if result.gateway_ref:
            await browser.get(f"/3ds/{result.gateway_ref}", params={"origin": MERCHANT_ORIGIN})
            await browser.post(f"/3ds/{result.gateway_ref}", json={"code": "123456"})
    for bad in ({"cvc": "9"}, {"exp": "13/40"}, {"name": ""}, {"number": "4242424242424241"}):
        body = {
            "number": "4242424242424242",
            "exp_month": 12,
            "exp_year": 2032,
            "cvc": "123",
            "name": "A B",
            **bad,
        }
        assert (await browser.post("/v1/tokens", json=body)).status_code == 400
    await merchant.get("/sandbox/charges")
    await merchant.get("/sandbox/webhooks")

    assert len(transcript.bodies) > 3 * len(WATCHED_NUMBERS)
    everything = "\n".join(transcript.bodies + [r.getMessage() for r in caplog.records])
    assert leaked_numbers(everything) == []
    # Nor in what the sandbox keeps: every record's repr is number-free.
    state = app.state.sandbox.state  # type: ignore[attr-defined]
    kept = repr([*state.tokens.values(), *state.charges.values()])
    assert leaked_numbers(kept) == []
    stored_fields = {f.name for f in fields(CardToken)} | {f.name for f in fields(Charge)}
    assert not stored_fields & {"number", "cvc", "card_number", "security_code"}
