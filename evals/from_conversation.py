"""A stored conversation turned into an eval scenario (`chatpay eval from-conversation ID`).

This module only houses the conversion. The transcript holds the shopper's messages (already
redacted, and redacted again here) and what the shop showed, but not the widget actions the
shopper pressed: those are read back from what they caused, in the events the actions stored
(`source = "action"`):

- a cart that changed → `add_to_cart` / `remove_from_cart` for the difference;
- an address form shown → `checkout`; "we will deliver to" → `submit_address`;
- "Payment method: X" → `choose_payment_method`; "Card BRAND ending NNNN" → a `card` step;
- a receipt, convenience-store slip or 3-D Secure challenge → `confirm` (and `threeds` when a
  challenge led to the receipt); a store slip later paid → `store_pay`; "cleared" → `start_over`.

Personal data never enters the scenario from the database: the address is the eval's fixed test
address (shipping is a flat fee, so the total does not change) and the card is an approving
sandbox test card of the same brand (the number was never stored). Messages the shopper typed
are kept as written after card redaction, so an operator should read the file before sharing it.
The catalogue is inline: the products the conversation showed or sold, at the price paid, so the
replay does not depend on today's catalogue. `expect.order` is the conversation's latest order.
"""

from __future__ import annotations

import re
from functools import cache
from typing import Any

import yaml
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from agent.redaction import redact
from agent.texts import METHOD_NAMES, TEXTS
from agent.transcript import load_events
from evals.scenario import AddressInput
from tools.store.models import Conversation, ConversationEvent, Order, Product

#: Approving sandbox cards by brand (tools/payments/sandbox/cards.py); others pay with the Visa.
TEST_CARDS: dict[str, dict[str, str]] = {
    "visa": {"number": "4242 4242 4242 4242", "exp": "12/30", "cvc": "123"},
    "mastercard": {"number": "5555 5555 5555 4444", "exp": "12/30", "cvc": "123"},
    "jcb": {"number": "3530 1113 3330 0000", "exp": "12/30", "cvc": "123"},
    "amex": {"number": "3782 822463 10005", "exp": "12/30", "cvc": "1234"},
}
_PAID_BY_CONFIRM = {"receipt", "konbini_slip", "threeds_challenge"}


class ConversationNotFound(LookupError):
    """No conversation has that id (or it was purged)."""


@cache
def _said(key: str) -> tuple[re.Pattern[str], ...]:
    """Patterns matching `agent.texts.say(key, ...)` in either language, placeholders captured."""
    patterns = []
    for template in TEXTS[key]:
        parts = re.split(r"\{(\w+)\}", template)
        body = "".join(re.escape(p) if i % 2 == 0 else f"(?P<{p}>.+?)"
                       for i, p in enumerate(parts))
        patterns.append(re.compile(body, re.DOTALL))
    return tuple(patterns)


def _match(key: str, text: str) -> dict[str, str] | None:
    for pattern in _said(key):
        found = pattern.fullmatch(text.strip())
        if found:
            return found.groupdict()
    return None


def _method(label: str) -> str | None:
    return next((m for m, names in METHOD_NAMES.items() if label.strip() in names), None)


def _cart_steps(before: dict[str, int], after: dict[str, int]) -> list[dict[str, Any]]:
    """The actions that turn cart `before` into cart `after` (add_to_cart adds quantity)."""
    steps: list[dict[str, Any]] = []
    for sku, quantity in before.items():
        if after.get(sku, 0) < quantity:
            steps.append({"action": {"type": "remove_from_cart", "sku": sku}})
    for sku, quantity in after.items():
        kept = before.get(sku, 0) if after[sku] >= before.get(sku, 0) else 0
        if quantity > kept:
            steps.append({"action": {"type": "add_to_cart", "sku": sku,
                                     "quantity": quantity - kept}})
    return steps


def steps_from_events(rows: list[ConversationEvent]) -> list[dict[str, Any]]:
    """The shopper's moves, in order, as scenario steps."""
    steps: list[dict[str, Any]] = []
    cart: dict[str, int] = {}
    challenged = False
    address = AddressInput().model_dump()
    for row in rows:
        widget = row.widget or {}
        kind = widget.get("kind") if row.kind == "widget" else None
        if row.kind == "message" and row.role == "user":
            steps.append({"user": redact(row.text).text})
            continue
        if kind == "cart":
            after = {line["sku"]: int(line["quantity"]) for line in widget.get("lines", [])}
            if row.source == "action":
                steps += _cart_steps(cart, after)
            cart = after
            continue
        if row.source != "action":
            continue  # the model's doing: replaying the shopper's message redoes it
        if kind == "address_form" and steps[-1:] != [{"action": {"type": "checkout"}}]:
            steps.append({"action": {"type": "checkout"}})
        elif kind in _PAID_BY_CONFIRM:
            if kind == "receipt" and challenged:
                steps.append({"threeds": {"code": "123456"}})
            else:
                steps.append({"confirm": True})
            challenged = kind == "threeds_challenge"
            if kind != "threeds_challenge":
                cart = {}  # a placed order empties the cart, without showing it
        elif row.kind == "message":
            if _match("cleared", row.text) is not None:
                steps.append({"action": {"type": "quick_reply", "value": "start_over"}})
                cart = {}
            elif _match("address_saved", row.text) is not None:
                steps.append({"action": {"type": "submit_address", "fields": dict(address)}})
            elif (chosen := _match("method_chosen", row.text)) is not None:
                method = _method(chosen["method"])
                if method is not None:
                    steps.append({"action": {"type": "choose_payment_method", "method": method}})
            elif (card := _match("card_accepted", row.text)) is not None:
                brand = card["brand"].lower()
                steps.append({"card": dict(TEST_CARDS.get(brand, TEST_CARDS["visa"]))})
    return steps


async def _catalog(session: AsyncSession, rows: list[ConversationEvent],
                   order: Order | None) -> list[dict[str, Any]]:
    """The products the conversation showed or sold, as catalogue entries (price as paid)."""
    skus: set[str] = set()
    for row in rows:
        widget = row.widget or {}
        for key in ("products", "lines"):
            skus.update(str(item["sku"]) for item in widget.get(key, []) if "sku" in item)
    paid = {line.sku: line for line in order.lines} if order else {}
    skus.update(paid)
    products = await session.scalars(select(Product).where(Product.sku.in_(sorted(skus)))
                                     .order_by(Product.sku))
    entries = []
    for product in products:
        line = paid.get(product.sku)
        entries.append({
            "sku": product.sku, "name": product.name, "name_ja": product.name_ja,
            "description": product.description, "description_ja": product.description_ja,
            "tags": list(product.tags), "category": product.category,
            "attributes": dict(product.attributes),
            "price": line.unit_price if line else product.price, "tax_rate": product.tax_rate,
            # Sold out since is no reason for the replay to fail.
            "stock": max(product.stock, line.quantity if line else 1)})
    return entries


def _expect(order: Order | None) -> dict[str, Any]:
    if order is None:
        return {"order": "none"}
    items: dict[str, int] = {}
    for line in order.lines:
        items[line.sku] = items.get(line.sku, 0) + line.quantity
    return {"order": {"status": order.status, "payment_method": order.payment_method,
                      "total": order.total, "items": items}}


async def scenario_from_conversation(session: AsyncSession, conversation_id: str,
                                     name: str | None = None) -> dict[str, Any]:
    """The scenario (plain data, as in a YAML file) that replays a stored conversation."""
    conversation = await session.get(Conversation, conversation_id)
    if conversation is None:
        raise ConversationNotFound(conversation_id)
    rows = await load_events(session, conversation_id)
    order = await session.scalar(
        select(Order).where(Order.conversation_id == conversation_id)
        .options(selectinload(Order.lines)).order_by(Order.created_at.desc()).limit(1))
    steps = steps_from_events(rows)
    if order is not None and order.payment_method == "konbini" and order.status == "paid":
        steps.append({"store_pay": True})  # paid at the store: a webhook, not in the transcript
    variant = conversation.prompt_variant or "default"
    return {
        "name": name or f"conversation-{conversation_id[:8]}",
        "description": f"Replay of conversation {conversation_id} (prompt variant {variant}), "
                       f"started {conversation.created_at:%Y-%m-%d}.",
        "locale": "ja" if conversation.locale == "ja" else "en",
        "tags": ["from-conversation", f"variant:{variant}"],
        "catalog": await _catalog(session, rows, order),
        "steps": steps or [{"user": "hello"}],
        "expect": _expect(order),
    }


def scenario_yaml(data: dict[str, Any]) -> str:
    """The scenario as a YAML file's text (keys in the order of the scenario format)."""
    return yaml.safe_dump(data, allow_unicode=True, sort_keys=False, width=100)
