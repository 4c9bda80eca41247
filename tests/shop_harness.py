"""A merchant checkout wired to an in-process sandbox gateway: the `shop` and `pg_shop` fixtures."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from tests.factories import make_conversation, make_small_catalog
from tools.address import save_address, validate_address
from tools.cart import add_item
from tools.checkout.payment_choice import choose_payment_method
from tools.checkout.quote import prepare_quote
from tools.payments.card_intake import accept_card_token
from tools.payments.gateway import ChargeResult, PaymentGateway
from tools.payments.sandbox import SandboxGateway, SandboxSettings, create_app, tokenize_card
from tools.payments.sandbox.records import OutboundEvent
from tools.settings import CommerceSettings
from tools.store.db import Database

GATEWAY_URL = "http://127.0.0.1:8001"
ADDRESS = {
    "name": "Taro Yamada", "postal_code": "150-0002", "prefecture": "", "city": "",
    "line1": "2-21-1", "line2": "", "phone": "090-1234-5678", "email": "taro@example.com",
}


class CountingGateway:
    """Wraps a gateway and records every charge call (the key it used) - the double-charge probe."""

    def __init__(self, inner: PaymentGateway) -> None:
        self.inner = inner
        self.name = inner.name
        self.charge_keys: list[str] = []

    async def charge(self, **kwargs: Any) -> ChargeResult:
        self.charge_keys.append(kwargs["idempotency_key"])
        return await self.inner.charge(**kwargs)

    def __getattr__(self, item: str) -> Any:
        return getattr(self.inner, item)


class RecordingTransport(httpx.AsyncBaseTransport):
    """The merchant's side of the wire to the gateway: every request and response body, as sent."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner = inner
        self.traffic: list[str] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.traffic.append(f"{request.method} {request.url}\n{request.content.decode()}")
        response = await self.inner.handle_async_request(request)
        body = await response.aread()
        self.traffic.append(body.decode(errors="replace"))
        return httpx.Response(response.status_code, headers=response.headers, content=body)


@dataclass
class Shop:
    """Everything a payment test needs: the database, the gateway, the sandbox's own controls."""

    db: Database
    gateway: CountingGateway
    sandbox: httpx.AsyncClient  # the gateway's HTTP API, as the browser and the test controls see it
    settings: CommerceSettings
    webhooks: list[OutboundEvent] = field(default_factory=list)
    merchant_wire: RecordingTransport | None = None  # merchant <-> gateway traffic

    async def tokenize(self, number: str) -> str:
        cvc = "1234" if number[:2] in ("34", "37") else "123"  # American Express has four digits
        info = await tokenize_card(self.sandbox, number=number, exp_month=12, exp_year=2031,
                                   cvc=cvc, name="TARO YAMADA")
        return info.token

    async def ready_conversation(self, *, method: str = "card", card: str | None = None,
                                 name: str = "Taro Yamada", phone: str = "090-1234-5678",
                                 sku: str = "TEA-SENCHA", quantity: int = 2) -> str:
        async with self.db.session() as session:
            await make_small_catalog(session)
            conversation = await make_conversation(session)
            await add_item(session, conversation.id, sku, quantity)
            await save_address(session, conversation.id,
                               validate_address({**ADDRESS, "name": name, "phone": phone}))
            await choose_payment_method(session, conversation.id, method, self.settings)
            await session.commit()
            cid = conversation.id
        if card is not None:
            await self.use_card(cid, card)
        return cid

    async def use_card(self, cid: str, number: str) -> None:
        token = await self.tokenize(number)
        async with self.db.session() as session:
            await accept_card_token(session, self.gateway, cid, token)
            await session.commit()

    async def quote(self, cid: str) -> tuple[str, str]:
        async with self.db.session() as session:
            quote = await prepare_quote(session, cid, self.settings)
            await session.commit()
            return quote.id, quote.content_hash

    async def ledger(self) -> list[dict[str, Any]]:
        response = await self.sandbox.get("/sandbox/charges")
        response.raise_for_status()
        data: list[dict[str, Any]] = response.json()["data"]
        return data

    async def faults(self, **faults: int) -> None:
        (await self.sandbox.post("/sandbox/faults", json=faults)).raise_for_status()


@pytest.fixture
async def shop(db: Database) -> AsyncIterator[Shop]:
    async for value in _shop(db):
        yield value


@pytest.fixture
async def pg_shop(pg_db: Database) -> AsyncIterator[Shop]:
    async for value in _shop(pg_db):
        yield value


async def _shop(db: Database) -> AsyncIterator[Shop]:
    sent: list[OutboundEvent] = []

    async def capture(outbound: OutboundEvent) -> None:
        sent.append(outbound)

    settings = SandboxSettings(public_url=GATEWAY_URL, api_key="sk_test_flow",
                               webhook_secret="whsec_test_flow")
    app = create_app(settings, send_webhook=capture)
    transport = httpx.ASGITransport(app=app)
    merchant_wire = RecordingTransport(transport)
    inner = SandboxGateway(GATEWAY_URL, "sk_test_flow", "whsec_test_flow",
                           transport=merchant_wire)
    async with httpx.AsyncClient(transport=transport, base_url=GATEWAY_URL,
                                 headers={"Authorization": "Bearer sk_test_flow"}) as sandbox:
        yield Shop(db=db, gateway=CountingGateway(inner), sandbox=sandbox,
                   settings=CommerceSettings(), webhooks=sent, merchant_wire=merchant_wire)
