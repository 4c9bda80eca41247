"""The database goes away for a moment: 503 with Retry-After, nothing half-written, then recovery.

Outages (see `outages.py`): on SQLite another connection holds the write lock past the busy
timeout; on PostgreSQL the database refuses connections and its sessions are terminated. During
one, every request that needs the database answers 503 with `Retry-After` and the standard error
body, and no row changes. Once it is back, the same app instance serves again without a restart:
`/readyz` is 200 and the shopper's message, sent again, is stored once - also when the outage
began while the model was thinking, after the message had been stored. An outage right after the
gateway charged leaves a pending payment that the next confirm click reports and reconcile settles.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import DBAPIError, IntegrityError, InterfaceError

from agent.model import Message, ModelResponse, ToolSchema
from agent.testing import FunctionModel
from agent.testing import text as model_text
from api.app import create_app
from api.settings import ServiceSettings
from tests.api.conftest import ADDRESS, Chat, texts, widget
from tests.factories import make_small_catalog
from tests.reliability.money_invariants import assert_money_consistent
from tests.reliability.outages import Outage, outage_database, outage_for
from tests.reliability.wire_faults import FaultyTransport
from tests.shop_harness import GATEWAY_URL, Shop
from tools.payments.charging import reconcile
from tools.payments.gateway import PaymentGateway
from tools.payments.sandbox import SandboxGateway
from tools.store.db import Database
from tools.store.models import Base

GOOD_CARD = "4242424242424242"


@dataclass
class Outlet:
    """The app under test, its own database handle (short busy timeout) and the outage."""

    chat: Chat
    database: Database
    outage: Outage
    replies: list[str]


async def row_counts(database: Database) -> dict[str, int]:
    async with database.session() as session:
        return {table.name: await session.scalar(select(func.count()).select_from(table)) or 0
                for table in Base.metadata.sorted_tables}


def build_chat(shop: Shop, database: Database, model: Any,
               gateway: PaymentGateway | None = None) -> Chat:
    app = create_app(database=database, gateway=gateway or shop.gateway, model=model,
                     gateway_url=GATEWAY_URL, commerce=shop.settings,
                     service=ServiceSettings(public_url="http://127.0.0.1:8000"))
    client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                               base_url="http://testserver")
    return Chat(client=client, shop=shop)


@pytest.fixture
async def outlet(shop: Shop) -> AsyncIterator[Outlet]:
    async with shop.db.session() as session:
        await make_small_catalog(session)
        await session.commit()
    database = outage_database(shop.db.url)
    outage = outage_for(shop.db)
    replies: list[str] = []

    def answer(messages: list[Message], tools: list[ToolSchema]) -> ModelResponse:
        replies.append(f"Reply {len(replies) + 1}.")
        return model_text(replies[-1])

    chat = build_chat(shop, database, FunctionModel(answer))
    try:
        yield Outlet(chat, database, outage, replies)
    finally:
        await outage.end()
        await chat.client.aclose()
        await database.dispose()


def assert_unavailable(response: httpx.Response) -> None:
    """503, a Retry-After the client can act on, and the standard error body."""
    assert response.status_code == 503, (response.status_code, response.text)
    assert int(response.headers["retry-after"]) > 0
    body = response.json()
    assert set(body) == {"error"} and body["error"]["code"] == "unavailable"
    assert body["error"]["message"]


async def user_messages(chat: Chat) -> list[str]:
    response = await chat.client.get(f"/api/conversations/{chat.id}", headers=chat.auth)
    assert response.status_code == 200, response.text
    return [e["text"] for e in response.json()["transcript"]
            if e["type"] == "message" and e["role"] == "user"]


async def test_requests_during_an_outage_get_503_and_change_nothing(outlet: Outlet) -> None:
    chat = outlet.chat
    await chat.start()
    assert texts(await chat.say("hello")) == "Reply 1."
    before = await row_counts(outlet.database)

    await outlet.outage.begin()
    ready = await chat.client.get("/readyz")
    assert ready.status_code == 503 and ready.headers["retry-after"]
    assert_unavailable(await chat.client.post(f"/api/conversations/{chat.id}/messages",
                                              json={"text": "any green tea?"},
                                              headers=chat.auth))
    assert_unavailable(await chat.act(type="add_to_cart", sku="TEA-SENCHA", quantity=1))
    assert_unavailable(await chat.client.get(f"/api/conversations/{chat.id}",
                                             headers=chat.auth))
    assert_unavailable(await chat.client.post("/api/conversations", json={"locale": "en"}))
    await outlet.outage.end()

    assert await row_counts(outlet.database) == before  # not one row written, not half a turn
    assert outlet.replies == ["Reply 1."]  # and the model was never asked
    # The same app instance, no restart: ready again, and the message goes through once.
    assert (await chat.client.get("/readyz")).status_code == 200
    assert texts(await chat.say("any green tea?")) == "Reply 2."
    assert await user_messages(chat) == ["hello", "any green tea?"]
    assert widget(await chat.do(type="add_to_cart", sku="TEA-SENCHA", quantity=1),
                  "cart")["lines"][0]["quantity"] == 1


async def test_outage_while_the_model_thinks_then_the_resent_message_is_stored_once(
        shop: Shop, outlet: Outlet) -> None:
    """The message is stored before the model is asked; the outage starts during the model call,
    so the reply cannot be stored. Sent again after the outage, it must not appear twice."""
    outage = outlet.outage
    calls: list[str] = []

    async def thinks_through_an_outage(messages: list[Message],
                                       tools: list[ToolSchema]) -> ModelResponse:
        calls.append(str(messages[-2]["content"]))
        if len(calls) == 1:
            await outage.begin()
        return model_text(f"Answer {len(calls)}.")

    chat = build_chat(shop, outlet.database, FunctionModel(thinks_through_an_outage))
    await chat.start()
    first = await chat.client.post(f"/api/conversations/{chat.id}/messages",
                                   json={"text": "any green tea?"}, headers=chat.auth)
    assert_unavailable(first)
    await outage.end()

    retried = await chat.say("any green tea?")
    assert texts(retried) == "Answer 2."
    assert await user_messages(chat) == ["any green tea?"]
    # The model saw the message once in the retried turn, not a duplicate pair.
    assert calls == ["any green tea?", "any green tea?"]
    # A message typed twice on purpose after a reply is still two messages.
    await chat.say("any green tea?")
    assert await user_messages(chat) == ["any green tea?", "any green tea?"]
    await chat.client.aclose()


async def test_outage_after_the_gateway_charged_is_settled_by_reconcile(shop: Shop,
                                                                        outlet: Outlet) -> None:
    """The gateway charges, then the database is gone before the merchant records it."""
    assert shop.merchant_wire is not None
    wire = FaultyTransport(shop.merchant_wire, on_charged=outlet.outage.begin)
    gateway = SandboxGateway(GATEWAY_URL, "sk_test_flow", "whsec_test_flow", transport=wire)
    chat = build_chat(shop, outlet.database, FunctionModel(lambda m, t: model_text("-")), gateway)
    await chat.start()
    await chat.do(type="add_to_cart", sku="TEA-SENCHA", quantity=2)
    await chat.do(type="submit_address", fields=ADDRESS)
    await chat.do(type="choose_payment_method", method="card")
    confirm = widget(await chat.pay_with_card(GOOD_CARD), "confirm")
    click = {"type": "confirm", "quote_id": confirm["quote_id"],
             "quote_hash": confirm["quote_hash"]}

    assert_unavailable(await chat.act(**click))
    await outlet.outage.end()
    wire.on_charged = None
    assert wire.charges_delivered == 1 and len(await shop.ledger()) == 1

    # Clicked again: the order exists and its payment is being confirmed; nobody is called.
    again = await chat.do(**click)
    assert "confirming the payment" in texts(again)
    assert len(wire.charge_keys) == 1

    report = await reconcile(outlet.database, gateway, older_than=timedelta(seconds=-1))
    assert report.settled == {"approved": 1} and report.still_pending == 0
    receipt = widget(await chat.do(**click), "receipt")
    assert receipt["status"] == "paid" and receipt["total"] == 3000
    assert len(wire.charge_keys) == 1
    await assert_money_consistent(outlet.database, await shop.ledger())
    await gateway.aclose()
    await chat.client.aclose()


class _DriverError(Exception):
    def __init__(self, sqlstate: str) -> None:
        super().__init__(f"driver error {sqlstate}")
        self.sqlstate = sqlstate


@pytest.mark.parametrize(("error", "status"), [
    (DBAPIError(None, None, _DriverError("55000")), 503),  # connecting: not accepting connections
    (DBAPIError("SELECT currval('s')", {}, _DriverError("55000")), 500),  # a bug, not an outage
    (DBAPIError(None, None, _DriverError("57P01")), 503),  # admin shutdown
    (DBAPIError(None, None, _DriverError("53300")), 503),  # too many connections
    (InterfaceError("SELECT 1", {}, _DriverError(""), connection_invalidated=True), 503),
    (IntegrityError("INSERT ...", {}, _DriverError("23505")), 500),  # a violated constraint
])
async def test_only_database_outages_become_503(error: Exception, status: int) -> None:
    """Retrying helps with an outage, never with a bug: those stay a 500 (and are logged)."""
    database = Database("sqlite+aiosqlite:///:memory:")  # never reached by the failing route
    app = create_app(database=database, gateway=SandboxGateway(GATEWAY_URL, "k", "s"),
                     model=FunctionModel(lambda m, t: model_text("-")), gateway_url=GATEWAY_URL)

    async def fail() -> None:
        raise error

    app.add_api_route("/fails", fail)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        response = await client.get("/fails")
    await database.dispose()
    assert response.status_code == status
    if status == 503:
        assert_unavailable(response)
