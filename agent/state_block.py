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
import re
from typing import Literal

from pydantic import BaseModel, ConfigDict

STATE_HEADER = "CHECKOUT STATE (authoritative):"

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
    recent_products: list[ShownProduct] = []  # most recently shown first, at most 5
    order: OrderState | None = None


#: The money fields, shown whenever the cart has items: there a 0 is a fact (free shipping, no fee).
_TOTALS = frozenset({"subtotal", "shipping_fee", "payment_fee", "total"})

# Cart lines and shown products travel as one line of text each, the way a shopper would read them
# ("MUG-LOGO Logo mug: 2 × ¥1,430 = ¥2,860", "MUG-LOGO Logo mug ¥1,430, stock 30, mugs"): the
# block is sent on every call, and these lists are most of it. A line that would not read back to
# the same values (a name holding such a pattern) is sent as a JSON object instead.
_CART_LINE = re.compile(r"(?P<sku>\S+) (?P<name>.+): (?P<quantity>-?\d+) × ¥(?P<unit_price>[\d,]+)"
                        r" = ¥(?P<line_total>[\d,]+)")
_PRODUCT_LINE = re.compile(r"(?P<sku>\S+) (?P<name>.+) ¥(?P<price>[\d,]+), stock (?P<stock>-?\d+)"
                           r"(?:, (?!size )(?P<category>[^,]+))?(?:, size (?P<size>[^,]+))?")


def _yen(amount: int) -> str:
    return f"¥{amount:,}"


def _cart_line(line: CartLineState) -> str | dict[str, object]:
    text = (f"{line.sku} {line.name}: {line.quantity} × {_yen(line.unit_price)} = "
            f"{_yen(line.line_total)}")
    return text if _read_line(text, _CART_LINE) == line.model_dump() else line.model_dump()


def _product_line(product: ShownProduct) -> str | dict[str, object]:
    text = f"{product.sku} {product.name} {_yen(product.price)}, stock {product.stock}"
    text += f", {product.category}" if product.category else ""
    text += f", size {product.size}" if product.size else ""
    if _read_line(text, _PRODUCT_LINE) == product.model_dump():
        return text
    return product.model_dump(exclude_defaults=True)


def _read_line(item: object, pattern: re.Pattern[str]) -> object:
    """A line of text back into its fields (other items are left for validation to judge)."""
    match = pattern.fullmatch(item) if isinstance(item, str) else None
    if match is None:
        return item
    fields: dict[str, object] = {}
    for key, value in match.groupdict().items():
        if key in ("sku", "name", "category", "size"):
            fields[key] = value or ""
        else:
            fields[key] = int(value.replace(",", ""))
    return fields


def render(block: StateBlock) -> str:
    """The state message text: the header line, then compact JSON (stable key order).

    Fields at their default (no address, no card, an empty list, the totals of an empty cart) are
    left out: the block is sent on every call, and an absent field reads the same as an empty one,
    to a model and to `parse`, which fills the defaults back in.
    """
    shown = block.model_dump(mode="json", exclude_defaults=True)
    body: dict[str, object] = {}
    for key, value in block.model_dump(mode="json").items():
        if key in shown or (block.cart and key in _TOTALS):
            body[key] = value
    if block.cart:
        body["cart"] = [_cart_line(line) for line in block.cart]
    if block.recent_products:
        body["recent_products"] = [_product_line(product) for product in block.recent_products]
    text = json.dumps(body, ensure_ascii=False, separators=(",", ":"))
    return f"{STATE_HEADER}\n{text}"


def parse(text: str) -> StateBlock | None:
    """The block from a state message's text, or None when the text is not one."""
    if not text.startswith(STATE_HEADER):
        return None
    try:
        data = json.loads(text[len(STATE_HEADER):])
        if not isinstance(data, dict):
            return None
        for key, pattern in (("cart", _CART_LINE), ("recent_products", _PRODUCT_LINE)):
            if isinstance(data.get(key), list):
                data[key] = [_read_line(item, pattern) for item in data[key]]
        return StateBlock.model_validate(data)
    except (ValueError, RecursionError):
        return None
