"""Request guards: body size, card numbers in request bodies, security headers, closed CORS."""

from __future__ import annotations

from typing import Any

from agent.testing import ScriptedModel
from tests.api.conftest import ADDRESS, widget


async def test_oversized_bodies_are_413(chat_factory: Any) -> None:
    chat = chat_factory(ScriptedModel([]))
    await chat.start()
    big = await chat.client.post(f"/api/conversations/{chat.id}/messages",
                                 json={"text": "x" * 40_000}, headers=chat.auth)
    assert big.status_code == 413
    assert big.json()["error"]["code"] == "payload_too_large"
    too_long = await chat.client.post(f"/api/conversations/{chat.id}/messages",
                                      json={"text": "x" * 2001}, headers=chat.auth)
    assert too_long.status_code == 422


async def test_a_card_number_in_an_action_body_is_refused_and_not_stored(chat_factory: Any) -> None:
    chat = chat_factory(ScriptedModel([]))
    await chat.start()
    before = (await chat.client.get(f"/api/conversations/{chat.id}", headers=chat.auth)).json()
    for fields in ({**ADDRESS, "line2": "4242 4242 4242 4242"},
                   {**ADDRESS, "name": "５５５５５５５５５５５５４４４４"}):
        refused = await chat.act(type="submit_address", fields=fields)
        assert refused.status_code == 400
        assert refused.json()["error"]["code"] == "card_number_not_accepted"
        assert "4242" not in refused.text
    token = await chat.act(type="card_token", token="4111111111111111")
    assert token.status_code == 400
    after = (await chat.client.get(f"/api/conversations/{chat.id}", headers=chat.auth)).json()
    assert after == before


async def test_a_card_number_in_a_message_is_redacted_not_refused(chat_factory: Any) -> None:
    chat = chat_factory(ScriptedModel([]))
    await chat.start()
    events = await chat.say("4111-1111-1111-1111")
    assert widget(events, "card_form")


async def test_a_card_number_as_a_message_key_is_not_echoed_by_the_422(chat_factory: Any) -> None:
    chat = chat_factory(ScriptedModel([]))
    await chat.start()
    refused = await chat.client.post(f"/api/conversations/{chat.id}/messages",
                                     json={"text": "hi", "4111 1111 1111 1111": 1},
                                     headers=chat.auth)
    assert refused.status_code == 422
    assert refused.json()["error"]["fields"] == [
        {"field": "[card number removed]", "problem": "Extra inputs are not permitted"}]
    assert "1111" not in refused.text


async def test_security_headers_and_no_cors(chat_factory: Any) -> None:
    chat = chat_factory(ScriptedModel([]))
    for path in ("/healthz", "/", "/api/products"):
        response = await chat.client.get(path, headers={"Origin": "https://evil.example"})
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["x-frame-options"] == "DENY"
        assert "access-control-allow-origin" not in response.headers
    preflight = await chat.client.options(
        "/api/conversations", headers={"Origin": "https://evil.example",
                                       "Access-Control-Request-Method": "POST"})
    assert "access-control-allow-origin" not in preflight.headers


async def test_rate_limit_per_conversation(chat_factory: Any) -> None:
    chat = chat_factory(ScriptedModel([]))
    await chat.start()
    chat.client._transport.app.state.rate_limits["conversation"].limit = 3  # type: ignore[attr-defined]
    codes = [(await chat.act(type="quick_reply", value="view_cart")).status_code
             for _ in range(4)]
    assert codes == [200, 200, 200, 429]
    limited = await chat.act(type="quick_reply", value="view_cart")
    assert int(limited.headers["retry-after"]) >= 1
    assert limited.json()["error"]["code"] == "rate_limited"


def test_rate_limiter_window_slides() -> None:
    from fastapi import HTTPException

    from api.rate_limit import RateLimiter

    now = [0.0]
    limiter = RateLimiter(2, clock=lambda: now[0])
    limiter.hit("a")
    limiter.hit("a")
    limiter.hit("b")
    try:
        limiter.hit("a")
        raise AssertionError("third hit in a minute must be refused")
    except HTTPException as exc:
        assert exc.status_code == 429
    now[0] = 60.0
    limiter.hit("a")  # the window moved on
    RateLimiter(0).hit("a")  # 0 disables
