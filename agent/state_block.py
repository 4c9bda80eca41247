"""The checkout state block: what the model is told about the cart and checkout on every call.

This module only houses the block's shape and its rendering/parsing. It is sent as the LAST message
of every model request (a system message starting with `STATE_HEADER`), after the history window,
so the stable prefix (system prompt + tool schemas + older history) stays cacheable.

It carries what a model needs to act without reading the database: cart lines and totals, the stage,
what is still missing, the chosen payment method, the card's brand and last four digits at most (never
a token or a number), the shipping address as one line without name/phone/e-mail, the products most
recently shown (so "the cheaper one" can be resolved), and the latest order.
"""

from __future__ import annotations

import json
from typing import Literal

from pydantic import BaseModel, ConfigDict

STATE_HEADER = "CHECKOUT STATE (authoritative, from the shop's system; JSON):"

#: Checkout stages, in funnel order. `stage` is the furthest step the conversation needs next.
Stage = Literal[
    "browsing",  # nothing in the cart
    "cart",  # items in the cart, no address yet
    "address",  # (kept for clarity in the funnel; the stage after cart when asked for one)
    "payment_method",  # address known, no method
    "card",  # method is card, no card entered yet
    "confirm",  # everything in place: a confirmation with a Pay button can be shown
    "payment_in_progress",  # an order waits for 3-D Secure
    "done",  # the latest order is paid / approved / awaiting store payment
]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class CartLineState(_Frozen):
    sku: str
    name: str
    quantity: int
    unit_price: int
    line_total: int


class ShownProduct(_Frozen):
    sku: str
    name: str
    price: int
    stock: int
    category: str = ""
    size: str = ""


class OrderState(_Frozen):
    id: str
    status: str
    total: int
    payment_method: str


class StateBlock(_Frozen):
    locale: Literal["en", "ja"]
    stage: Stage
    cart: list[CartLineState] = []
    subtotal: int = 0
    shipping_fee: int = 0
    payment_fee: int = 0
    total: int = 0
    currency: str = "JPY"
    address: str | None = None
    payment_method: Literal["card", "after_delivery", "konbini"] | None = None
    card: str | None = None  # e.g. "visa ending 4242"
    missing: list[str] = []  # cart | address | payment_method | card
    recent_products: list[ShownProduct] = []  # most recently shown first, at most 8
    order: OrderState | None = None


def render(block: StateBlock) -> str:
    """The state message text: the header line, then compact JSON (stable key order)."""
    body = json.dumps(block.model_dump(mode="json"), ensure_ascii=False, separators=(",", ":"))
    return f"{STATE_HEADER}\n{body}"


def parse(text: str) -> StateBlock | None:
    """The block from a state message's text, or None when the text is not one."""
    if not text.startswith(STATE_HEADER):
        return None
    try:
        return StateBlock.model_validate_json(text[len(STATE_HEADER):].strip())
    except ValueError:
        return None
