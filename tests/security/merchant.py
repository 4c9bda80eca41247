"""The merchant app as the security tests reach it: every route mounted, rate limits off.

This module only houses `mount_privacy` (the shopper's own DELETE route, mounted on an app whose
factory does not mount it yet; a no-op once it does) and `merchant_client`, an HTTP client to a
fresh merchant app over the test's database and in-process sandbox gateway, and `all_rows`, the
whole database as a comparable snapshot, and `Shopper`, one conversation driven over HTTP.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx
from fastapi import FastAPI
from sqlalchemy import select

from agent.model import Model
from agent.testing import FunctionModel, text
from api.app import create_app
from api.routes import privacy
from api.settings import ServiceSettings
from tests.shop_harness import ADDRESS, GATEWAY_URL, Shop
from tools.store.db import Database
from tools.store.models import Base

MERCHANT_URL = "http://127.0.0.1:8000"


def mount_privacy(app: FastAPI) -> FastAPI:
    """`app` with `DELETE /api/conversations/{id}` (added only when the factory left it out)."""
    item = app.openapi()["paths"].get("/api/conversations/{conversation_id}", {})
    if "delete" not in item:
        app.include_router(privacy.router)
        app.openapi_schema = None  # the schema is rebuilt with the new route on the next request
    return app


def polite_model() -> FunctionModel:
    """A model that answers every turn with the same short text (no tool calls)."""
    return FunctionModel(lambda _messages, _tools: text("Noted."))


#: Set, so the operator surface exists and its refusals (401) can be tested like the shoppers'.
OPERATOR_KEY = "operator-key-for-the-security-tests"


def merchant_app(shop: Shop, model: Model | None = None) -> FastAPI:
    """A merchant app over `shop`'s database and gateway, with the privacy route and no rate limits."""
    app = create_app(database=shop.db, gateway=shop.gateway, model=model or polite_model(),
                     gateway_url=GATEWAY_URL, commerce=shop.settings,
                     service=ServiceSettings(public_url=MERCHANT_URL, rate_limit_conversation=0,
                                             rate_limit_client=0, operator_key=OPERATOR_KEY))
    return mount_privacy(app)


def merchant_client(app: FastAPI) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver")


async def all_rows(db: Database) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table, in primary-key order: 'nothing changed' means this is equal."""
    snapshot: dict[str, list[tuple[Any, ...]]] = {}
    async with db.session() as session:
        for table in Base.metadata.sorted_tables:
            result = await session.execute(select(table).order_by(*table.primary_key.columns))
            snapshot[table.name] = [tuple(row) for row in result.all()]
    return snapshot


def row_counts(snapshot: dict[str, list[tuple[Any, ...]]]) -> dict[str, int]:
    return {table: len(rows) for table, rows in snapshot.items()}


@dataclass
class Shopper:
    """One shopper's conversation over HTTP: its id, its token and the requests a browser sends."""

    client: httpx.AsyncClient
    id: str = ""
    token: str = ""

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    async def start(self, locale: str = "en") -> Shopper:
        response = await self.client.post("/api/conversations", json={"locale": locale})
        assert response.status_code == 201, response.text
        self.id, self.token = response.json()["id"], response.json()["token"]
        return self

    async def act(self, **action: Any) -> list[dict[str, Any]]:
        response = await self.client.post(f"/api/conversations/{self.id}/actions", json=action,
                                          headers=self.auth)
        assert response.status_code == 200, response.text
        events: list[dict[str, Any]] = response.json()["events"]
        return events

    async def buy_with_konbini(self, sku: str = "TEA-SENCHA", quantity: int = 2) -> str:
        """Cart, address, convenience-store payment, confirm: the order waits for the payment."""
        await self.act(type="add_to_cart", sku=sku, quantity=quantity)
        await self.act(type="submit_address", fields=ADDRESS)
        events = await self.act(type="choose_payment_method", method="konbini")
        confirm = next(e["widget"] for e in events
                       if e["type"] == "widget" and e["widget"]["kind"] == "confirm")
        await self.act(type="confirm", quote_id=confirm["quote_id"],
                       quote_hash=confirm["quote_hash"])
        state = await self.client.get(f"/api/conversations/{self.id}", headers=self.auth)
        order: dict[str, Any] = state.json()["order"]
        assert order["status"] == "awaiting_store_payment", order
        return str(order["id"])
