"""A compromised language model for security tests, and the shop it attacks over the HTTP API.

This module only houses `Adversary` (a `Model` that plays whatever hostile answers a test queues
and logs every tool result the agent sends back to it), `AttackedShop` (the merchant app with that
model, reached over HTTP exactly as a browser reaches it), `expected_bill`, the test's own
arithmetic of what the catalogue says an order costs, and `mispriced`, which holds every stored
quote, order and payment to it.

The adversary stands for a jailbroken or prompt-injected model: it may call any tool with any
arguments, call tools forever, or write text dressed up as a confirmation widget. Nothing it does
may spend the shopper's money; the tests check that against the database and the API, not against
what the model is told.
"""

from __future__ import annotations

import json
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx
from fastapi import FastAPI
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from agent.model import Message, ModelResponse, ToolSchema
from agent.testing import FunctionModel, ScriptExhausted
from agent.turn import ConversationAgent
from tests.api.conftest import Chat, shop_app
from tests.shop_harness import Shop
from tools.store.models import Order, Payment, Product, Quote

Play = ModelResponse | Callable[[list[Message]], ModelResponse]
"""One answer of the adversary: fixed, or decided from the messages it was sent."""


@dataclass(frozen=True)
class Exchange:
    """One tool call the adversary made and the result the agent sent back for it."""

    name: str
    arguments_json: str
    result: dict[str, Any]

    @property
    def ok(self) -> bool:
        return bool(self.result.get("ok"))

    @property
    def error_code(self) -> str | None:
        error = self.result.get("error")
        return str(error["code"]) if isinstance(error, dict) else None


class Adversary(FunctionModel):
    """Answers with the queued plays in order, then with `forever` (if set) for every request.

    Every request still goes through `check_request` (as a real endpoint's 400s would), so an
    attack cannot pass only because the agent sent a history no provider would accept.
    """

    def __init__(self) -> None:
        super().__init__(self._answer, name="adversary")
        self.plan: deque[Play] = deque()
        self.forever: Play | None = None
        self.exchanges: list[Exchange] = []

    def queue(self, *plays: Play) -> None:
        self.plan.extend(plays)

    def _answer(self, messages: list[Message], tools: list[ToolSchema]) -> ModelResponse:
        self._log_results(messages)
        if self.plan:
            play = self.plan.popleft()
        elif self.forever is not None:
            play = self.forever
        else:
            raise ScriptExhausted(f"adversary: no play left for request #{len(self.calls)}")
        return play if isinstance(play, ModelResponse) else play(messages)

    def _log_results(self, messages: list[Message]) -> None:
        # The results of the previous answer's calls sit between its assistant message and the
        # state block; earlier steps of the turn were logged when they were first sent.
        tail = messages[:-1]
        results: list[Message] = []
        while tail and tail[-1]["role"] == "tool":
            results.insert(0, tail.pop())
        if not results or not tail or tail[-1]["role"] != "assistant":
            return
        calls = {c["id"]: c["function"] for c in tail[-1].get("tool_calls") or []}
        for message in results:
            function = calls[message["tool_call_id"]]
            self.exchanges.append(
                Exchange(function["name"], function["arguments"], json.loads(message["content"]))
            )

    def sent_text(self) -> str:
        """Everything the agent ever sent this model, as one string (for leak checks)."""
        return json.dumps([call.messages for call in self.calls], ensure_ascii=False)


@dataclass
class AttackedShop:
    """The merchant app over the payment harness, one per model; chats reach it over HTTP."""

    shop: Shop
    apps: list[FastAPI] = field(default_factory=list)
    clients: list[httpx.AsyncClient] = field(default_factory=list)

    def chat(self, model: Adversary | FunctionModel) -> Chat:
        app = shop_app(self.shop, model)
        client = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://testserver"
        )
        self.apps.append(app)
        self.clients.append(client)
        return Chat(client=client, shop=self.shop)

    @property
    def agent(self) -> ConversationAgent:
        agent: ConversationAgent = self.apps[-1].state.agent
        return agent

    async def close(self) -> None:
        for client in self.clients:
            await client.aclose()


async def expected_bill(shop: Shop, items: Mapping[str, int], method: str | None) -> dict[str, Any]:
    """What the catalogue says `items` cost with `method`: the test's own arithmetic.

    Written from the published rules (tax-inclusive prices; shipping unless the goods reach the
    free-shipping threshold; the method's fee; shipping and fee taxed at 10 %; tax rounded down
    once per rate) over the product rows, so a bug in `tools.pricing` cannot hide behind itself.
    """
    settings = shop.settings
    async with shop.db.session() as session:
        rows = (await session.scalars(select(Product).where(Product.sku.in_(list(items))))).all()
    products = {p.sku: p for p in rows}
    assert set(products) == set(items), f"unknown skus {set(items) - set(products)}"
    subtotal = sum(products[sku].price * quantity for sku, quantity in items.items())
    shipping = 0 if not items or subtotal >= settings.free_shipping_from else settings.shipping_fee
    fees = {
        "card": settings.fee_card,
        "after_delivery": settings.fee_after_delivery,
        "konbini": settings.fee_konbini,
    }
    fee = fees[method] if method and items else 0
    taxable = {10: shipping + fee, 8: 0}
    for sku, quantity in items.items():
        taxable[products[sku].tax_rate] += products[sku].price * quantity
    return {
        "subtotal": subtotal,
        "shipping_fee": shipping,
        "payment_fee": fee,
        "tax_included": {
            str(rate): amount * rate // (100 + rate) for rate, amount in taxable.items()
        },
        "total": subtotal + shipping + fee,
    }


async def mispriced(shop: Shop) -> list[str]:
    """Every quote, order, payment and gateway charge whose amounts differ from the catalogue's."""
    async with shop.db.session() as session:
        quotes = (await session.scalars(select(Quote))).all()
        orders = (await session.scalars(select(Order).options(selectinload(Order.lines)))).all()
        payments = (await session.scalars(select(Payment))).all()
    problems: list[str] = []
    for quote in quotes:
        items = {line["sku"]: line["quantity"] for line in quote.content["lines"]}
        bill = await expected_bill(shop, items, quote.payment_method)
        shown = {**{key: quote.content[key] for key in bill}, "total": quote.total}
        if shown != bill:
            problems.append(f"quote {quote.id}: {shown} != {bill}")
    totals: dict[str, int] = {}
    for order in orders:
        items = {line.sku: line.quantity for line in order.lines}
        bill = await expected_bill(shop, items, order.payment_method)
        charged = {
            "subtotal": order.subtotal,
            "shipping_fee": order.shipping_fee,
            "payment_fee": order.payment_fee,
            "total": order.total,
            "tax_included": {"10": order.tax_10, "8": order.tax_8},
        }
        if charged != bill:
            problems.append(f"order {order.id}: {charged} != {bill}")
        totals[order.id] = order.total
    problems += [
        f"payment {p.id}: {p.amount} for an order of {totals.get(p.order_id)}"
        for p in payments
        if p.amount != totals.get(p.order_id)
    ]
    problems += [
        f"gateway charge {c}" for c in await shop.ledger() if c.get("amount") not in totals.values()
    ]
    return problems
