"""Shopper tokens, conversation isolation, security headers and CORS, over the real HTTP API.

- A token is stored only as its SHA-256 (no table holds it, whole or in part) and checked with
  `hmac.compare_digest`.
- A conversation is invisible to every other token: GET, messages, actions and DELETE with another
  conversation's valid token answer exactly what an unknown id answers (404), and change nothing;
  no token or a malformed Authorization header answers 401.
- Every response (page, API, static file, schema, refusal, 404, 405, 413, 415, 429, 500) carries a
  CSP with frame-ancestors 'none', X-Frame-Options, nosniff and a referrer policy.
- CORS is closed: no Access-Control-* header to any origin, preflight or not.
There are no operator endpoints yet; `test_every_operation_but_the_public_ones_needs_a_token`
makes the one that comes first either require a token or be added to its allow-list on purpose.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from agent.model import Message, ModelResponse, ToolSchema
from agent.testing import FunctionModel
from api import tokens
from tests.factories import make_small_catalog
from tests.security.merchant import Shopper, all_rows, merchant_app, merchant_client
from tests.shop_harness import Shop


@pytest.fixture
async def client(shop: Shop) -> AsyncIterator[httpx.AsyncClient]:
    async with shop.db.session() as session:
        await make_small_catalog(session)
        await session.commit()
    async with merchant_client(merchant_app(shop)) as http:
        yield http


async def test_the_raw_token_is_stored_nowhere(shop: Shop, client: httpx.AsyncClient) -> None:
    shopper = await (Shopper(client)).start()
    said = await client.post(f"/api/conversations/{shopper.id}/messages",
                             json={"text": "my token is not something I type"},
                             headers={**shopper.auth, "Idempotency-Key": "message-1"})
    assert said.status_code == 200
    await shopper.buy_with_konbini()  # cart, address, quote, order, payment rows too

    rows = await all_rows(shop.db)
    stored = repr(rows)
    assert sum(len(table) for table in rows.values()) > 10 and rows["idempotent_requests"]
    for fragment in (shopper.token, shopper.token[:16], shopper.token[-16:]):
        assert fragment not in stored
    conversation = next(row for row in rows["conversations"] if row[0] == shopper.id)
    assert hashlib.sha256(shopper.token.encode()).hexdigest() in conversation


async def test_tokens_are_compared_in_constant_time(client: httpx.AsyncClient,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    shopper = await (Shopper(client)).start()
    compared: list[tuple[Any, Any]] = []
    compare_digest = hmac.compare_digest

    def spy(a: Any, b: Any) -> bool:
        compared.append((a, b))
        return compare_digest(a, b)

    monkeypatch.setattr("api.tokens.hmac.compare_digest", spy)
    assert (await client.get(f"/api/conversations/{shopper.id}",
                             headers=shopper.auth)).status_code == 200
    wrong = {"Authorization": "Bearer " + "A" * len(shopper.token)}
    assert (await client.get(f"/api/conversations/{shopper.id}",
                             headers=wrong)).status_code == 404
    presented = [tokens.hash_token(shopper.token), tokens.hash_token("A" * len(shopper.token))]
    assert [a for a, _ in compared] == presented


def _requests(target: str) -> list[tuple[str, str, dict[str, Any] | None]]:
    base = f"/api/conversations/{target}"
    return [("GET", base, None),
            ("POST", f"{base}/messages", {"text": "show me the cart"}),
            ("POST", f"{base}/actions", {"type": "quick_reply", "value": "view_cart"}),
            ("POST", f"{base}/actions", {"type": "add_to_cart", "sku": "TEA-SENCHA"}),
            ("DELETE", base, None)]


async def test_another_conversations_token_sees_nothing(shop: Shop,
                                                        client: httpx.AsyncClient) -> None:
    victim = await (Shopper(client)).start()
    order_id = await victim.buy_with_konbini()
    intruder = await (Shopper(client)).start()
    before = await all_rows(shop.db)

    for method, url, body in _requests(victim.id):
        as_intruder = await client.request(method, url, json=body, headers=intruder.auth)
        unknown = await client.request(method, url.replace(victim.id, intruder.id[::-1]),
                                       json=body, headers=intruder.auth)
        assert as_intruder.status_code == 404, (method, url, as_intruder.text)
        # Same answer as for an id that does not exist: nothing tells the two apart.
        assert as_intruder.json() == unknown.json() == {
            "error": {"code": "not_found", "message": "Conversation not found."}}
        assert order_id not in as_intruder.text
    assert await all_rows(shop.db) == before

    mine = await client.get(f"/api/conversations/{intruder.id}", headers=intruder.auth)
    assert mine.status_code == 200 and mine.json()["order"] is None


async def test_no_or_malformed_authorization_is_401(shop: Shop,
                                                    client: httpx.AsyncClient) -> None:
    shopper = await (Shopper(client)).start()
    before = await all_rows(shop.db)
    for authorization in (None, "", "Bearer", "Bearer ", "Bearer    ", "Basic dXNlcjpwYXNz",
                          "Token abc", "bearer", "Bearertoken", shopper.token):
        headers = {} if authorization is None else {"Authorization": authorization}
        for method, url, body in _requests(shopper.id):
            response = await client.request(method, url, json=body, headers=headers)
            assert response.status_code == 401, (authorization, method, url, response.text)
            assert response.json()["error"]["code"] == "unauthorized"
            assert response.headers["www-authenticate"] == "Bearer"
    assert await all_rows(shop.db) == before


async def test_a_token_works_whatever_the_case_of_its_scheme(client: httpx.AsyncClient) -> None:
    shopper = await (Shopper(client)).start()
    for scheme in ("Bearer", "bearer", "BEARER"):
        response = await client.get(f"/api/conversations/{shopper.id}",
                                    headers={"Authorization": f"{scheme} {shopper.token}"})
        assert response.status_code == 200


PUBLIC_OPERATIONS = {
    ("get", "/healthz"), ("get", "/readyz"), ("get", "/api/products"),
    ("post", "/api/conversations"),  # starting a conversation is what hands out a token
    ("post", "/api/webhooks/gateway"),  # authenticated by the gateway's signature instead
}


async def test_every_operation_but_the_public_ones_needs_a_token(
        client: httpx.AsyncClient) -> None:
    shopper = await (Shopper(client)).start()
    schema = (await client.get("/openapi.json")).json()
    guarded = 0
    for path, item in schema["paths"].items():
        for method in item:
            if (method, path) in PUBLIC_OPERATIONS:
                continue
            guarded += 1
            assert item[method].get("security"), f"{method} {path} declares no token"
            url = path.replace("{conversation_id}", shopper.id)
            response = await client.request(method.upper(), url, json={})
            assert response.status_code == 401, f"{method} {path} answered without a token"
    assert guarded >= 4


def _failing_model() -> FunctionModel:
    def explode(_messages: list[Message], _tools: list[ToolSchema]) -> ModelResponse:
        raise RuntimeError("a bug, not a model outage")

    return FunctionModel(explode)


def assert_security_headers(response: httpx.Response, what: str) -> None:
    headers = response.headers
    assert headers.get("x-content-type-options") == "nosniff", what
    assert headers.get("x-frame-options") == "DENY", what
    assert headers.get("referrer-policy") == "same-origin", what
    csp = headers.get("content-security-policy", "")
    assert "frame-ancestors 'none'" in csp, what
    assert "default-src" in csp, what
    assert not [name for name in headers if name.startswith("access-control-")], what


async def test_security_headers_on_every_kind_of_response(shop: Shop,
                                                          client: httpx.AsyncClient) -> None:
    shopper = await (Shopper(client)).start()
    auth = shopper.auth
    conv = f"/api/conversations/{shopper.id}"
    cases: list[tuple[str, str, dict[str, Any]]] = [
        ("GET", "/", {}), ("GET", "/static/chat.js", {}), ("GET", "/static/chat.css", {}),
        ("GET", "/static/nope.js", {}), ("GET", "/healthz", {}), ("GET", "/readyz", {}),
        ("GET", "/api/products", {}), ("GET", "/openapi.json", {}), ("GET", "/docs", {}),
        ("GET", "/nowhere", {}), ("GET", conv, {"headers": auth}), ("GET", conv, {}),
        ("GET", "/api/conversations/unknown", {"headers": auth}),
        ("PUT", "/api/products", {"json": {}}),  # 405
        ("POST", f"{conv}/messages", {"headers": auth, "content": b"{"}),  # 400
        ("POST", f"{conv}/messages", {"headers": auth, "content": b"x" * 40_000}),  # 413
        ("POST", f"{conv}/messages", {"headers": {**auth, "content-type": "text/plain"},
                                      "content": b"hi"}),  # 415
        ("POST", f"{conv}/actions", {"headers": auth, "json": {"type": "teleport"}}),  # 422
        ("POST", f"{conv}/actions", {"headers": auth, "json": {"type": "confirm",
                                                               "quote_id": "q",
                                                               "quote_hash": "h"}}),  # 404
        ("POST", "/api/webhooks/gateway", {"content": b"{}"}),  # 400
        ("OPTIONS", "/api/conversations", {"headers": {
            "Origin": "https://evil.example", "Access-Control-Request-Method": "POST"}}),
    ]
    statuses = set()
    for method, url, kwargs in cases:
        response = await client.request(method, url, **kwargs)
        statuses.add(response.status_code)
        assert_security_headers(response, f"{method} {url} -> {response.status_code}")
    assert {200, 400, 401, 404, 405, 413, 415, 422} <= statuses

    page = await client.get("/")
    assert "frame-src http://127.0.0.1:8001" in page.headers["content-security-policy"]
    api = await client.get("/api/products")
    assert api.headers["content-security-policy"].startswith("default-src 'none'")

    # 429 from the rate limiter and 500 from a bug: the answers made outside the routes.
    limited_app = merchant_app(shop, model=_failing_model())
    limited_app.state.rate_limits["conversation"].limit = 1
    transport = httpx.ASGITransport(app=limited_app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as other:
        crashed = await other.post(f"{conv}/messages", json={"text": "hi"}, headers=auth)
        assert crashed.status_code == 500
        assert crashed.json() == {"error": {"code": "internal_error", "message":
                                            "Something went wrong on our side. Please retry."}}
        assert "a bug" not in crashed.text
        assert_security_headers(crashed, "500")
        limited = await other.post(f"{conv}/actions", headers=auth,
                                   json={"type": "quick_reply", "value": "view_cart"})
        assert limited.status_code == 429
        assert_security_headers(limited, "429")


async def test_cors_is_closed_to_every_origin(client: httpx.AsyncClient) -> None:
    # The gateway's origin too: its frame talks to the page by postMessage, never by fetch.
    for origin in ("https://evil.example", "http://127.0.0.1:8001", "null"):
        shopper = await (Shopper(client)).start()
        conv = f"/api/conversations/{shopper.id}"
        for url, method in [("/api/conversations", "POST"), (conv, "GET"),
                            ("/api/products", "GET"), (conv, "DELETE")]:  # DELETE last: it erases
            preflight = await client.options(url, headers={
                "Origin": origin, "Access-Control-Request-Method": method,
                "Access-Control-Request-Headers": "authorization, content-type"})
            assert preflight.status_code >= 400  # nobody answers the preflight: the browser stops
            assert not [h for h in preflight.headers if h.startswith("access-control-")]
            simple = await client.request(method, url, headers={"Origin": origin, **shopper.auth})
            assert simple.status_code < 400, (origin, method, url)
            assert not [h for h in simple.headers if h.startswith("access-control-")]
