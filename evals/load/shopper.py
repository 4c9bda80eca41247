"""One simulated shopper: a whole purchase over the HTTP API, as the web page's client makes it.

This module only houses `run_shopper` and its `ShopperOutcome`. The shopper chats in free text
(its plan's recipe), submits the address form, chooses a payment method, gets a card token from the
sandbox gateway's tokenize URL (the card number goes to the gateway only), sends the token, and pays
with the quote id and hash of the confirm widget. Some shoppers double-click Pay; some re-send one
request under the same Idempotency-Key. A shopper stops at the first answer that is not what a real
client could go on with, and says why.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx

from evals.load.plans import RetryKind, ShopperPlan
from evals.load.traffic import Kind, ShopperStopped, Traffic, new_key

Events = list[dict[str, Any]]
# What a completed purchase looks like right after the chat, per payment method.
EXPECTED_STATUS = {"card": "paid", "after_delivery": "deferred_approved",
                   "konbini": "awaiting_store_payment"}


@dataclass
class ShopperOutcome:
    index: int
    method: str
    duplicate_confirm: bool
    conversation_id: str | None = None
    completed: bool = False
    status: str | None = None  # receipt status ("awaiting_store_payment" for a konbini slip)
    order_id: str | None = None
    total_seen: int | None = None  # the total on the confirm widget the shopper paid
    failure: str | None = None
    # Order ids named by each confirm answer (None: an answer without receipt or slip).
    confirm_order_ids: list[str | None] = field(default_factory=list)


@dataclass
class _Chat:
    traffic: Traffic
    base_url: str
    conversation_id: str
    token: str

    async def send(self, kind: Kind, body: dict[str, Any], retry: RetryKind | None = None
                   ) -> Events:
        """POST a message or an action (re-sent under the same key when `retry` says so)."""
        path = "messages" if kind == "message" else "actions"
        url = f"{self.base_url}/api/conversations/{self.conversation_id}/{path}"

        async def attempt(key: str, resent: bool = False) -> httpx.Response | None:
            return await self.traffic.post(kind, self.conversation_id, url, body, self.token,
                                           key=key, resent=resent)

        key = new_key()
        if retry is None:
            responses = [await attempt(key)]
        elif retry.endswith("_after"):  # the first answer was "lost": same request again
            responses = [await attempt(key), await attempt(key, resent=True)]
        else:  # the client gave up waiting and re-sent while the first still runs
            responses = list(await asyncio.gather(attempt(key), attempt(key, resent=True)))
        for response in responses:
            if response is not None and response.status_code == 200:
                events: Events = response.json()["events"]
                return events
        raise ShopperStopped(f"{kind} {body.get('type', '')}: "
                             f"{[r.status_code if r else None for r in responses]}")


def widgets(events: Events, kind: str) -> list[dict[str, Any]]:
    return [e["widget"] for e in events if e["type"] == "widget" and e["widget"]["kind"] == kind]


def _require(events: Events, kind: str, step: str) -> dict[str, Any]:
    found = widgets(events, kind)
    if not found:
        shown = [e["widget"]["kind"] for e in events if e["type"] == "widget"]
        raise ShopperStopped(f"{step}: no {kind} widget (got {shown})")
    return found[-1]


async def run_shopper(traffic: Traffic, plan: ShopperPlan, base_url: str) -> ShopperOutcome:
    """Run one shopper's purchase to its end; never raises for what the server answered."""
    outcome = ShopperOutcome(index=plan.index, method=plan.method,
                             duplicate_confirm=plan.duplicate_confirm)
    try:
        await _purchase(traffic, plan, base_url, outcome)
    except ShopperStopped as exc:
        outcome.failure = str(exc)
    return outcome


async def _purchase(traffic: Traffic, plan: ShopperPlan, base_url: str,
                    outcome: ShopperOutcome) -> None:
    recipe = plan.recipe
    conversation_id, token, _ = await traffic.start(base_url, recipe.locale)
    outcome.conversation_id = conversation_id
    chat = _Chat(traffic, base_url, conversation_id, token)
    message_retry = plan.retry if plan.retry in ("message_after", "message_during") else None
    action_retry = plan.retry if plan.retry in ("action_after", "action_during") else None

    cart: dict[str, Any] | None = None
    events: Events = []
    for number, text in enumerate(recipe.messages):
        # Only the first message (a search) is ever re-sent: should a server run it twice, the
        # cart is unchanged and the shopper can go on, so only the idempotency checks notice.
        events = await chat.send("message", {"text": text}, message_retry if number == 0 else None)
        if carts := widgets(events, "cart"):
            cart = carts[-1]
    lines = [(line["sku"], line["quantity"]) for line in (cart or {}).get("lines", [])]
    if lines != [(recipe.sku, recipe.quantity)]:
        raise ShopperStopped(f"chat: cart {lines}, wanted {[(recipe.sku, recipe.quantity)]}")
    _require(events, "address_form", "checkout message")

    # A repeated address form changes nothing, which is why it is the action that gets re-sent.
    events = await chat.send("action", {"type": "submit_address", "fields": _address(plan)},
                             action_retry)
    _require(events, "payment_methods", "submit_address")
    events = await chat.send("action", {"type": "choose_payment_method", "method": plan.method})
    if plan.method == "card":
        form = _require(events, "card_form", "choose_payment_method")
        card_token = await traffic.tokenize(str(form["tokenize_url"]), _card(plan))
        events = await chat.send("action", {"type": "card_token", "token": card_token})
    confirm = _require(events, "confirm", plan.method)
    outcome.total_seen = int(confirm["total"])
    await _pay(chat, plan, {"type": "confirm", "quote_id": confirm["quote_id"],
                            "quote_hash": confirm["quote_hash"]}, outcome)


async def _pay(chat: _Chat, plan: ShopperPlan, confirm: dict[str, Any],
               outcome: ShopperOutcome) -> None:
    """Press Pay (twice at once and once more after, for a double-clicking shopper)."""

    async def click() -> Events | None:
        try:
            return await chat.send("confirm", confirm)
        except ShopperStopped:
            return None  # recorded by the traffic; the checks count it

    answers = list(await asyncio.gather(click(), click())) if plan.duplicate_confirm else []
    answers.append(await click())
    for events in answers:
        found = (widgets(events, "receipt") + widgets(events, "konbini_slip")) if events else []
        outcome.confirm_order_ids.append(str(found[-1]["order_id"]) if found else None)
    last = answers[-1]
    if last is None:
        raise ShopperStopped("confirm: no successful answer")
    if receipts := widgets(last, "receipt"):
        outcome.status, outcome.order_id = str(receipts[-1]["status"]), receipts[-1]["order_id"]
    elif slips := widgets(last, "konbini_slip"):
        outcome.status, outcome.order_id = "awaiting_store_payment", slips[-1]["order_id"]
    else:
        raise ShopperStopped("confirm: neither a receipt nor a slip")
    outcome.completed = outcome.status == EXPECTED_STATUS[plan.method]
    if not outcome.completed:
        outcome.failure = f"confirm: order {outcome.status}"


def _address(plan: ShopperPlan) -> dict[str, str]:
    return {"name": plan.name, "postal_code": "150-0002", "prefecture": "", "city": "",
            "line1": f"2-21-{plan.index + 1}", "line2": "", "phone": "090-1234-5678",
            "email": f"shopper{plan.index}@example.com"}


def _card(plan: ShopperPlan) -> dict[str, Any]:
    return {"number": plan.card_number, "exp_month": 12,
            "exp_year": datetime.now(UTC).year + 3, "cvc": "123", "name": "LOAD SHOPPER"}
