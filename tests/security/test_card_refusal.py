"""The merchant app refuses, without storing, any request body that holds a card number.

Card details belong in the gateway's frame. `api.middleware.GuardMiddleware` answers 400 to a body
holding a card number on every route except chat messages (there the turn redacts it and shows the
card form) and the gateway's webhooks (signed by the gateway; a forged one fails its signature).
Here every state-changing route of the app is sent card numbers in every field it takes, written
every way the canary knows and encoded every way a JSON client can (plain, ASCII-escaped, every
digit escaped, UTF-16), and must answer 4xx with every row of every table unchanged. A message
with a card is stored redacted, whatever its JSON encoding.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from itertools import cycle
from typing import Any

import pytest
from fastapi.routing import APIRoute

from agent.redaction import CARD_NUMBER_TOKEN
from tests.security.canary_formats import CASES, PastedCard
from tests.security.canary_shop import (
    CanaryShop,
    Recorder,
    canary_shop,
    database_pieces,
    load_catalogue,
    logs_at_debug,
    offline_model,
)
from tests.security.sink_scan import Piece, find_leaks
from tests.shop_harness import ADDRESS
from tools.store.db import Database

Body = Callable[[Any], dict[str, Any]]
# (route, label, where the card goes). `card` is a string, or an int for number fields.
ACTION = "/api/conversations/{id}/actions"
TARGETS: list[tuple[str, str, str, Body]] = [
    ("POST", "/api/conversations", "locale", lambda c: {"locale": c}),
    ("POST", "/api/conversations", "unknown field", lambda c: {"locale": "en", "note": c}),
    ("POST", ACTION, "quick_reply value", lambda c: {"type": "quick_reply", "value": c}),
    ("POST", ACTION, "add_to_cart sku", lambda c: {"type": "add_to_cart", "sku": c}),
    (
        "POST",
        ACTION,
        "add_to_cart quantity",
        lambda c: {"type": "add_to_cart", "sku": "TEA-SENCHA", "quantity": c},
    ),
    ("POST", ACTION, "remove_from_cart sku", lambda c: {"type": "remove_from_cart", "sku": c}),
    *[
        (
            "POST",
            ACTION,
            f"submit_address {field}",
            (lambda f: lambda c: {"type": "submit_address", "fields": {**ADDRESS, f: c}})(field),
        )
        for field in ADDRESS
    ],
    (
        "POST",
        ACTION,
        "choose_payment_method method",
        lambda c: {"type": "choose_payment_method", "method": c},
    ),
    ("POST", ACTION, "card_token token", lambda c: {"type": "card_token", "token": c}),
    ("POST", ACTION, "checkout, extra field", lambda c: {"type": "checkout", "card": c}),
    (
        "POST",
        ACTION,
        "confirm quote_id",
        lambda c: {"type": "confirm", "quote_id": c, "quote_hash": "x"},
    ),
    (
        "POST",
        ACTION,
        "confirm quote_hash",
        lambda c: {"type": "confirm", "quote_id": "q", "quote_hash": c},
    ),
    (
        "POST",
        ACTION,
        "threeds_complete payment_id",
        lambda c: {"type": "threeds_complete", "payment_id": c},
    ),
    ("POST", ACTION, "unknown action type", lambda c: {"type": c}),
    (
        "POST",
        "/api/webhooks/gateway",
        "forged notification",
        lambda c: {"id": "evt_1", "type": "konbini.paid", "data": {"card": c}},
    ),
]
NUMBER_FIELDS = {"add_to_cart quantity"}


def _everywhere(text: str) -> str:
    return "".join(f"\\u{ord(char):04x}" for char in text)


# How a client may encode the body: the guard reads the bytes, the route parses JSON.
ENCODINGS: dict[str, Callable[[dict[str, Any]], tuple[bytes, str]]] = {
    "utf-8": lambda body: (json.dumps(body, ensure_ascii=False).encode(), "application/json"),
    "ascii escapes": lambda body: (json.dumps(body).encode(), "application/json"),
    "every character escaped": lambda body: (_escape_strings(body).encode(), "application/json"),
    "utf-16": lambda body: (
        json.dumps(body, ensure_ascii=False).encode("utf-16"),
        "application/json",
    ),
}


def _escape_strings(body: dict[str, Any]) -> str:
    """JSON with every character of every string value written as a \\u escape."""

    def encode(value: Any) -> str:
        if isinstance(value, str):
            return f'"{_everywhere(value)}"'
        if isinstance(value, dict):
            return "{" + ",".join(f"{json.dumps(k)}:{encode(v)}" for k, v in value.items()) + "}"
        return json.dumps(value)

    return encode(body)


def _single_message_cases() -> Iterator[PastedCard]:
    return cycle([case for case in CASES if len(case.messages) == 1])


async def _rows(database: Database) -> list[str]:
    return [f"{piece.where}: {piece.text}" for piece in await database_pieces(database)]


async def _prepared(shop: CanaryShop) -> tuple[str, str]:
    """A conversation with a cart, an address and the card method: every action has a target."""
    started = (await shop.api.post("/api/conversations", json={"locale": "en"})).json()
    conversation, token = started["id"], started["token"]
    auth = {"Authorization": f"Bearer {token}"}
    for action in (
        {"type": "add_to_cart", "sku": "TEA-SENCHA", "quantity": 1},
        {"type": "submit_address", "fields": ADDRESS},
        {"type": "choose_payment_method", "method": "card"},
    ):
        answer = await shop.api.post(
            f"/api/conversations/{conversation}/actions", json=action, headers=auth
        )
        assert answer.status_code == 200, answer.text
    return conversation, token


def _routes_that_take_bodies(shop: CanaryShop) -> set[tuple[str, str]]:
    return {
        (method, route.path)
        for route in shop.app.routes
        if isinstance(route, APIRoute)
        for method in (route.methods or set()) & {"POST", "PUT", "PATCH"}
    }


async def test_every_route_refuses_a_card_number_without_storing_it(db: Database) -> None:
    recorder = Recorder()
    await load_catalogue(db)
    with logs_at_debug(recorder):
        await _refuse_everywhere(db, recorder)
    recorder.case = None
    leaks = find_leaks(CASES, [*recorder.pieces, *await database_pieces(db)])
    assert not leaks, "\n".join(leak.describe() for leak in leaks[:20])


async def _refuse_everywhere(db: Database, recorder: Recorder) -> None:
    async with canary_shop(db, offline_model(recorder), recorder) as shop:
        conversation, token = await _prepared(shop)
        covered = {(method, path) for method, path, _, _ in TARGETS}
        covered.add(("POST", "/api/conversations/{conversation_id}/messages"))  # the test below
        covered = {(m, p.replace("{id}", "{conversation_id}")) for m, p in covered}
        untested = _routes_that_take_bodies(shop) - covered
        assert not untested, (
            f"routes taking a body that this test does not send cards to: {untested}"
        )

        before = await _rows(db)
        cards = _single_message_cases()
        tried: list[str] = []
        for method, path, label, body_of in TARGETS:
            for encoding, encode in ENCODINGS.items():
                case = next(cards)
                card: Any = int(case.pan) if label in NUMBER_FIELDS else case.typed[0]
                content, media = encode(body_of(card))
                response = await shop.api.request(
                    method,
                    path.replace("{id}", conversation),
                    content=content,
                    headers={"Authorization": f"Bearer {token}", "Content-Type": media},
                )
                where = f"{label}, {encoding}, format {case.name!r}"
                tried.append(where)
                assert 400 <= response.status_code < 500, (
                    where,
                    response.status_code,
                    response.text[:200],
                )
                leaks = find_leaks([case], [Piece("http response", where, response.text)])
                assert not leaks, leaks
                assert await _rows(db) == before, f"a row changed after: {where}"
        print(
            f"card-holding bodies refused: {len(tried)} "
            f"({len(TARGETS)} fields x {len(ENCODINGS)} encodings), rows changed: 0"
        )
        # A search in the query string is no body, but must not echo or log the card either.
        for case in [case for case in CASES if len(case.messages) == 1][::5]:
            found = await shop.api.get("/api/products", params={"q": case.typed[0]})
            assert found.status_code == 200 and found.json() == [], case.name


@pytest.mark.parametrize("encoding", ["utf-8", "ascii escapes", "every character escaped"])
async def test_a_message_holding_a_card_is_stored_redacted_in_every_json_encoding(
    db: Database, encoding: str
) -> None:
    recorder = Recorder()
    await load_catalogue(db)
    cases = [case for case in CASES if len(case.messages) == 1]
    async with canary_shop(db, offline_model(recorder), recorder) as shop:
        started = (await shop.api.post("/api/conversations", json={"locale": "en"})).json()
        path = f"/api/conversations/{started['id']}/messages"
        headers = {
            "Authorization": f"Bearer {started['token']}",
            "Content-Type": "application/json",
        }
        for case in cases[::4]:
            content, _ = ENCODINGS[encoding]({"text": case.messages[0]})
            response = await shop.api.post(path, content=content, headers=headers)
            assert response.status_code == 200, (case.name, response.text[:200])
        transcript = (
            await shop.api.get(f"/api/conversations/{started['id']}", headers=headers)
        ).json()["transcript"]
    stored = [e["text"] for e in transcript if e["type"] == "message" and e["role"] == "user"]
    assert len(stored) == len(cases[::4])
    assert all(CARD_NUMBER_TOKEN in text for text in stored), stored
    leaks = find_leaks(cases, [*recorder.pieces, *await database_pieces(db)])
    assert not leaks, "\n".join(leak.describe() for leak in leaks[:20])
