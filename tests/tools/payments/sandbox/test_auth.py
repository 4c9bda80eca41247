"""The merchant API and the test controls need the API key; the shopper's endpoints do not."""

from __future__ import annotations

import httpx
import pytest

PROTECTED = [
    ("GET", "/v1/tokens/tok_x"),
    ("POST", "/v1/charges"),
    ("GET", "/v1/charges?idempotency_key=k"),
    ("GET", "/v1/charges/ch_x"),
    ("POST", "/v1/charges/ch_x/capture"),
    ("POST", "/v1/charges/ch_x/void"),
    ("POST", "/v1/charges/ch_x/refund"),
    ("POST", "/v1/screenings"),
    ("POST", "/v1/konbini-slips"),
    ("POST", "/sandbox/konbini/kb_x/pay"),
    ("POST", "/sandbox/konbini/kb_x/expire"),
    ("POST", "/sandbox/screenings/sc_x/settle"),
    ("POST", "/sandbox/faults"),
    ("GET", "/sandbox/faults"),
    ("GET", "/sandbox/charges"),
    ("GET", "/sandbox/webhooks"),
    ("POST", "/sandbox/reset"),
]


@pytest.mark.parametrize(("method", "path"), PROTECTED)
@pytest.mark.parametrize(
    "authorization", [None, "Bearer wrong", "sk_test_sandbox", "Basic sk_test_sandbox"]
)
async def test_api_key_required(
    browser: httpx.AsyncClient, method: str, path: str, authorization: str | None
) -> None:
    headers = {"Authorization": authorization} if authorization else {}
    response = await browser.request(method, path, json={}, headers=headers)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "unauthorized"
    assert response.headers["www-authenticate"] == "Bearer"


async def test_tokenising_needs_no_key(browser: httpx.AsyncClient) -> None:
    response = await browser.post(
        "/v1/tokens",
        json={"number": "4242424242424242", "exp": "12/32", "cvc": "123", "name": "A B"},
    )
    assert response.status_code == 201


async def test_unknown_routes_answer_json_errors(browser: httpx.AsyncClient) -> None:
    response = await browser.get("/v2/nothing")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


async def test_reset_forgets_everything(merchant: httpx.AsyncClient) -> None:
    await merchant.post("/sandbox/faults", json={"fail_next": 3})
    assert (await merchant.post("/sandbox/reset")).status_code == 200
    assert (await merchant.get("/sandbox/faults")).json()["fail_next"] == 0
