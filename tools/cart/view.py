"""Read-only snapshot of a cart, as the widgets, the model's state block and checkout see it.

This module only houses `CartView` / `CartLineView` and how they are built from ORM rows. A view is
detached from the session: it can be returned, serialised and compared after the transaction ends.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from tools.payments.methods import PaymentMethod
from tools.pricing import PricedLine, Totals, compute_totals
from tools.settings import CommerceSettings
from tools.store.models import CartLine


@dataclass(frozen=True, slots=True)
class CartLineView:
    """One cart line at the product's current price, with the stock on hand.

    `active` is False when the product was withdrawn after it went into the cart; such a line
    cannot be bought, and checkout must refuse it (as it must a quantity above `stock`).
    """

    sku: str
    name: str
    name_ja: str
    unit_price: int
    quantity: int
    tax_rate: int
    line_total: int
    stock: int
    active: bool = True

    def priced(self) -> PricedLine:
        """The line as pricing sees it."""
        return PricedLine(
            sku=self.sku,
            name=self.name,
            name_ja=self.name_ja,
            unit_price=self.unit_price,
            quantity=self.quantity,
            tax_rate=self.tax_rate,
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "sku": self.sku,
            "name": self.name,
            "name_ja": self.name_ja,
            "unit_price": self.unit_price,
            "quantity": self.quantity,
            "tax_rate": self.tax_rate,
            "line_total": self.line_total,
            "stock": self.stock,
            "active": self.active,
        }


@dataclass(frozen=True, slots=True)
class CartView:
    """A conversation's cart with its totals. `version` is what a quote records to detect staleness.

    A conversation without a cart row reads as an empty cart at version 0.
    """

    conversation_id: str
    version: int
    lines: list[CartLineView]
    totals: Totals
    payment_method: PaymentMethod | None = None

    @property
    def is_empty(self) -> bool:
        return not self.lines

    def priced_lines(self) -> list[PricedLine]:
        """The lines as pricing sees them (what a quote is built from)."""
        return [line.priced() for line in self.lines]

    def as_dict(self) -> dict[str, Any]:
        """JSON-safe form for widgets, tool results and API bodies."""
        return {
            "conversation_id": self.conversation_id,
            "version": self.version,
            "lines": [line.as_dict() for line in self.lines],
            "totals": self.totals.as_dict(),
            "payment_method": self.payment_method.value if self.payment_method else None,
            "is_empty": self.is_empty,
        }


def build_view(
    conversation_id: str,
    version: int,
    lines: Sequence[CartLine],
    payment_method: PaymentMethod | None,
    settings: CommerceSettings,
) -> CartView:
    """A view of loaded cart lines (their products must already be loaded: no I/O happens here)."""
    line_views = [
        CartLineView(
            sku=line.product.sku,
            name=line.product.name,
            name_ja=line.product.name_ja,
            unit_price=line.product.price,
            quantity=line.quantity,
            tax_rate=line.product.tax_rate,
            line_total=line.product.price * line.quantity,
            stock=line.product.stock,
            active=line.product.active,
        )
        for line in lines
    ]
    return view_of_lines(conversation_id, version, line_views, payment_method, settings)


def view_of_lines(
    conversation_id: str,
    version: int,
    lines: list[CartLineView],
    payment_method: PaymentMethod | None,
    settings: CommerceSettings,
) -> CartView:
    """The view of lines already read, with their totals."""
    totals = compute_totals([line.priced() for line in lines], payment_method, settings)
    return CartView(
        conversation_id=conversation_id,
        version=version,
        lines=lines,
        totals=totals,
        payment_method=payment_method,
    )
