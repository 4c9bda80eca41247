"""A merchant app over the payment harness, with the model each test chooses."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from agent.model import Model
from api.app import create_app
from api.settings import ServiceSettings
from tests.factories import make_small_catalog
from tests.shop_harness import ADDRESS as ADDRESS  # re-exported: many tests import it from here
from tests.shop_harness import GATEWAY_URL, Shop


@dataclass
class Chat:
    """A shopper's conversation over the real HTTP API (in-process)."""

    client: httpx.AsyncClient
    shop: Shop
    id: str = ""
    token: str = ""

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    async def start(self, locale: str = "en") -> list[dict[str, Any]]:
        response = await self.client.post("/api/conversations", json={"locale": locale})
        assert response.status_code == 201, response.text
        body = response.json()
        self.id, self.token = body["id"], body["token"]
        events: list[dict[str, Any]] = body["events"]
        return events

    async def say(self, text: str) -> list[dict[str, Any]]:
        response = await self.client.post(f"/api/conversations/{self.id}/messages",
                                          json={"text": text}, headers=self.auth)
        assert response.status_code == 200, response.text
        events: list[dict[str, Any]] = response.json()["events"]
        return events

    async def act(self, **action: Any) -> httpx.Response:
        return await self.client.post(f"/api/conversations/{self.id}/actions", json=action,
                                      headers=self.auth)

    async def do(self, **action: Any) -> list[dict[str, Any]]:
        response = await self.act(**action)
        assert response.status_code == 200, response.text
        events: list[dict[str, Any]] = response.json()["events"]
        return events

    async def confirm(self, shown: dict[str, Any]) -> list[dict[str, Any]]:
        """Press "confirm" on the confirmation widget `shown`: the order is placed."""
        return await self.do(type="confirm", quote_id=shown["quote_id"],
                             quote_hash=shown["quote_hash"])

    async def pay_with_card(self, number: str) -> list[dict[str, Any]]:
        token = await self.shop.tokenize(number)
        return await self.do(type="card_token", token=token)


def widget(events: list[dict[str, Any]], kind: str) -> dict[str, Any]:
    """The last widget of `kind` in `events` (fails the test when there is none)."""
    found = [e["widget"] for e in events if e["type"] == "widget" and e["widget"]["kind"] == kind]
    assert found, f"no {kind} widget in {[e.get('widget', {}).get('kind') for e in events]}"
    return found[-1]


def texts(events: list[dict[str, Any]]) -> str:
    return "\n".join(e["text"] for e in events if e["type"] == "message")


ChatFactory = Callable[[Model], Any]

#: The operator key of `shop_app(..., operator_key=OPERATOR_KEY)`, and the header that presents it.
OPERATOR_KEY = "k" * 32
OPERATOR = {"Authorization": f"Bearer {OPERATOR_KEY}"}


def shop_app(shop: Shop, model: Model | None, *, operator_key: str | None = None) -> FastAPI:
    """The merchant app over the payment harness; an `operator_key` opens the operator surface."""
    return create_app(database=shop.db, gateway=shop.gateway, model=model, gateway_url=GATEWAY_URL,
                      commerce=shop.settings,
                      service=ServiceSettings(public_url="http://127.0.0.1:8000",
                                              operator_key=operator_key))


@pytest.fixture
async def chat_factory(shop: Shop) -> AsyncIterator[Callable[[Model], Any]]:
    """Build a Chat against a fresh app with the given model (catalogue already loaded)."""
    async with shop.db.session() as session:
        await make_small_catalog(session)
        await session.commit()
    clients: list[httpx.AsyncClient] = []

    def build(model: Model) -> Chat:
        client = httpx.AsyncClient(transport=httpx.ASGITransport(app=shop_app(shop, model)),
                                   base_url="http://testserver")
        clients.append(client)
        return Chat(client=client, shop=shop)

    yield build
    for client in clients:
        await client.aclose()
