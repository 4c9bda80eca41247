"""What each simulated shopper of a load run will do, decided before the run starts.

This module only houses the shopper plans: the free-text recipes (checked by hand against the
offline model: each puts exactly one known product line in the cart and reaches the address form),
the payment-method mix, and which shoppers double-click confirm or retry a request. Plans are
deterministic (a cycle over the shopper's index), so two runs of the same size send the same traffic
and even a small CI run contains every kind of shopper.

Stock: confirmed orders take stock, and the demo catalogue is finite. The recipes only use products
with plenty of it; `stock_needed` lets a test prove that a run fits the demo catalogue.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Literal

Method = Literal["card", "after_delivery", "konbini"]
# Where a client retry (same Idempotency-Key) happens: a message or an action, re-sent after the
# first attempt answered (its response was lost) or while it still runs (the client timed out).
RetryKind = Literal["message_after", "message_during", "action_after", "action_during"]


@dataclass(frozen=True)
class Recipe:
    """A shopper's chat: messages the offline model understands, and the cart line they produce."""

    locale: Literal["en", "ja"]
    messages: tuple[str, ...]  # the first is a search (harmless to repeat), the last asks to check out
    sku: str
    quantity: int


RECIPES: tuple[Recipe, ...] = (
    Recipe("en", ("do you have green tea?", "two sencha please", "checkout"), "TEA-SENCHA", 2),
    Recipe("en", ("I'm looking for a ballpoint pen", "three of those please", "checkout"),
           "PEN-BALL", 3),
    Recipe("en", ("do you sell erasers?", "how much is shipping?", "I'll take 2", "checkout"),
           "STA-ERASER", 2),
    Recipe("en", ("coffee filters?", "one please", "what's in my cart?", "check out"),
           "KIT-FILTER", 1),
    Recipe("en", ("barley tea", "add 2 barley tea bags", "checkout"), "TEA-MUGICHA", 2),
    Recipe("en", ("show me notebooks", "one A5 notebook please", "that's all, checkout"),
           "STA-NOTEBOOK", 1),
    Recipe("en", ("canned coffee please", "add one", "checkout"), "COF-CANNED", 1),
    Recipe("en", ("any brush pens?", "2 brush pens", "checkout"), "PEN-BRUSH", 2),
    Recipe("ja", ("消しゴムありますか", "消しゴムを2つください", "会計"), "STA-ERASER", 2),
    Recipe("ja", ("ボールペンありますか", "ボールペンを3本ください", "レジに進む"), "PEN-BALL", 3),
    Recipe("ja", ("手ぬぐいはありますか", "手ぬぐいを1つください", "購入します"), "TENUGUI-WAVE", 1),
    Recipe("ja", ("ノートありますか", "ノートを1冊ください", "会計お願いします"), "STA-NOTEBOOK", 1),
)

# Of every 20 shoppers: 14 pay by card, 3 after delivery, 3 at a convenience store.
METHOD_CYCLE: tuple[Method, ...] = (
    "card", "card", "after_delivery", "card", "card", "konbini", "card",
    "card", "card", "after_delivery", "card", "card", "konbini", "card",
    "card", "card", "after_delivery", "card", "konbini", "card",
)
# Sandbox cards that are approved without 3-D Secure (README "Sandbox gateway and test cards").
CARDS: tuple[str, ...] = ("4242424242424242", "5555555555554444", "3530111333300000")
RETRY_CYCLE: tuple[RetryKind, ...] = ("message_after", "action_after", "message_during",
                                      "action_during")
DUPLICATE_CONFIRM_EVERY = 4  # every 4th shopper double-clicks Pay (and clicks once more after)
RETRY_EVERY = 3  # every 3rd shopper re-sends one request under the same Idempotency-Key


@dataclass(frozen=True)
class ShopperPlan:
    index: int
    recipe: Recipe
    method: Method
    card_number: str
    duplicate_confirm: bool
    retry: RetryKind | None

    @property
    def name(self) -> str:
        # Sandbox screening approves any name without "HOLD" and any phone not ending in 0000.
        return f"Load Shopper {self.index}"


def plan_shoppers(count: int) -> list[ShopperPlan]:
    """`count` shopper plans, the same for the same count."""
    plans = []
    for index in range(count):
        retry_slot, retrying = divmod(index, RETRY_EVERY)
        plans.append(ShopperPlan(
            index=index,
            recipe=RECIPES[index % len(RECIPES)],
            method=METHOD_CYCLE[index % len(METHOD_CYCLE)],
            card_number=CARDS[index % len(CARDS)],
            duplicate_confirm=index % DUPLICATE_CONFIRM_EVERY == DUPLICATE_CONFIRM_EVERY - 1,
            retry=RETRY_CYCLE[retry_slot % len(RETRY_CYCLE)] if retrying == 1 else None,
        ))
    return plans


def stock_needed(plans: list[ShopperPlan]) -> Counter[str]:
    """Units of each product the plans buy if every shopper completes."""
    needed: Counter[str] = Counter()
    for plan in plans:
        needed[plan.recipe.sku] += plan.recipe.quantity
    return needed
