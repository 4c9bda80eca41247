"""Money arithmetic of an order: line totals, shipping and payment fees, consumption tax, total.

This module only houses pure functions and value types: no database, no I/O, no settings lookup
(settings are passed in). Money is `int` yen (JPY has no minor unit); a float never appears.

Catalogue prices are tax-inclusive, so tax is never added on top: it is the part of each amount
that is consumption tax, shown per rate on the receipt. Japan's qualified-invoice rules
(インボイス制度) allow rounding the tax only *once per rate per invoice*, never per line, so
`compute_totals` sums the tax-inclusive amounts at each rate over the whole order and then takes
`floor(amount * rate / (100 + rate))` once. Rounding per line would drift by up to one yen a line.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from tools.payments.methods import PaymentMethod
from tools.settings import CommerceSettings

STANDARD_RATE = 10
REDUCED_RATE = 8  # food and drink (軽減税率)
TAX_RATES: tuple[int, ...] = (STANDARD_RATE, REDUCED_RATE)


def _require_int(name: str, value: object, minimum: int) -> None:
    # bool is an int subclass; True as a quantity is a bug, not 1.
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int, got {type(value).__name__}")
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")


@dataclass(frozen=True, slots=True)
class PricedLine:
    """One product at its tax-inclusive unit price, times a quantity."""

    sku: str
    name: str
    name_ja: str
    unit_price: int
    quantity: int
    tax_rate: int

    def __post_init__(self) -> None:
        # Invalid lines are programming errors (the cart validates shopper input), hence ValueError.
        _require_int("unit_price", self.unit_price, 0)
        _require_int("quantity", self.quantity, 1)
        if self.tax_rate not in TAX_RATES:
            raise ValueError(f"tax_rate must be one of {TAX_RATES}, got {self.tax_rate!r}")

    @property
    def line_total(self) -> int:
        """Tax-inclusive price of the line."""
        return self.unit_price * self.quantity


@dataclass(frozen=True, slots=True)
class Totals:
    """What an order costs, with the consumption tax it includes per rate.

    `taxable_by_rate[r]` is the tax-inclusive amount charged at rate `r` (goods at that rate, plus
    the shipping and payment fees at the standard rate); `tax_included[r]` is the tax inside it.
    Both always have the keys 10 and 8, so a receipt can print both rows.
    """

    subtotal: int
    shipping_fee: int
    payment_fee: int
    tax_included: dict[int, int]
    taxable_by_rate: dict[int, int]
    total: int
    currency: str

    def as_dict(self) -> dict[str, Any]:
        """JSON-safe form; rate keys become strings ("10", "8") so the JSON round-trips exactly."""
        return {
            "subtotal": self.subtotal,
            "shipping_fee": self.shipping_fee,
            "payment_fee": self.payment_fee,
            "tax_included": {str(rate): self.tax_included[rate] for rate in TAX_RATES},
            "taxable_by_rate": {str(rate): self.taxable_by_rate[rate] for rate in TAX_RATES},
            "total": self.total,
            "currency": self.currency,
        }


def tax_included_in(amount: int, rate: int) -> int:
    """Consumption tax contained in a tax-inclusive `amount` at `rate` %, rounded down.

    Integer arithmetic on purpose: `amount * rate / (100 + rate)` in floats can land a hair under an
    integer and floor to one yen less.
    """
    return (amount * rate) // (100 + rate)


def payment_fee_for(payment_method: PaymentMethod | None, settings: CommerceSettings) -> int:
    """The fee the merchant charges for a payment method (0 until a method is chosen)."""
    if payment_method is None:
        return 0
    fees = {
        PaymentMethod.CARD: settings.fee_card,
        PaymentMethod.AFTER_DELIVERY: settings.fee_after_delivery,
        PaymentMethod.KONBINI: settings.fee_konbini,
    }
    return fees[payment_method]


def compute_totals(
    lines: Sequence[PricedLine],
    payment_method: PaymentMethod | None,
    settings: CommerceSettings,
) -> Totals:
    """Subtotal, fees, tax included per rate and total of an order.

    Shipping is `settings.shipping_fee` unless the order is empty or its goods subtotal reaches
    `settings.free_shipping_from`. An empty order also pays no payment fee: there is nothing to pay
    for, and a cart showing "¥0 of goods, total ¥250" would only confuse the shopper. Shipping and
    payment fees are services, taxed at the standard rate. The tax is rounded once per rate on the
    whole order (see the module docstring).
    """
    subtotal = sum(line.line_total for line in lines)
    if not lines:
        shipping_fee = 0
        payment_fee = 0
    else:
        shipping_fee = 0 if subtotal >= settings.free_shipping_from else settings.shipping_fee
        payment_fee = payment_fee_for(payment_method, settings)

    taxable = dict.fromkeys(TAX_RATES, 0)
    for line in lines:
        taxable[line.tax_rate] += line.line_total
    taxable[STANDARD_RATE] += shipping_fee + payment_fee

    return Totals(
        subtotal=subtotal,
        shipping_fee=shipping_fee,
        payment_fee=payment_fee,
        tax_included={rate: tax_included_in(amount, rate) for rate, amount in taxable.items()},
        taxable_by_rate=taxable,
        total=subtotal + shipping_fee + payment_fee,
        currency=settings.currency,
    )
