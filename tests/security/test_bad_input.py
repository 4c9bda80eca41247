"""Hostile request bodies and addresses: each gets a 4xx with the standard error body, nothing changes.

Every bad request goes to the three routes that write (start, message, action) of a conversation
that already has a cart, and the whole database is compared before and after: "nothing already
saved is lost" and "nothing half-saved" are both the same equality. Runs on SQLite and PostgreSQL
(PostgreSQL refuses NUL in text, which once turned a NUL into a 500 deep in a query).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from tests.factories import make_small_catalog
from tests.security.merchant import all_rows, merchant_app, merchant_client
from tests.shop_harness import ADDRESS, Shop


@dataclass
class Target:
    client: httpx.AsyncClient
    shop: Shop
    id: str
    token: str

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    def routes(self) -> list[str]:
        base = f"/api/conversations/{self.id}"
        return ["/api/conversations", f"{base}/messages", f"{base}/actions"]


@pytest.fixture
async def target(shop: Shop) -> AsyncIterator[Target]:
    """A conversation with a cart line and an address, so there is something to lose."""
    async with shop.db.session() as session:
        await make_small_catalog(session)
        await session.commit()
    async with merchant_client(merchant_app(shop)) as client:
        started = await client.post("/api/conversations", json={"locale": "en"})
        body = started.json()
        found = Target(client, shop, body["id"], body["token"])
        for action in ({"type": "add_to_cart", "sku": "TEA-SENCHA", "quantity": 2},
                       {"type": "submit_address", "fields": ADDRESS}):
            response = await client.post(f"/api/conversations/{found.id}/actions", json=action,
                                         headers=found.auth)
            assert response.status_code == 200, response.text
        yield found


def assert_refusal(response: httpx.Response, status: int, code: str | None = None, *,
                   case: str = "") -> None:
    assert response.status_code == status, (case, response.status_code, response.text)
    body = response.json()
    assert set(body) == {"error"}
    assert isinstance(body["error"]["code"], str) and isinstance(body["error"]["message"], str)
    if code is not None:
        assert body["error"]["code"] == code, case
    assert response.headers["content-type"].startswith("application/json")
    assert response.headers["x-content-type-options"] == "nosniff"
    assert "frame-ancestors 'none'" in response.headers["content-security-policy"]


async def send_everywhere(target: Target, content: bytes, content_type: str | None,
                          status: int, code: str | None, *, case: str = "") -> None:
    """POST `content` to every writing route; each refuses it and the database stays as it was."""
    before = await all_rows(target.shop.db)
    for path in target.routes():
        headers = dict(target.auth)
        if content_type is not None:
            headers["Content-Type"] = content_type
        response = await target.client.post(path, content=content, headers=headers)
        assert_refusal(response, status, code, case=f"{case} -> {path}")
        assert b"4242" not in response.content  # nothing of the input is echoed
    assert await all_rows(target.shop.db) == before, case


TOO_DEEP = b'{"text": ' + b"[" * 40 + b"1" + b"]" * 40 + b"}"
PARSER_DEEP = b"[" * 15_000 + b"]" * 15_000  # past the JSON parser's own recursion limit


MALFORMED_JSON = [
    ("invalid UTF-8", b'{"text": "caf\xe9 4242"}', "invalid_json"),
    ("UTF-16", '{"text": "hello"}'.encode("utf-16"), "invalid_json"),
    ("truncated", b'{"text": "hello"', "invalid_json"),
    ("duplicate keys", b'{"text": "hello", "text": "4242"}', "invalid_json"),
    ("duplicate keys nested",
     b'{"type": "submit_address", "fields": {"name": "A", "name": "B"}}', "invalid_json"),
    ("NaN", b'{"text": NaN}', "invalid_json"),
    ("Infinity", b'{"type": "add_to_cart", "sku": "TEA-SENCHA", "quantity": -Infinity}',
     "invalid_json"),
    ("1e309", b'{"type": "add_to_cart", "sku": "TEA-SENCHA", "quantity": 1e309}', "invalid_json"),
    ("5000-digit integer",
     b'{"type": "add_to_cart", "sku": "TEA-SENCHA", "quantity": ' + b"9" * 5000 + b"}",
     "invalid_json"),
    ("nested 41 deep", TOO_DEEP, "invalid_json"),
    ("nested 15000 deep", PARSER_DEEP, "invalid_json"),
    ("NUL in a string", b'{"text": "hello\\u0000world"}', "invalid_json"),
    ("NUL in a key", b'{"te\\u0000xt": "hello"}', "invalid_json"),
    ("lone surrogate", b'{"text": "\\ud800"}', "invalid_json"),
]


async def test_malformed_json_is_400_and_changes_nothing(target: Target) -> None:
    # One conversation for all cases (a fixture per case made this module slow on PostgreSQL).
    for name, body, code in MALFORMED_JSON:
        await send_everywhere(target, body, "application/json", 400, code, case=name)


async def test_bodies_that_are_not_declared_json_are_415(target: Target) -> None:
    # A valid JSON document, so only the media type is wrong (text/plain is also what a cross-site
    # form can send without a CORS preflight).
    for content_type in ("text/plain", "text/plain;charset=UTF-8",
                         "application/x-www-form-urlencoded", "multipart/form-data; boundary=xyz",
                         "application/xml", None):
        await send_everywhere(target, b'{"text": "hello", "locale": "en"}', content_type, 415,
                              "unsupported_media_type", case=str(content_type))


async def test_oversized_bodies_are_413_with_or_without_content_length(target: Target) -> None:
    big = b'{"text": "' + b"x" * 33_000 + b'"}'
    await send_everywhere(target, big, "application/json", 413, "payload_too_large")

    async def chunks() -> AsyncIterator[bytes]:  # chunked: no Content-Length to trust
        for _ in range(40):
            yield b"x" * 1024

    before = await all_rows(target.shop.db)
    response = await target.client.post(f"/api/conversations/{target.id}/messages",
                                        content=chunks(), headers={
                                            **target.auth, "Content-Type": "application/json"})
    assert "content-length" not in response.request.headers
    assert_refusal(response, 413, "payload_too_large")
    assert await all_rows(target.shop.db) == before


WRONG_BODIES = [
    b"",  # no body where one is required
    b"null",
    b"[]",
    b'"text"',
    b'{"text": ' + b"9" * 400 + b"}",  # 10**400 as an integer literal: parsed, then refused
    b'{"type": "add_to_cart", "sku": "TEA-SENCHA", "quantity": ' + b"1" + b"0" * 400 + b"}",
    b'{"type": "add_to_cart", "sku": "TEA-SENCHA", "quantity": 1.5}',
    b'{"text": "hello", "extra": 1}',
    b'{"type": "confirm", "quote_id": "' + b"q" * 65 + b'", "quote_hash": "h"}',
]


async def test_well_formed_but_wrong_bodies_are_422(target: Target) -> None:
    before = await all_rows(target.shop.db)
    for body in WRONG_BODIES:
        for path in target.routes()[1:]:  # starting a conversation takes an optional body
            response = await target.client.post(path, content=body, headers={
                **target.auth, "Content-Type": "application/json"})
            assert_refusal(response, 422, "invalid_request", case=f"{body[:40]!r} -> {path}")
            assert b"9999999999" not in response.content
    assert await all_rows(target.shop.db) == before


async def test_an_empty_body_starts_a_conversation_in_english(target: Target) -> None:
    # The one route whose body is optional: an empty POST is the documented default, not bad input.
    response = await target.client.post("/api/conversations")
    assert response.status_code == 201
    assert response.json()["token"]


async def test_nul_or_invalid_utf8_in_the_address_is_400(target: Target) -> None:
    before = await all_rows(target.shop.db)
    for suffix in ("%00", "abc%00def", "%ff", "%ed%a0%80", "%c0%80"):
        for method, url in [("GET", f"/api/conversations/{target.id}{suffix}"),
                            ("POST", f"/api/conversations/{target.id}{suffix}/actions"),
                            ("DELETE", f"/api/conversations/{target.id}{suffix}"),
                            ("GET", f"/api/products?q={suffix}"),
                            ("GET", f"/api/products?q=tea&limit=1{suffix}")]:
            response = await target.client.request(method, url, headers=target.auth,
                                                   json={"type": "checkout"})
            assert_refusal(response, 400, "bad_request", case=f"{method} {url}")
    assert await all_rows(target.shop.db) == before


async def test_ids_that_name_no_conversation_are_404(target: Target) -> None:
    for conversation_id in ("x" * 37, "00000000-0000-0000-0000-000000000000", "..%2F..%2Fetc",
                            "a b", "é" * 10, "'; --", target.id.upper() + "0"):
        response = await target.client.get(f"/api/conversations/{conversation_id}",
                                           headers=target.auth)
        assert_refusal(response, 404, "not_found", case=conversation_id)


async def test_valid_requests_still_pass_the_guard(target: Target) -> None:
    """The rules refuse only what they should: charset parameters, +json, unicode text."""
    headers: dict[str, Any] = {**target.auth, "Content-Type": "application/json; charset=utf-8"}
    said = await target.client.post(f"/api/conversations/{target.id}/messages",
                                    content='{"text": "煎茶を2つ 🍵 \\u00e9"}'.encode(),
                                    headers=headers)
    assert said.status_code == 200, said.text
    headers["Content-Type"] = "application/vnd.chatpay+json"
    viewed = await target.client.post(f"/api/conversations/{target.id}/actions",
                                      content=b'{"type": "quick_reply", "value": "view_cart"}',
                                      headers=headers)
    assert viewed.status_code == 200, viewed.text
    search = await target.client.get("/api/products", params={"q": "煎茶 café"})
    assert search.status_code == 200 and search.json()[0]["sku"] == "TEA-SENCHA"
    nested = {"type": "submit_address", "fields": ADDRESS}
    assert (await target.client.post(f"/api/conversations/{target.id}/actions", json=nested,
                                     headers=target.auth)).status_code == 200
