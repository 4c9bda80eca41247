"""A conversation exported to a scenario replays to the same order.

The conversation is driven through the real HTTP API with the offline model (a chat message, then
widget actions for the cart, address, method, card and Pay), exported with the CLI command, and
the scenario file it writes is run by the eval runner in a fresh shop.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from sqlalchemy import select
from sqlalchemy.orm import selectinload
from typer.testing import CliRunner

from agent.openai_model import create_model
from agent.settings import AgentSettings
from api.app import create_app
from api.settings import ServiceSettings
from evals.cli import app as eval_app
from evals.from_conversation import steps_from_events
from evals.scenario import load_scenarios
from evals.suite import ModelByName
from tests.api.conftest import ADDRESS, Chat, widget
from tests.evals.conftest import run
from tests.factories import make_small_catalog
from tests.shop_harness import GATEWAY_URL, Shop
from tools.store.models import ConversationEvent, Order


@pytest.fixture
async def chat(shop: Shop) -> AsyncIterator[Chat]:
    async with shop.db.session() as session:
        await make_small_catalog(session)
        await session.commit()
    app = create_app(database=shop.db, gateway=shop.gateway,
                     model=create_model(AgentSettings(model="offline")), gateway_url=GATEWAY_URL,
                     commerce=shop.settings,
                     service=ServiceSettings(public_url="http://127.0.0.1:8000"))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                 base_url="http://testserver") as client:
        yield Chat(client=client, shop=shop)


async def _order(shop: Shop, conversation_id: str) -> Order:
    async with shop.db.session() as session:
        order = await session.scalar(select(Order).where(Order.conversation_id == conversation_id)
                                     .options(selectinload(Order.lines)))
    assert order is not None
    return order


def _export(database_url: str, conversation_id: str, out: Path) -> dict[str, Any]:
    result = CliRunner().invoke(eval_app, ["from-conversation", conversation_id,
                                           "--url", database_url, "--out", str(out)])
    assert result.exit_code == 0, result.output
    data: dict[str, Any] = yaml.safe_load(out.read_text(encoding="utf-8"))
    return data


async def test_an_exported_conversation_replays_to_the_same_order(
        chat: Chat, shop: Shop, database_url: str, tmp_path: Path) -> None:
    await chat.start()
    await chat.say("two sencha please")  # the model adds them
    await chat.do(type="add_to_cart", sku="MUG-HASAMI", quantity=1)
    await chat.do(type="quick_reply", value="checkout")
    await chat.do(type="submit_address", fields={**ADDRESS, "name": "Hanako Suzuki",
                                                 "email": "hanako@example.org"})
    await chat.do(type="choose_payment_method", method="card")
    confirm = widget(await chat.pay_with_card("5555 5555 5555 4444"), "confirm")
    await chat.do(type="confirm", quote_id=confirm["quote_id"], quote_hash=confirm["quote_hash"])
    original = await _order(shop, chat.id)
    assert original.status == "paid"

    path = tmp_path / "replay.yaml"
    # The command runs its own event loop (asyncio.run): give it a thread of its own.
    data = await asyncio.to_thread(_export, database_url, chat.id, path)
    # What the shopper did, read back from the transcript; personal data replaced by test data.
    assert data["steps"] == [
        {"user": "two sencha please"},
        {"action": {"type": "add_to_cart", "sku": "MUG-HASAMI", "quantity": 1}},
        {"action": {"type": "checkout"}},
        {"action": {"type": "submit_address", "fields": {
            "name": "Taro Yamada", "postal_code": "150-0002", "prefecture": "", "city": "",
            "line1": "2-21-1", "line2": "", "phone": "090-1234-5678",
            "email": "taro@example.com"}}},
        {"action": {"type": "choose_payment_method", "method": "card"}},
        {"card": {"number": "5555 5555 5555 4444", "exp": "12/30", "cvc": "123"}},
        {"confirm": True},
    ]
    assert "Hanako" not in json.dumps(data)

    [loaded] = load_scenarios([path])
    suite = await run([loaded], ModelByName("offline"))
    [result] = suite.runs
    assert result.passed, result.failures
    assert result.order is not None
    replayed = {"status": result.order["status"], "total": result.order["total"],
                "payment_method": result.order["payment_method"],
                "lines": sorted((line["sku"], line["quantity"], line["unit_price"])
                                for line in result.order["lines"])}
    assert replayed == {"status": original.status, "total": original.total,
                        "payment_method": original.payment_method,
                        "lines": sorted((line.sku, line.quantity, line.unit_price)
                                        for line in original.lines)}


def test_an_unknown_conversation_is_exit_2(database_url: str, tmp_path: Path) -> None:
    result = CliRunner().invoke(eval_app, ["from-conversation", "nope", "--url", database_url])
    assert result.exit_code == 2
    assert "no conversation nope" in result.output


def _row(source: str, text: str = "", widget: dict[str, Any] | None = None,
         role: str = "assistant") -> ConversationEvent:
    return ConversationEvent(kind="widget" if widget else "message", role=role, text=text,
                             widget=widget, source=source)


def _cart(**lines: int) -> dict[str, Any]:
    return {"kind": "cart", "lines": [{"sku": sku, "quantity": q} for sku, q in lines.items()]}


def test_steps_are_read_back_from_what_the_actions_caused() -> None:
    rows = [
        _row("shopper", "[card number removed] and two sencha", role="user"),
        _row("model", widget=_cart(TEA_SENCHA=2)),  # the model's doing: the message redoes it
        _row("action", widget=_cart(TEA_SENCHA=1, MUG=1)),  # fewer tea, a new mug
        _row("action", "Your cart is now empty. What would you like?"),
        _row("action", widget=_cart(PEN=3)),
        _row("action", "お支払い方法：クレジットカード"),  # Japanese texts are read too
        _row("action", "Card AMEX ending 0005 is ready."),
        _row("action", widget={"kind": "threeds_challenge"}),
        _row("action", widget={"kind": "receipt"}),
        _row("action", widget=_cart()),  # the bought cart, empty: nothing to undo
    ]
    assert steps_from_events(rows) == [
        {"user": "[card number removed] and two sencha"},
        {"action": {"type": "remove_from_cart", "sku": "TEA_SENCHA"}},
        {"action": {"type": "add_to_cart", "sku": "TEA_SENCHA", "quantity": 1}},
        {"action": {"type": "add_to_cart", "sku": "MUG", "quantity": 1}},
        {"action": {"type": "quick_reply", "value": "start_over"}},
        {"action": {"type": "add_to_cart", "sku": "PEN", "quantity": 3}},
        {"action": {"type": "choose_payment_method", "method": "card"}},
        {"card": {"number": "3782 822463 10005", "exp": "12/30", "cvc": "1234"}},
        {"confirm": True},
        {"threeds": {"code": "123456"}},
    ]
