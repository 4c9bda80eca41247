"""The simulated shopper of `goal:` scenarios: it reacts to what the chat shows until the goal is met.

This module only houses the shopper. Its *policy* is deterministic: it looks at the widgets the last
reply showed and at the cart, and does what a shopper with that goal would do next (asks for a
missing item or taps its Add button, asks to check out, fills the address form or types the address,
picks the payment method, enters the card in the card frame, presses Pay, answers 3-D Secure, pays
the slip at the store). Its *words* come from a `Phraser`:

* `TemplatePhraser` (default): fixed sentences per locale and style (plain, polite, terse), so a
  run is reproducible;
* `ModelPhraser` (`--user-model NAME`): an OpenAI-compatible model writes each message from the
  goal, the phrasing hints and the last assistant message. It is never told a card number or a
  security code: cards go to the card frame, not into words.

The shopper gives up after `goal.max_turns` turns, or when the same move made three times changed
nothing; the run's expectations then say what was not reached.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from agent.errors import ModelError
from agent.model import Model, ModelRequestSettings
from evals.browser import Browser
from evals.scenario import Goal, GoalItem, Locale
from tools.catalog.schema import CatalogEntry

_DONE_STATUSES = {"paid", "deferred_approved", "awaiting_screening", "awaiting_store_payment"}
_METHOD_WORDS: dict[Locale, dict[str, str]] = {
    "en": {"card": "by credit card", "after_delivery": "after delivery",
           "konbini": "at a convenience store"},
    "ja": {"card": "クレジットカード", "after_delivery": "後払い", "konbini": "コンビニ払い"},
}
_TEMPLATES: dict[tuple[Locale, str], dict[str, str]] = {
    ("en", "plain"): {
        "ask_item": "I'd like {quantity} of the {name}",
        "checkout": "I'd like to check out",
        "address": "Please deliver to {name}, {postal_code} {line1} {line2}, phone {phone}, "
                   "email {email}",
        "method": "I'll pay {method}",
        "next": "What do I need to do next?",
    },
    ("en", "polite"): {
        "ask_item": "Hello! Could I please have {quantity} of the {name}?",
        "checkout": "Thank you, I would like to check out now, please.",
        "address": "Could you send it to {name}, {postal_code} {line1} {line2}? My phone is "
                   "{phone} and my email is {email}.",
        "method": "I would like to pay {method}, please.",
        "next": "Sorry, what should I do next?",
    },
    ("en", "terse"): {
        "ask_item": "{quantity} {name}",
        "checkout": "checkout",
        "address": "{name} {postal_code} {line1} {line2} {phone} {email}",
        "method": "{method}",
        "next": "next?",
    },
    ("ja", "plain"): {
        "ask_item": "{name}を{quantity}個ください",
        "checkout": "会計をお願いします",
        "address": "届け先は{name}、〒{postal_code} {line1} {line2}、電話{phone}、メール{email}です",
        "method": "{method}で払います",
        "next": "次は何をすればいいですか？",
    },
    ("ja", "polite"): {
        "ask_item": "こんにちは。{name}を{quantity}個いただけますか？",
        "checkout": "ありがとうございます。お会計をお願いできますでしょうか。",
        "address": "お届け先は{name}、〒{postal_code} {line1} {line2}でお願いいたします。"
                   "電話番号は{phone}、メールは{email}です。",
        "method": "{method}でお支払いしたいです。",
        "next": "すみません、次はどうすればよいでしょうか？",
    },
    ("ja", "terse"): {
        "ask_item": "{name} {quantity}個",
        "checkout": "会計",
        "address": "{name} {postal_code} {line1} {line2} {phone} {email}",
        "method": "{method}",
        "next": "次は？",
    },
}

Intent = str  # ask_item | checkout | address | method | next


class Phraser(Protocol):
    async def phrase(self, intent: Intent, facts: dict[str, str], browser: Browser) -> str:
        """The shopper's message for `intent`, given the facts it must carry."""
        ...


@dataclass
class TemplatePhraser:
    locale: Locale
    style: str = "plain"

    async def phrase(self, intent: Intent, facts: dict[str, str], browser: Browser) -> str:
        template = _TEMPLATES[(self.locale, self.style)][intent]
        return " ".join(template.format(**facts).split())


_SHOPPER_PROMPT = (
    "You play a shopper chatting with an online shop's assistant. Write only the shopper's next "
    "message: one or two short sentences, in {language}, with no quotes or explanations. Never "
    "write card numbers or security codes: cards are entered in a secure form, not in the chat. "
    "Your goal: buy {items}; pay {method}. {hints}"
)
_INTENTS = {
    "ask_item": "Ask for {quantity} of the {name}.",
    "checkout": "Say you want to check out now.",
    "address": "Give the delivery address: {name}, {postal_code} {line1} {line2}, phone {phone}, "
               "email {email}. Include every part.",
    "method": "Say you want to pay {method}.",
    "next": "Ask what you need to do next.",
}


@dataclass
class ModelPhraser:
    """An LLM writes the shopper's messages; the template phraser stands in if it fails."""

    model: Model
    goal: Goal
    locale: Locale
    catalog: Sequence[CatalogEntry]
    fallback: TemplatePhraser = field(init=False)

    def __post_init__(self) -> None:
        self.fallback = TemplatePhraser(self.locale, self.goal.phrasing.style)

    def _system(self) -> str:
        names = {e.sku.upper(): (e.name_ja if self.locale == "ja" else e.name) for e in
                 self.catalog}
        items = ", ".join(f"{i.quantity} x {names.get(i.sku.upper(), i.sku)}"
                          for i in self.goal.items)
        hints = " ".join(self.goal.phrasing.hints)
        return _SHOPPER_PROMPT.format(
            language="Japanese" if self.locale == "ja" else "English", items=items,
            method=_METHOD_WORDS["en"][self.goal.payment_method],
            hints=f"Style: {hints}" if hints else "")

    async def phrase(self, intent: Intent, facts: dict[str, str], browser: Browser) -> str:
        last = browser.assistant_texts[-1] if browser.assistant_texts else ""
        messages: list[dict[str, Any]] = [
            {"role": "system", "content": self._system()},
            {"role": "user", "content": f"The assistant just said: {last}\n\nNow: "
                                        f"{_INTENTS[intent].format(**facts)}"},
        ]
        try:
            response = await self.model.request(
                messages, [], settings=ModelRequestSettings(temperature=0.7, max_tokens=120))
        except ModelError:
            return await self.fallback.phrase(intent, facts, browser)
        text = (response.content or "").strip().strip('"')
        return text or await self.fallback.phrase(intent, facts, browser)


@dataclass
class SimulatedShopper:
    goal: Goal
    locale: Locale
    catalog: Sequence[CatalogEntry]
    phraser: Phraser
    notes: list[str] = field(default_factory=list)
    _asked: dict[str, int] = field(default_factory=dict)
    _moves: list[str] = field(default_factory=list)

    def _name(self, item: GoalItem) -> str:
        for entry in self.catalog:
            if entry.sku.upper() == item.sku.upper():
                return entry.name_ja if self.locale == "ja" else entry.name
        return item.sku

    def _address_facts(self) -> dict[str, str]:
        return {k: str(v) for k, v in self.goal.address.model_dump().items()}

    async def run(self, browser: Browser) -> None:
        """Play until the goal is reached, the turn budget is spent, or nothing moves."""
        while browser.user_turns < self.goal.max_turns:
            move = await self._next_move(browser)
            if move is None:
                return
            self._moves.append(move)
            if len(self._moves) >= 3 and len(set(self._moves[-3:])) == 1:
                self.notes.append(f"shopper gave up: {move!r} three times without progress")
                return
        self.notes.append(f"shopper gave up after {self.goal.max_turns} turns")

    async def _next_move(self, browser: Browser) -> str | None:
        """Make one move and name it; None when the goal is reached."""
        goal = self.goal
        if browser.pending_challenge() is not None:
            await browser.complete_threeds(goal.threeds_code)
            return "threeds"
        shown = {str(e["widget"].get("kind")): e["widget"] for e in browser.last_events
                 if e.get("type") == "widget"}
        if self._finished(shown, browser):
            if "konbini_slip" in shown and goal.store_pay:
                await browser.store_pay()
            return None
        if "confirm" in shown and self._cart_matches(shown["confirm"].get("lines", [])):
            await browser.press_pay()
            return "pay"
        if "card_form" in shown and goal.payment_method == "card" and goal.card is not None:
            if self._moves.count("card") >= 2:
                self.notes.append("shopper gave up: the card was refused twice")
                return None
            await browser.enter_card(goal.card)
            return "card"
        if "payment_methods" in shown:
            return await self._choose_method(browser)
        if "address_form" in shown:
            return await self._give_address(browser)
        return await self._shop(browser)

    def _finished(self, shown: dict[str, dict[str, Any]], browser: Browser) -> bool:
        receipt = shown.get("receipt")
        if receipt is not None and receipt.get("status") in _DONE_STATUSES:
            return True
        return "konbini_slip" in shown

    def _cart_matches(self, lines: Sequence[dict[str, Any]]) -> bool:
        want: dict[str, int] = {}
        for item in self.goal.items:
            want[item.sku.upper()] = want.get(item.sku.upper(), 0) + item.quantity
        got = {str(line["sku"]).upper(): int(line["quantity"]) for line in lines}
        return got == want

    async def _choose_method(self, browser: Browser) -> str:
        method = self.goal.payment_method
        if self.goal.phrasing.method_via == "chat" and self._moves.count("method-chat") < 1:
            words = _METHOD_WORDS[self.locale][method]
            await browser.say(await self.phraser.phrase("method", {"method": words}, browser))
            return "method-chat"
        await browser.act({"type": "choose_payment_method", "method": method})
        return "method"

    async def _give_address(self, browser: Browser) -> str:
        if self.goal.phrasing.address_via == "chat" and self._moves.count("address-chat") < 1:
            text = await self.phraser.phrase("address", self._address_facts(), browser)
            await browser.say(text)
            return "address-chat"
        await browser.act({"type": "submit_address", "fields": self._address_facts()})
        return "address"

    async def _shop(self, browser: Browser) -> str:
        state = await browser.state()
        in_cart = {str(line["sku"]).upper(): int(line["quantity"])
                   for line in state.get("cart", {}).get("lines", [])}
        for item in self.goal.items:
            sku = item.sku.upper()
            if in_cart.get(sku, 0) > item.quantity:
                # Too many: the widgets have no quantity field, so remove the line and add again.
                await browser.act({"type": "remove_from_cart", "sku": sku})
                self.notes.append(f"cart held {in_cart[sku]} of {sku}, the shopper wanted "
                                  f"{item.quantity}")
                return f"remove {sku}"
            if in_cart.get(sku, 0) == item.quantity:
                continue
            asked = self._asked.get(sku, 0)
            listed = browser.latest.get("product_list", {}).get("products", [])
            if asked >= 1 and any(str(p.get("sku")).upper() == sku for p in listed):
                # The chat showed the product but did not add it: tap its Add button.
                missing = item.quantity - in_cart.get(sku, 0)
                await browser.act({"type": "add_to_cart", "sku": sku, "quantity": missing})
                self._asked[sku] = asked + 1
                return f"add {sku}"
            if asked >= 2:
                self.notes.append(f"shopper could not get {sku} into the cart")
                return f"stuck {sku}"
            self._asked[sku] = asked + 1
            text = item.say or await self.phraser.phrase(
                "ask_item", {"name": self._name(item), "quantity": str(item.quantity)}, browser)
            await browser.say(text)
            return f"ask {sku} #{asked}"
        if self._cart_matches(state.get("cart", {}).get("lines", [])):
            stage = state.get("checkout_stage")
            if "checkout" not in self._moves:
                await browser.say(await self.phraser.phrase("checkout", {}, browser))
                return "checkout"
            # The words did not move things on: use the Checkout button, as a shopper would.
            await browser.act({"type": "checkout"})
            return f"checkout-button {stage}"
        wanted = {item.sku.upper() for item in self.goal.items}
        extra = next((sku for sku in in_cart if sku not in wanted), None)
        if extra is not None:
            # Something the shopper did not ask for: take it out with the cart's remove button.
            await browser.act({"type": "remove_from_cart", "sku": extra})
            return f"remove {extra}"
        await browser.say(await self.phraser.phrase("next", {}, browser))
        return "next"
