"""What the offline model knows: the messages of one request, read into a `Conversation`.

This module only houses the reading of a Chat Completions message list: the checkout state block
(the last system message, parsed with `agent.state_block.parse`), the shopper's latest message, the
earlier turns as plain text, and the steps of the current turn (the assistant's tool calls paired
with their JSON results). From these it answers the questions the policy asks: which products are
on the table, which list was shown last, which product the talk is about ("that one"), which cart
line was added or named last ("another", "make it three").

The system prompt's wording is ignored; only its fees are read from it when present (shipping and
the free-shipping threshold, each payment method's fee and the after-delivery limit), because a real
model would quote them from there. The prompt is the same on every request, so each is read once.

Limits: widgets reach the model only as the history lines `agent.widgets.describe` writes ("[shown
products: SKU name ¥price, ...]"), so the order of a product list is known only from those lines
or from search results of the current turn.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property, lru_cache
from types import MappingProxyType
from typing import Any

from agent.offline.language import Lang, fold_for_matching
from agent.offline.products import Candidate, unique_by_sku
from agent.state_block import STATE_HEADER, StateBlock, parse

__all__ = ["Conversation", "PaymentFacts", "Step", "ToolExchange", "read_conversation"]


@dataclass(frozen=True, slots=True)
class ToolExchange:
    """One tool call of the current turn and its result (None when no result came back)."""

    call_id: str
    name: str
    arguments: Mapping[str, Any]
    result: Mapping[str, Any] | None

    @property
    def ok(self) -> bool:
        return self.result is not None and self.result.get("ok") is True

    @property
    def error(self) -> Mapping[str, Any]:
        """The error object of a failed call ({} when it succeeded)."""
        if self.result is None:
            return {"code": "no_result", "message": ""}
        error = self.result.get("error")
        return error if isinstance(error, Mapping) and not self.ok else {}

    @property
    def error_code(self) -> str:
        return str(self.error.get("code", "")) if not self.ok else ""

    @property
    def sku(self) -> str:
        """The product's sku: the call's argument, or the one the shop chose from the words."""
        sku = self.arguments.get("sku")
        if not sku and self.result is not None:
            added = self.result.get("added")
            sku = added.get("sku") if isinstance(added, Mapping) else None
        return str(sku or "").upper()

    @property
    def words(self) -> str | None:
        """The shopper's words an `add_to_cart` named its product by (None: it gave a sku)."""
        words = self.arguments.get("product") if self.name == "add_to_cart" else None
        return words if isinstance(words, str) else None

    @property
    def found(self) -> list[dict[str, Any]] | None:
        """The products a search found, or the candidates of words that fit several (else None).

        `add_to_cart` by the shopper's words answers `product_ambiguous` with candidates shaped
        like search results: they are read exactly like a search's.
        """
        raw: object = None
        if self.name == "search_products" and self.ok and self.result is not None:
            raw = self.result.get("results")
        elif self.words is not None and self.error_code == "product_ambiguous":
            details = self.error.get("details")
            raw = details.get("candidates") if isinstance(details, Mapping) else None
        return [r for r in raw if isinstance(r, dict)] if isinstance(raw, list) else None


@dataclass(frozen=True, slots=True)
class Step:
    """One earlier model response of the current turn: its text and its tool exchanges."""

    text: str
    exchanges: tuple[ToolExchange, ...]


_SHOWN_LINE = re.compile(r"\[shown products: (.*?)\]")
_SHOWN_ITEM = re.compile(r"([A-Z0-9][A-Z0-9_-]+) (.+?) ¥([\d,]+)(?:, |$)")
_SHIPPING_FACTS = (
    re.compile(r"[Ss]hipping is (?:¥\s*)?([\d,]+)(?: yen)?, free from (?:¥\s*)?([\d,]+)"),
    re.compile(r"送料は(?:¥\s*)?([\d,]+)円?、(?:¥\s*)?([\d,]+)円以上で無料"),
)

_PAYMENT_FACTS = (
    re.compile(r"card (?:¥\s*)?([\d,]+)(?: yen)?,\s+payment after delivery (?:¥\s*)?([\d,]+)(?: yen)?"
               r" \(up to (?:¥\s*)?([\d,]+)(?: yen)?.*?convenience store (?:¥\s*)?([\d,]+)", re.DOTALL),
    re.compile(r"カード(?:¥\s*)?([\d,]+)円?、\s*後払い(?:¥\s*)?([\d,]+)円?（(?:¥\s*)?([\d,]+)円まで"
               r".*?コンビニ払い(?:¥\s*)?([\d,]+)", re.DOTALL),
)


@dataclass(frozen=True, slots=True)
class PaymentFacts:
    """The payment fees and the after-delivery limit, as the system prompt states them."""

    fees: Mapping[str, int]  # method → fee in yen
    after_delivery_limit: int


@dataclass(frozen=True)
class Conversation:
    """The request as the policy sees it."""

    state: StateBlock | None
    user_text: str
    history: tuple[tuple[str, str], ...]  # (role, text) before the latest shopper message
    steps: tuple[Step, ...]  # this turn's earlier responses, oldest first
    system_prompt: str = ""

    @property
    def locale(self) -> Lang:
        return self.state.locale if self.state is not None else "en"

    @property
    def exchanges(self) -> tuple[ToolExchange, ...]:
        """Every tool exchange of the current turn, oldest first."""
        return tuple(exchange for step in self.steps for exchange in step.exchanges)

    @property
    def last_assistant_text(self) -> str:
        for role, text in reversed(self.history):
            if role == "assistant":
                return text
        return ""

    @cached_property
    def cart(self) -> tuple[Candidate, ...]:
        if self.state is None:
            return ()
        return tuple(Candidate(line.sku, line.name, line.unit_price, None, "", "", line.quantity)
                     for line in self.state.cart)

    @cached_property
    def search_results(self) -> tuple[Candidate, ...]:
        """Products found by this turn's searches (and unclear adds), latest first."""
        found: list[Candidate] = []
        for exchange in reversed(self.exchanges):
            if exchange.found is not None:
                found.extend(_candidates(exchange.found))
        return tuple(unique_by_sku(found))

    @cached_property
    def candidates(self) -> tuple[Candidate, ...]:
        """Every product the conversation can refer to: this turn's results, shown, cart."""
        in_cart = {line.sku: line.in_cart for line in self.cart}
        recent: tuple[Candidate, ...] = ()
        if self.state is not None:
            recent = tuple(Candidate(p.sku, p.name, p.price, p.stock, p.category, p.size,
                                     in_cart.get(p.sku, 0)) for p in self.state.recent_products)
        merged = [*self.search_results, *recent, *self.cart]
        return tuple(_with_cart(unique_by_sku(merged), in_cart))

    @cached_property
    def shown_list(self) -> tuple[Candidate, ...]:
        """The product list shown last, in its order (for "the first one", "the cheaper one")."""
        by_sku = {c.sku: c for c in self.candidates}
        for exchange in reversed(self.exchanges):
            if exchange.found is not None:
                return tuple(_with_cart(_candidates(exchange.found),
                                        {c.sku: c.in_cart for c in self.cart}))
        for role, text in reversed(self.history):
            if role != "assistant":
                continue
            lines = _SHOWN_LINE.findall(text)
            if lines:
                listed = []
                for sku, name, price in _SHOWN_ITEM.findall(lines[-1]):
                    known = by_sku.get(sku)
                    listed.append(known or Candidate(sku, name, int(price.replace(",", ""))))
                return tuple(listed)
        if self.state is not None and self.state.recent_products:
            return tuple(c for c in self.candidates
                         if c.sku in {p.sku for p in self.state.recent_products})
        return ()

    @cached_property
    def focus(self) -> Candidate | None:
        """The product the talk is about ("that one", "it"), or None when it is not clear."""
        by_sku = {c.sku: c for c in self.candidates}
        for exchange in reversed(self.exchanges):
            if exchange.name in ("product_details", "add_to_cart", "set_cart_quantity"):
                sku = exchange.sku
                if sku in by_sku:
                    return by_sku[sku]
        for _role, text in reversed(self.history[-6:]):
            named = self.named_in(text, self.candidates)
            if len(named) == 1:
                return named[0]
            if named:
                return None
        shown = self.shown_list
        return shown[0] if len(shown) == 1 else None

    def last_cart_line(self) -> Candidate | None:
        """The cart line added or named most recently ("add another", "make it three")."""
        if not self.cart:
            return None
        cart = {c.sku: c for c in self.cart}
        for exchange in reversed(self.exchanges):
            sku = exchange.sku
            if sku in cart:
                return cart[sku]
        for _role, text in reversed(self.history[-6:]):
            named = self.named_in(text, self.cart)
            if named:
                return named[-1]
        return self.cart[-1]

    @staticmethod
    def named_in(text: str, candidates: Sequence[Candidate]) -> list[Candidate]:
        """The candidates whose full name appears in a text, in the order they appear."""
        folded = fold_for_matching(text)
        found = []
        for candidate in candidates:
            position = folded.rfind(fold_for_matching(candidate.name))
            if position >= 0:
                found.append((position, candidate))
        return [candidate for _, candidate in sorted(found, key=lambda pair: pair[0])]

    @property
    def shipping_facts(self) -> tuple[int, int] | None:
        """(shipping fee, free from) as the system prompt states them, if it does."""
        return _shipping_facts(self.system_prompt)

    @property
    def payment_facts(self) -> PaymentFacts | None:
        """Fees per payment method and the after-delivery limit from the system prompt, if stated."""
        return _payment_facts(self.system_prompt)


# One entry per prompt text (a locale each): the prompt does not change between requests.
@lru_cache(maxsize=8)
def _shipping_facts(system_prompt: str) -> tuple[int, int] | None:
    for pattern in _SHIPPING_FACTS:
        match = pattern.search(system_prompt)
        if match:
            return int(match.group(1).replace(",", "")), int(match.group(2).replace(",", ""))
    return None


@lru_cache(maxsize=8)
def _payment_facts(system_prompt: str) -> PaymentFacts | None:
    for pattern in _PAYMENT_FACTS:
        match = pattern.search(system_prompt)
        if match:
            card, after, limit, konbini = (int(g.replace(",", "")) for g in match.groups())
            fees = MappingProxyType({"card": card, "after_delivery": after, "konbini": konbini})
            return PaymentFacts(fees, limit)
    return None


def _candidates(raw: object) -> list[Candidate]:
    if not isinstance(raw, list):
        return []
    found = []
    for item in raw:
        if not isinstance(item, Mapping) or not isinstance(item.get("sku"), str):
            continue
        price = item.get("price")
        stock = item.get("stock")
        found.append(Candidate(
            sku=item["sku"], name=str(item.get("name") or item["sku"]),
            price=price if isinstance(price, int) else 0,
            stock=stock if isinstance(stock, int) else None,
            category=str(item.get("category") or ""), size=str(item.get("size") or "")))
    return found


def _with_cart(candidates: Sequence[Candidate], in_cart: Mapping[str, int]) -> list[Candidate]:
    return [Candidate(c.sku, c.name, c.price, c.stock, c.category, c.size, in_cart.get(c.sku, 0))
            for c in candidates]


def text_of(content: object) -> str:
    """A message's text: a string, or the text parts of a content list joined."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(str(part.get("text", "")) for part in content
                       if isinstance(part, Mapping) and part.get("type", "text") == "text")
    return ""


def _json_object(text: str) -> dict[str, Any] | None:
    try:
        value = json.loads(text)
    except (ValueError, RecursionError):
        return None
    return value if isinstance(value, dict) else None


def read_conversation(messages: Sequence[Mapping[str, Any]]) -> Conversation:
    """Read a Chat Completions message list (already checked to be a list of objects)."""
    state: StateBlock | None = None
    for message in reversed(messages):
        text = text_of(message.get("content"))
        if message.get("role") in ("system", "developer") and text.startswith(STATE_HEADER):
            state = parse(text)
            break
    system_prompt = next((text_of(m.get("content")) for m in messages
                          if m.get("role") in ("system", "developer")
                          and not text_of(m.get("content")).startswith(STATE_HEADER)), "")
    last_user = max((i for i, m in enumerate(messages) if m.get("role") == "user"), default=-1)
    history = tuple((str(m["role"]), text_of(m.get("content"))) for m in messages[:max(last_user, 0)]
                    if m.get("role") in ("user", "assistant") and text_of(m.get("content")))
    user_text = text_of(messages[last_user].get("content")) if last_user >= 0 else ""
    return Conversation(state, user_text, history, _steps(messages[last_user + 1:]), system_prompt)


def _steps(messages: Sequence[Mapping[str, Any]]) -> tuple[Step, ...]:
    results: dict[str, dict[str, Any] | None] = {}
    for message in messages:
        if message.get("role") == "tool" and isinstance(message.get("tool_call_id"), str):
            results[message["tool_call_id"]] = _json_object(text_of(message.get("content")))
    steps = []
    for message in messages:
        if message.get("role") != "assistant":
            continue
        exchanges = []
        for call in message.get("tool_calls") or []:
            function = call.get("function") if isinstance(call, Mapping) else None
            if not isinstance(function, Mapping):
                continue
            raw = function.get("arguments")
            arguments = raw if isinstance(raw, Mapping) else _json_object(str(raw or "{}")) or {}
            call_id = str(call.get("id", ""))
            exchanges.append(ToolExchange(call_id, str(function.get("name", "")), arguments,
                                          results.get(call_id)))
        steps.append(Step(text_of(message.get("content")), tuple(exchanges)))
    return tuple(steps)
