"""The peers' shop: the benchmark's six tools as async functions on an in-memory dict.

This module only houses what both peer frameworks call from their tools. It does the same steps
as chatpay's tools (find products, change the cart and total it, keep an address and a payment
method, show a confirmation) without any database, as the issue measures the peers.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from typing import Any

from tools.catalog.loader import load_demo_entries

SHIPPING_FEE = 600
FREE_SHIPPING_FROM = 5000
PAYMENT_FEES = {"card": 0, "after_delivery": 250, "konbini": 200}


@cache
def _catalogue() -> tuple[dict[str, Any], ...]:
    return tuple({"sku": e.sku.upper(), "name": e.name, "price": e.price, "stock": e.stock,
                  "category": e.category, "words": " ".join([e.name, *e.tags]).lower()}
                 for e in load_demo_entries())


@dataclass
class PeerShop:
    """One conversation's state: what chatpay keeps in its database."""

    cart: dict[str, int] = field(default_factory=dict)
    address: dict[str, str] | None = None
    method: str | None = None

    def search_products(self, query: str, limit: int = 5) -> dict[str, Any]:
        words = query.lower().split()
        hits = [{k: v for k, v in p.items() if k != "words"} for p in _catalogue()
                if all(word in p["words"] for word in words)]
        if not hits:
            return {"ok": False, "error": {"code": "no_match", "message": f"No match: {query}"}}
        return {"ok": True, "query": query, "results": hits[:limit]}

    def add_to_cart(self, sku: str, quantity: int = 1) -> dict[str, Any]:
        sku = sku.upper()
        if not any(p["sku"] == sku for p in _catalogue()):
            return {"ok": False, "error": {"code": "product_not_found", "message": sku}}
        self.cart[sku] = self.cart.get(sku, 0) + quantity
        return {"ok": True, "cart": self.view()}

    def set_shipping_address(self, address: dict[str, str]) -> dict[str, Any]:
        self.address = dict(address)
        return {"ok": True, "address": ", ".join(v for v in address.values() if v)}

    def choose_payment_method(self, method: str) -> dict[str, Any]:
        if method not in PAYMENT_FEES:
            return {"ok": False, "error": {"code": "unknown_method", "message": method}}
        self.method = method
        return {"ok": True, "method": method}

    def view(self) -> dict[str, Any]:
        prices = {p["sku"]: p for p in _catalogue()}
        lines = [{"sku": sku, "name": prices[sku]["name"], "quantity": quantity,
                  "unit_price": prices[sku]["price"],
                  "line_total": prices[sku]["price"] * quantity}
                 for sku, quantity in self.cart.items()]
        subtotal = sum(line["line_total"] for line in lines)
        shipping = 0 if subtotal >= FREE_SHIPPING_FROM or not lines else SHIPPING_FEE
        fee = PAYMENT_FEES.get(self.method or "", 0)
        return {"lines": lines, "subtotal": subtotal, "shipping_fee": shipping,
                "payment_fee": fee, "total": subtotal + shipping + fee}

    def view_cart(self) -> dict[str, Any]:
        return {"ok": True, "cart": self.view()}

    def prepare_checkout(self) -> dict[str, Any]:
        missing = [name for name, value in (("cart", self.cart), ("address", self.address),
                                            ("payment_method", self.method)) if not value]
        if missing:
            return {"ok": False, "error": {"code": "checkout_incomplete", "missing": missing}}
        return {"ok": True, "total": self.view()["total"], "shown": "confirm"}
