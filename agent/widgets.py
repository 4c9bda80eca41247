"""Widgets: the structured pieces of the chat (product cards, cart, forms, confirmation, receipt).

This module only houses the builders that turn core views (cart, quote, payment outcome) into the
widget dicts of the public event contract, and `describe`, which turns a widget into the short text
the model sees in its history. Widgets carry amounts computed by `tools/`, never by the model.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from agent.texts import QUICK_REPLY_LABELS, Locale, method_name, yen
from tools.cart import CartView
from tools.checkout.payment_choice import MethodOption
from tools.store.models import Quote

Widget = dict[str, Any]


@dataclass(frozen=True)
class CardFormConfig:
    """Where the gateway's card frame lives, and the merchant page origin allowed to receive tokens."""

    gateway_url: str  # e.g. http://127.0.0.1:8001
    merchant_origin: str  # e.g. http://127.0.0.1:8000

    def iframe_url(self, locale: Locale, session: str) -> str:
        query = urlencode({"origin": self.merchant_origin, "locale": locale, "session": session})
        return f"{self.gateway_url}/card-form?{query}"

    @property
    def tokenize_url(self) -> str:
        return f"{self.gateway_url}/v1/tokens"


def product_list(products: list[dict[str, Any]]) -> Widget:
    return {"kind": "product_list", "products": products}


def cart(view: CartView) -> Widget:
    totals = view.totals
    return {
        "kind": "cart",
        "lines": [line.as_dict() for line in view.lines],
        "subtotal": totals.subtotal,
        "shipping_fee": totals.shipping_fee,
        "payment_fee": totals.payment_fee,
        "tax_included": {str(rate): amount for rate, amount in totals.tax_included.items()},
        "total": totals.total,
        "currency": totals.currency,
    }


def address_form(prefill: dict[str, str] | None = None,
                 errors: dict[str, str] | None = None) -> Widget:
    return {"kind": "address_form", "fields": prefill or {}, "errors": errors or {}}


def payment_methods(options: list[MethodOption], selected: str | None) -> Widget:
    return {
        "kind": "payment_methods",
        "methods": [{"method": o.method.value, "fee": o.fee, "available": o.available,
                     "reason": o.reason} for o in options],
        "selected": selected,
    }


def card_form(config: CardFormConfig, locale: Locale, conversation_id: str) -> Widget:
    return {"kind": "card_form", "iframe_url": config.iframe_url(locale, conversation_id),
            "tokenize_url": config.tokenize_url, "origin": config.gateway_url}


def confirm(quote: Quote) -> Widget:
    content = quote.content
    return {
        "kind": "confirm",
        "quote_id": quote.id,
        "quote_hash": quote.content_hash,
        "lines": content["lines"],
        "subtotal": content["subtotal"],
        "shipping_fee": content["shipping_fee"],
        "payment_fee": content["payment_fee"],
        "tax_included": content["tax_included"],
        "total": quote.total,
        "currency": quote.currency,
        "payment_method": content["payment_method"],
        "card": ({"brand": content["card"]["brand"], "last4": content["card"]["last4"]}
                 if content.get("card") else None),
        "address": content["address"],
        "expires_at": quote.expires_at.isoformat(),
    }


def quick_replies(values: list[str], locale: Locale) -> Widget:
    index = 1 if locale == "ja" else 0
    return {"kind": "quick_replies",
            "options": [{"label": QUICK_REPLY_LABELS[v][index], "value": v} for v in values]}


def describe(widget: Widget, locale: Locale) -> str:
    """One short line for the model's history (what the shopper saw, without personal data)."""
    kind = widget.get("kind", "")
    if kind == "product_list":
        items = ", ".join(f"{p['sku']} {p['name']} {yen(p['price'])}"
                          for p in widget.get("products", [])[:8])
        return f"[shown products: {items}]"
    if kind == "cart":
        return f"[shown cart: total {yen(widget.get('total', 0))}]"
    if kind == "confirm":
        method = method_name(str(widget.get("payment_method", "")), locale)
        return f"[shown confirmation: total {yen(widget.get('total', 0))}, {method}, Pay button]"
    if kind == "receipt":
        return f"[shown receipt: order {widget.get('order_id')} {widget.get('status')}]"
    if kind == "konbini_slip":
        return f"[shown convenience-store slip: order {widget.get('order_id')}]"
    return f"[shown {kind.replace('_', ' ')}]"
