"""The benchmark's purchase conversation, shared by chatpay and the peer frameworks.

This module only houses the script: six shopper messages, each answered by exactly two model calls
(one tool call, then text) and one tool run. Every framework plays the same script, so the turn
overhead figures compare the same work.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class ScriptedTurn:
    """One shopper message, the one tool the model calls for it, and the model's closing text."""

    shopper: str
    tool: str
    arguments: dict[str, Any]
    reply: str


ADDRESS: dict[str, Any] = {
    "name": "Taro Yamada", "postal_code": "150-0002", "line1": "Shibuya 2-21-1",
    "phone": "090-1234-5678", "email": "taro@example.com",
}

#: A konbini purchase: no card, so no gateway call sits inside the measured turns.
PURCHASE: tuple[ScriptedTurn, ...] = (
    ScriptedTurn("Do you have sencha?", "search_products", {"query": "sencha"},
                 "We have Sencha green tea 100 g for ¥1,200."),
    ScriptedTurn("Two of those, please.", "add_to_cart", {"sku": "TEA-SENCHA", "quantity": 2},
                 "I added two Sencha green tea to your cart."),
    ScriptedTurn("Ship to Taro Yamada, 150-0002 Shibuya 2-21-1, 090-1234-5678, "
                 "taro@example.com", "set_shipping_address", ADDRESS,
                 "I saved your shipping address."),
    ScriptedTurn("I'll pay at a convenience store.", "choose_payment_method",
                 {"method": "konbini"}, "Convenience-store payment it is."),
    ScriptedTurn("What's in my cart?", "view_cart", {}, "Two Sencha green tea, ¥3,200 in all."),
    ScriptedTurn("Let's check out.", "prepare_checkout", {},
                 "Here is your order: press Pay to confirm it."),
)


#: Benchmark 1's history check: after one item is in the cart, the same question again and again.
#: Every turn does the same work, so any growth of its time with the turn index is the history's.
REPEATED_TURNS = 24
ADD_ONE = ScriptedTurn("One sencha, please.", "add_to_cart", {"sku": "TEA-SENCHA", "quantity": 1},
                       "I added one Sencha green tea to your cart.")
SAME_QUESTION = ScriptedTurn("What's in my cart?", "view_cart", {},
                             "One Sencha green tea, ¥1,200 before shipping.")
REPEATED: tuple[ScriptedTurn, ...] = (ADD_ONE, *([SAME_QUESTION] * REPEATED_TURNS))
