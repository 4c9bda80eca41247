"""Conversation review for operators: one conversation in full, and the JSON-lines export.

Conversations are made through the real shopper API (widget actions, sandbox payments); the
operator routes must show what the shopper saw, redacted, with the orders and the funnel stage.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import update

from agent.testing import FailingModel
from tests.api.conftest import ADDRESS, OPERATOR, OPERATOR_KEY, Chat, shop_app, widget
from tests.factories import make_small_catalog
from tests.shop_harness import Shop
from tools.store.models import ConversationEvent

CARD = "4242 4242 4242 4242"


def operator_app(shop: Shop, *, key: str | None = OPERATOR_KEY) -> FastAPI:
    return shop_app(shop, FailingModel(), operator_key=key)


@pytest.fixture
async def client(shop: Shop) -> AsyncIterator[httpx.AsyncClient]:
    async with shop.db.session() as session:
        await make_small_catalog(session)
        await session.commit()
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=operator_app(shop)),
                                 base_url="http://testserver") as http:
        yield http


async def _paid(client: httpx.AsyncClient, shop: Shop) -> Chat:
    """A card purchase of two Sencha, with a card number pasted into the chat on the way."""
    chat = Chat(client=client, shop=shop)
    await chat.start()
    await chat.say(f"my card is {CARD}")
    await chat.do(type="add_to_cart", sku="TEA-SENCHA", quantity=2)
    await chat.do(type="submit_address", fields=ADDRESS)
    await chat.do(type="choose_payment_method", method="card")
    confirm = widget(await chat.pay_with_card(CARD), "confirm")
    await chat.confirm(confirm)
    return chat


async def _cart_only(client: httpx.AsyncClient, shop: Shop) -> Chat:
    chat = Chat(client=client, shop=shop)
    await chat.start(locale="ja")
    await chat.do(type="add_to_cart", sku="MUG-HASAMI", quantity=1)
    return chat


def _ndjson(response: httpx.Response) -> list[dict[str, Any]]:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/x-ndjson")
    assert response.text.endswith("\n") or response.text == ""
    return [json.loads(line) for line in response.text.splitlines()]


@pytest.mark.parametrize("path", ["/api/operator/conversations/export",
                                  "/api/operator/conversations/00000000-0000-0000-0000-0000000000"])
async def test_the_operator_key_is_required(shop: Shop, path: str) -> None:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=operator_app(shop)),
                                 base_url="http://testserver") as http:
        assert (await http.get(path)).status_code == 401
        assert (await http.get(path, headers={"Authorization": "Bearer " + "x" * 32})
                ).status_code == 401
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=operator_app(shop, key=None)),
                                 base_url="http://testserver") as http:
        assert (await http.get(path, headers=OPERATOR)).status_code == 404


async def test_detail_shows_the_shoppers_transcript_orders_and_stage(
        client: httpx.AsyncClient, shop: Shop) -> None:
    chat = await _paid(client, shop)
    shopper_view = (await client.get(f"/api/conversations/{chat.id}", headers=chat.auth)).json()
    response = await client.get(f"/api/operator/conversations/{chat.id}", headers=OPERATOR)
    assert response.status_code == 200
    detail = response.json()
    assert detail["transcript"] == shopper_view["transcript"]
    shown = json.dumps(detail["transcript"])
    assert CARD not in shown and CARD.replace(" ", "") not in shown and "4242 4242" not in shown
    assert "my card is [card number removed]" in shown
    assert (detail["id"], detail["locale"], detail["prompt_variant"], detail["stage"]) == (
        chat.id, "en", None, "purchased")
    [order] = detail["orders"]
    assert {k: order[k] for k in ("status", "total", "currency", "payment_method")} == {
        "status": "paid", "total": 3000, "currency": "JPY", "payment_method": "card"}
    assert order["id"] == shopper_view["order"]["id"]
    assert order["lines"] == [{"sku": "TEA-SENCHA", "name": "Sencha green tea 100 g",
                               "quantity": 2, "unit_price": 1200}]
    missing = await client.get("/api/operator/conversations/nope", headers=OPERATOR)
    assert missing.status_code == 404


async def test_a_card_number_stored_before_redaction_does_not_leave(
        client: httpx.AsyncClient, shop: Shop) -> None:
    chat = await _cart_only(client, shop)
    # A row written by an older build, before a redaction rule caught this spelling.
    async with shop.db.session() as session:
        await session.execute(update(ConversationEvent)
                              .where(ConversationEvent.conversation_id == chat.id,
                                     ConversationEvent.seq == 1)
                              .values(text=f"card {CARD}, thanks"))
        await session.commit()
    detail = (await client.get(f"/api/operator/conversations/{chat.id}", headers=OPERATOR)).json()
    exported = (await client.get("/api/operator/conversations/export", headers=OPERATOR)).text
    for shown in (json.dumps(detail), exported):
        assert CARD not in shown and CARD.replace(" ", "") not in shown
        assert "card [card number removed], thanks" in shown


async def test_export_is_one_detail_per_line_with_the_lists_filters(
        client: httpx.AsyncClient, shop: Shop) -> None:
    paid = await _paid(client, shop)
    cart = await _cart_only(client, shop)
    everything = _ndjson(await client.get("/api/operator/conversations/export", headers=OPERATOR))
    assert [line["id"] for line in everything] == [cart.id, paid.id]  # newest first
    for line in everything:
        detail = await client.get(f"/api/operator/conversations/{line['id']}", headers=OPERATOR)
        assert line == detail.json()

    async def ids(**params: str) -> list[str]:
        response = await client.get("/api/operator/conversations/export", params=params,
                                    headers=OPERATOR)
        return [line["id"] for line in _ndjson(response)]

    order_id = everything[1]["orders"][0]["id"]
    assert await ids(status="paid") == [paid.id]
    assert await ids(order_id=order_id) == [paid.id]
    assert await ids(stage="cart") == [cart.id]
    assert await ids(stage="purchased") == [paid.id]
    assert await ids(stage="address") == []
    assert await ids(limit="1", offset="1") == [paid.id]
    bad = await client.get("/api/operator/conversations/export", params={"stage": "nowhere"},
                           headers=OPERATOR)
    assert bad.status_code == 422
