"""Builders for offline-model tests: state blocks, message lists, tool steps, shown products.

The products below copy a few entries of the demo catalogue as the state block would carry them
(`recent_products`), in English and Japanese, so tests read like conversations with the demo shop.
The offline model never sees the catalogue itself: only what these messages say.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Any, Literal

from agent.offline import Decision, decide, read_conversation
from agent.state_block import CartLineState, OrderState, ShownProduct, StateBlock, render
from prompts import load_prompts

Locale = Literal["en", "ja"]

SENCHA = ShownProduct(sku="TEA-SENCHA", name="Sencha green tea 100 g", price=1200, stock=50,
                      category="tea")
GYOKURO = ShownProduct(sku="TEA-GYOKURO", name="Gyokuro premium green tea 50 g", price=2800,
                       stock=12, category="tea")
GENMAICHA = ShownProduct(sku="TEA-GENMAICHA", name="Genmaicha green tea with roasted rice 200 g",
                         price=860, stock=40, category="tea")
MATCHA = ShownProduct(sku="TEA-MATCHA", name="Uji matcha powder 30 g", price=2160, stock=3,
                      category="tea")
WAKOCHA = ShownProduct(sku="TEA-WAKOCHA", name="Japanese black tea 50 g", price=1100, stock=0,
                       category="tea")
HASAMI = ShownProduct(sku="MUG-HASAMI", name="Hasami porcelain mug", price=2750, stock=20,
                      category="mugs")
ENAMEL = ShownProduct(sku="MUG-ENAMEL", name="Enamel camping mug 350 ml", price=1980, stock=16,
                      category="mugs")
LOGO_MUG = ShownProduct(sku="MUG-LOGO", name="Logo mug", price=1430, stock=30, category="mugs")
TEE_M = ShownProduct(sku="TSHIRT-LOGO-M", name="Logo T-shirt M", price=3300, stock=20,
                     category="apparel", size="M")
TEE_L = ShownProduct(sku="TSHIRT-LOGO-L", name="Logo T-shirt L", price=3300, stock=15,
                     category="apparel", size="L")
TEE_S = ShownProduct(sku="TSHIRT-LOGO-S", name="Logo T-shirt S", price=3300, stock=12,
                     category="apparel", size="S")
DRIP = ShownProduct(sku="COF-DRIP", name="Drip coffee bags x10", price=980, stock=40,
                    category="coffee")
DECAF_DRIP = ShownProduct(sku="COF-DECAF", name="Decaf drip coffee bags x8", price=1080, stock=18,
                          category="coffee")
MUGICHA = ShownProduct(sku="TEA-MUGICHA", name="Barley tea bags x52", price=540, stock=30,
                       category="tea")
BRAZIL = ShownProduct(sku="COF-BEANS-BRAZIL", name="Brazil medium roast coffee beans 200 g",
                      price=1580, stock=25, category="coffee")
ETHIOPIA = ShownProduct(sku="COF-BEANS-ETHIOPIA",
                        name="Ethiopia Yirgacheffe light roast coffee beans 200 g", price=1980,
                        stock=15, category="coffee")
NOTEBOOK = ShownProduct(sku="STA-NOTEBOOK", name="A5 dot-grid notebook", price=1320, stock=30,
                        category="stationery")
MINO_YUNOMI = ShownProduct(sku="MUG-MINO-YUNOMI", name="Mino ware yunomi teacup", price=1650,
                           stock=20, category="mugs")

SENCHA_JA = ShownProduct(sku="TEA-SENCHA", name="煎茶 100g", price=1200, stock=50, category="tea")
GYOKURO_JA = ShownProduct(sku="TEA-GYOKURO", name="玉露 50g", price=2800, stock=12, category="tea")
MATCHA_JA = ShownProduct(sku="TEA-MATCHA", name="宇治抹茶 30g", price=2160, stock=3, category="tea")
HOJICHA_JA = ShownProduct(sku="TEA-HOJICHA", name="ほうじ茶 100g", price=900, stock=30,
                          category="tea")
HASAMI_JA = ShownProduct(sku="MUG-HASAMI", name="波佐見焼マグカップ", price=2750, stock=20,
                         category="mugs")
LOGO_MUG_JA = ShownProduct(sku="MUG-LOGO", name="ロゴ入りマグカップ", price=1430, stock=30,
                           category="mugs")
TEE_M_JA = ShownProduct(sku="TSHIRT-LOGO-M", name="ロゴTシャツ M", price=3300, stock=20,
                        category="apparel", size="M")
TEE_L_JA = ShownProduct(sku="TSHIRT-LOGO-L", name="ロゴTシャツ L", price=3300, stock=15,
                        category="apparel", size="L")
SENBEI_JA = ShownProduct(sku="SNK-SENBEI", name="醤油せんべい 12枚", price=650, stock=30,
                         category="snacks")
WAFER_JA = ShownProduct(sku="SNK-MATCHA-WAFER", name="抹茶チョコウエハース 10枚", price=756, stock=30,
                        category="snacks")
WAKOCHA_JA = ShownProduct(sku="TEA-WAKOCHA", name="和紅茶 50g", price=1100, stock=0,
                          category="tea")

SHIPPING_FEE = 600
FREE_SHIPPING_FROM = 5000

ADDRESS_EN = "Shibuya 2-21-1, 渋谷区, Tokyo 150-0002, Japan"
ADDRESS_JA = "〒150-0002 東京都渋谷区渋谷2-21-1"


def line(product: ShownProduct, quantity: int = 1) -> CartLineState:
    """A cart line of a shown product."""
    return CartLineState(sku=product.sku, name=product.name, quantity=quantity,
                         unit_price=product.price, line_total=product.price * quantity)


def state(*, locale: Locale = "en", cart: Sequence[CartLineState] = (),
          recent: Sequence[ShownProduct] = (), address: str | None = None,
          method: Literal["card", "after_delivery", "konbini"] | None = None,
          card: str | None = None, order: OrderState | None = None,
          payment_fee: int = 0) -> StateBlock:
    """A state block as `agent.state.build_state` would render it for these facts."""
    subtotal = sum(item.line_total for item in cart)
    shipping = SHIPPING_FEE if 0 < subtotal < FREE_SHIPPING_FROM else 0
    missing = [name for name, needed in (
        ("cart", not cart), ("address", address is None), ("payment_method", method is None),
        ("card", method == "card" and card is None)) if needed]
    stage_of = {"cart": "browsing", "address": "cart", "payment_method": "payment_method",
                "card": "card"}
    stage = stage_of[missing[0]] if missing else "confirm"
    if order is not None and not cart:
        stage = "done"
    return StateBlock(
        locale=locale, stage=stage,
        cart=list(cart), subtotal=subtotal, shipping_fee=shipping, payment_fee=payment_fee,
        total=subtotal + shipping + payment_fee, address=address, payment_method=method,
        card=card, missing=missing, recent_products=list(recent), order=order)


def system_prompt(locale: Locale = "en") -> str:
    return load_prompts().render(
        "system", locale, shop_name="chatpay demo", shipping_fee=SHIPPING_FEE,
        free_shipping_from=FREE_SHIPPING_FROM, fee_card=0, fee_after_delivery=250,
        after_delivery_limit=55000, fee_konbini=200)


def shown_line(products: Iterable[ShownProduct]) -> str:
    """The history line `agent.widgets.describe` writes for a product list widget."""
    items = ", ".join(f"{p.sku} {p.name} ¥{p.price:,}" for p in products)
    return f"[shown products: {items}]"


def tool_step(*exchanges: tuple[str, dict[str, Any], dict[str, Any]], text: str | None = None,
              start: int = 0) -> list[dict[str, Any]]:
    """An assistant message with these tool calls, followed by their `tool` result messages."""
    calls = [{"id": f"call_{start + i}", "type": "function",
              "function": {"name": name, "arguments": json.dumps(args, ensure_ascii=False)}}
             for i, (name, args, _) in enumerate(exchanges)]
    messages: list[dict[str, Any]] = [{"role": "assistant", "content": text, "tool_calls": calls}]
    for i, (_, _, result) in enumerate(exchanges):
        messages.append({"role": "tool", "tool_call_id": f"call_{start + i}",
                         "content": json.dumps(result, ensure_ascii=False)})
    return messages


def build_messages(user: str, *, block: StateBlock | None = None,
                   history: Sequence[tuple[str, str]] = (),
                   steps: Sequence[dict[str, Any]] = ()) -> list[dict[str, Any]]:
    """A model request's messages: system prompt, history, the shopper's message, this turn's
    steps, and the state block last."""
    block = block or state()
    messages: list[dict[str, Any]] = [{"role": "system", "content": system_prompt(block.locale)}]
    messages += [{"role": role, "content": text} for role, text in history]
    messages.append({"role": "user", "content": user})
    messages += list(steps)
    messages.append({"role": "system", "content": render(block)})
    return messages


def decide_for(user: str, *, block: StateBlock | None = None,
               history: Sequence[tuple[str, str]] = (),
               steps: Sequence[dict[str, Any]] = ()) -> Decision:
    """What the offline model answers to this request."""
    return decide(read_conversation(build_messages(user, block=block, history=history,
                                                   steps=steps)))


def search_result(query: str, *products: ShownProduct) -> dict[str, Any]:
    if not products:
        return {"ok": False, "error": {"code": "no_match", "message": f"No product matches {query!r}.",
                                       "details": {"query": query}}}
    return {"ok": True, "query": query,
            "results": [{"sku": p.sku, "name": p.name, "price": p.price, "stock": p.stock,
                         "category": p.category, "size": p.size} for p in products]}


def search_step(query: str, *products: ShownProduct) -> list[dict[str, Any]]:
    """A `search_products` call for `query` and its result (no products: `no_match`)."""
    return tool_step(("search_products", {"query": query}, search_result(query, *products)))


def cart_result(*lines: CartLineState) -> dict[str, Any]:
    subtotal = sum(item.line_total for item in lines)
    shipping = SHIPPING_FEE if 0 < subtotal < FREE_SHIPPING_FROM else 0
    return {"ok": True, "cart": {
        "lines": [{"sku": item.sku, "name": item.name, "quantity": item.quantity,
                   "unit_price": item.unit_price, "line_total": item.line_total}
                  for item in lines],
        "subtotal": subtotal, "shipping_fee": shipping, "payment_fee": 0,
        "total": subtotal + shipping}}


def error(code: str, message: str = "", **details: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"code": code, "message": message or code}
    if details:
        body["details"] = details
    return {"ok": False, "error": body}


def calls_of(decision: Decision) -> list[tuple[str, dict[str, Any]]]:
    """(name, arguments) of each tool call of a decision."""
    return [(c.name, dict(c.arguments)) for c in decision.calls]
