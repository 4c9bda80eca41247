"""Tokenising at `POST /v1/tokens` and reading token facts back."""

from __future__ import annotations

from datetime import datetime

import httpx
import pytest

from tests.tools.payments.sandbox.conftest import Shopper, leaked_numbers
from tools.payments.gateway import GatewayError
from tools.payments.sandbox import ManualClock, SandboxGateway

GOOD = {
    "number": "4242 4242 4242 4242",
    "exp_month": 12,
    "exp_year": 2032,
    "cvc": "123",
    "name": "Hanako Yamada",
}


async def test_token_answers_public_facts_only(
    browser: httpx.AsyncClient, clock: ManualClock
) -> None:
    response = await browser.post("/v1/tokens", json={**GOOD, "number": "4242-4242-4242-4242"})

    assert response.status_code == 201
    body = response.json()
    assert set(body) == {"token", "brand", "last4", "exp_month", "exp_year", "expires_at"}
    assert (body["brand"], body["last4"], body["exp_month"], body["exp_year"]) == (
        "visa",
        "4242",
        12,
        2032,
    )
    assert datetime.fromisoformat(body["expires_at"]) == clock.now.replace(hour=3, minute=30)
    assert response.headers["cache-control"] == "no-store"


async def test_exp_as_mm_yy_is_accepted(browser: httpx.AsyncClient) -> None:
    body = {k: v for k, v in GOOD.items() if not k.startswith("exp_")}
    response = await browser.post("/v1/tokens", json={**body, "exp": "07/31"})
    assert response.status_code == 201
    assert (response.json()["exp_month"], response.json()["exp_year"]) == (7, 2031)


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"number": "4242424242424241"}, "invalid_number"),  # Luhn fails
        ({"number": "424242424242"}, "invalid_number"),  # 12 digits
        ({"number": "42424242424242424242"}, "invalid_number"),  # 20 digits
        ({"number": "4242.4242.4242.4242"}, "invalid_number"),
        ({"number": "４２４２４２４２４２４２４２４２"}, "invalid_number"),  # full-width
        ({"number": None}, "invalid_number"),
        ({"exp_month": 13}, "invalid_expiry"),
        ({"exp_month": None}, "invalid_expiry"),
        ({"exp_year": 2099}, "invalid_expiry"),
        ({"exp_month": 12, "exp_year": 2029}, "expired_card"),
        ({"exp": "12/29"}, "expired_card"),
        ({"exp": "1229"}, "invalid_expiry"),
        ({"cvc": "12"}, "invalid_cvc"),
        ({"cvc": "1234"}, "invalid_cvc"),  # 4 digits only for Amex
        ({"cvc": "12a"}, "invalid_cvc"),
        ({"name": "  "}, "invalid_name"),
        ({"name": "4242424242424242"}, "invalid_name"),  # the number typed into the name field
    ],
)
async def test_bad_card_input_is_refused_with_its_code_and_never_echoed(
    browser: httpx.AsyncClient, change: dict[str, object], code: str
) -> None:
    response = await browser.post("/v1/tokens", json={**GOOD, **change})

    assert response.status_code == 400
    assert response.json()["error"]["code"] == code
    assert not leaked_numbers(response.text)
    assert "4242" not in response.text


async def test_current_month_is_still_valid(browser: httpx.AsyncClient) -> None:
    response = await browser.post("/v1/tokens", json={**GOOD, "exp_month": 1, "exp_year": 2030})
    assert response.status_code == 201


async def test_amex_needs_four_digit_code(browser: httpx.AsyncClient) -> None:
    amex = {**GOOD, "number": "3782 822463 10005"}
    assert (await browser.post("/v1/tokens", json={**amex, "cvc": "123"})).status_code == 400
    response = await browser.post("/v1/tokens", json={**amex, "cvc": "1234"})
    assert (response.status_code, response.json()["brand"]) == (201, "amex")


@pytest.mark.parametrize(
    ("content", "content_type", "status"),
    [
        (b"{not json", "application/json", 400),
        (b"[1, 2]", "application/json", 400),
        (b'{"number": "4242424242424242"}', "text/plain", 415),
        (b"x" * 5000, "application/json", 413),
    ],
)
async def test_malformed_token_requests_are_4xx(
    browser: httpx.AsyncClient, content: bytes, content_type: str, status: int
) -> None:
    response = await browser.post(
        "/v1/tokens", content=content, headers={"Content-Type": content_type}
    )
    assert response.status_code == status
    assert "error" in response.json()


async def test_token_info_through_the_adapter(shopper: Shopper, gateway: SandboxGateway) -> None:
    token = await shopper.token("5555555555554444")
    info = await gateway.token_info(token.token)
    assert info == token
    assert (info.brand, info.last4) == ("mastercard", "4444")


async def test_used_expired_and_unknown_tokens_are_invalid(
    shopper: Shopper, gateway: SandboxGateway, merchant: httpx.AsyncClient, clock: ManualClock
) -> None:
    used = await shopper.token()
    await gateway.charge(
        order_id="o-1", amount=100, currency="JPY", token=used.token, idempotency_key="k-1"
    )
    expired = await shopper.token()
    clock.advance(1800)

    for token, status, reason in [
        (used.token, 410, "used"),
        (expired.token, 410, "expired"),
        ("tok_unknown", 404, "unknown"),
    ]:
        response = await merchant.get(f"/v1/tokens/{token}")
        assert response.status_code == status
        assert response.json()["error"] == {
            "code": "token_invalid",
            "message": response.json()["error"]["message"],
            "reason": reason,
        }
        with pytest.raises(GatewayError) as caught:
            await gateway.token_info(token)
        assert caught.value.code == "token_invalid"


async def test_tokenize_card_reports_the_gateway_code(shopper: Shopper) -> None:
    with pytest.raises(GatewayError) as caught:
        await shopper.token("4242424242424241")
    assert (caught.value.code, caught.value.status_code) == ("invalid_number", 400)
    assert "4242424242424241" not in str(caught.value)
