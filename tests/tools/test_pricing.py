"""Order arithmetic: hand-checked receipts, and properties that must hold for any cart."""

from __future__ import annotations

import json
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tools.payments.methods import PaymentMethod
from tools.pricing import PricedLine, Totals, compute_totals, payment_fee_for
from tools.settings import CommerceSettings

DEFAULTS = CommerceSettings(
    shipping_fee=600,
    free_shipping_from=5000,
    fee_card=0,
    fee_after_delivery=250,
    fee_konbini=200,
    currency="JPY",
)


def line(sku: str, unit_price: int, quantity: int, tax_rate: int) -> PricedLine:
    return PricedLine(
        sku=sku, name=sku, name_ja=sku, unit_price=unit_price, quantity=quantity, tax_rate=tax_rate
    )


# --- hand-checked receipts ------------------------------------------------------------------------


def test_two_teas_with_shipping() -> None:
    # 2 x 1,200 at 8 % = 2,400 (tax 2400*8/108 = 177.7 -> 177); shipping 600 at 10 % (54.5 -> 54).
    totals = compute_totals([line("TEA", 1200, 2, 8)], None, DEFAULTS)
    assert totals == Totals(
        subtotal=2400,
        shipping_fee=600,
        payment_fee=0,
        tax_included={10: 54, 8: 177},
        taxable_by_rate={10: 600, 8: 2400},
        total=3000,
        currency="JPY",
    )


def test_mixed_rates_with_after_delivery_fee() -> None:
    # goods 1,200 @8 + 2,750 @10 = 3,950 < 5,000: shipping 600; after-delivery fee 250.
    # 10 %: 2,750 + 600 + 250 = 3,600 -> 327.27 -> 327; 8 %: 1,200 -> 88.88 -> 88.
    totals = compute_totals(
        [line("TEA", 1200, 1, 8), line("MUG", 2750, 1, 10)], PaymentMethod.AFTER_DELIVERY, DEFAULTS
    )
    assert (totals.subtotal, totals.shipping_fee, totals.payment_fee) == (3950, 600, 250)
    assert totals.taxable_by_rate == {10: 3600, 8: 1200}
    assert totals.tax_included == {10: 327, 8: 88}
    assert totals.total == 4800


def test_free_shipping_from_the_threshold_and_konbini_fee() -> None:
    # 2 mugs = 5,500 >= 5,000: no shipping; konbini fee 200: 10 % on 5,700 -> 518.18 -> 518.
    totals = compute_totals([line("MUG", 2750, 2, 10)], PaymentMethod.KONBINI, DEFAULTS)
    assert (totals.shipping_fee, totals.payment_fee, totals.total) == (0, 200, 5700)
    assert totals.tax_included == {10: 518, 8: 0}


def test_tax_is_rounded_once_per_rate_not_per_line() -> None:
    # Three 100-yen items at 8 %: per line floor(7.4) = 7, three times 21; on the order floor(22.2).
    lines = [line("A", 100, 1, 8), line("B", 100, 1, 8), line("C", 100, 1, 8)]
    assert compute_totals(lines, None, DEFAULTS).tax_included[8] == 22


def test_empty_cart_costs_nothing_even_with_a_method_chosen() -> None:
    totals = compute_totals([], PaymentMethod.AFTER_DELIVERY, DEFAULTS)
    assert totals == Totals(
        subtotal=0,
        shipping_fee=0,
        payment_fee=0,
        tax_included={10: 0, 8: 0},
        taxable_by_rate={10: 0, 8: 0},
        total=0,
        currency="JPY",
    )


def test_as_dict_round_trips_through_json() -> None:
    totals = compute_totals([line("TEA", 1200, 2, 8)], PaymentMethod.CARD, DEFAULTS)
    body = totals.as_dict()
    assert json.loads(json.dumps(body)) == body
    assert body["tax_included"] == {"10": 54, "8": 177}
    assert body["taxable_by_rate"] == {"10": 600, "8": 2400}
    assert body["total"] == 3000 and body["currency"] == "JPY"


@pytest.mark.parametrize(
    ("unit_price", "quantity", "tax_rate", "error"),
    [
        (1200, 0, 8, ValueError),
        (-1, 1, 8, ValueError),
        (1200, 1, 5, ValueError),
        (12.0, 1, 8, TypeError),
        (1200, True, 8, TypeError),
    ],
)
def test_invalid_lines_are_refused(
    unit_price: int, quantity: int, tax_rate: int, error: type[Exception]
) -> None:
    with pytest.raises(error):
        line("X", unit_price, quantity, tax_rate)


# --- properties -----------------------------------------------------------------------------------

lines_strategy = st.lists(
    st.builds(
        line,
        sku=st.sampled_from(["A", "B", "C", "D"]),
        unit_price=st.integers(min_value=0, max_value=200_000),
        quantity=st.integers(min_value=1, max_value=999),
        tax_rate=st.sampled_from([8, 10]),
    ),
    max_size=12,
)
settings_strategy = st.builds(
    CommerceSettings,
    shipping_fee=st.integers(min_value=0, max_value=5_000),
    free_shipping_from=st.integers(min_value=0, max_value=100_000),
    fee_card=st.integers(min_value=0, max_value=1_000),
    fee_after_delivery=st.integers(min_value=0, max_value=1_000),
    fee_konbini=st.integers(min_value=0, max_value=1_000),
)
methods = st.none() | st.sampled_from(list(PaymentMethod))


@given(lines_strategy, methods, settings_strategy)
def test_total_is_the_sum_of_its_parts(
    lines: list[PricedLine], method: PaymentMethod | None, settings: CommerceSettings
) -> None:
    totals = compute_totals(lines, method, settings)
    assert totals.subtotal == sum(item.unit_price * item.quantity for item in lines)
    assert totals.total == totals.subtotal + totals.shipping_fee + totals.payment_fee
    assert sum(totals.taxable_by_rate.values()) == totals.total
    assert totals.taxable_by_rate[8] == sum(i.line_total for i in lines if i.tax_rate == 8)
    assert totals.currency == settings.currency
    for value in (
        totals.subtotal,
        totals.shipping_fee,
        totals.payment_fee,
        totals.total,
        *totals.tax_included.values(),
        *totals.taxable_by_rate.values(),
    ):
        assert isinstance(value, int) and value >= 0


@given(lines_strategy, methods, settings_strategy)
def test_tax_is_the_floor_of_the_true_tax_per_rate(
    lines: list[PricedLine], method: PaymentMethod | None, settings: CommerceSettings
) -> None:
    totals = compute_totals(lines, method, settings)
    assert set(totals.tax_included) == {8, 10} == set(totals.taxable_by_rate)
    for rate, amount in totals.taxable_by_rate.items():
        true_tax = Fraction(amount * rate, 100 + rate)
        assert totals.tax_included[rate] == (amount * rate) // (100 + rate)
        assert true_tax - 1 < totals.tax_included[rate] <= true_tax


@given(lines_strategy, methods, settings_strategy, st.data())
def test_order_of_lines_does_not_matter(
    lines: list[PricedLine],
    method: PaymentMethod | None,
    settings: CommerceSettings,
    data: st.DataObject,
) -> None:
    shuffled = data.draw(st.permutations(lines))
    assert compute_totals(shuffled, method, settings) == compute_totals(lines, method, settings)


@given(lines_strategy, methods, settings_strategy, st.data())
def test_splitting_a_line_changes_nothing(
    lines: list[PricedLine],
    method: PaymentMethod | None,
    settings: CommerceSettings,
    data: st.DataObject,
) -> None:
    splittable = [i for i, item in enumerate(lines) if item.quantity >= 2]
    if not splittable:
        lines = [*lines, line("A", 500, 2, 8)]
        splittable = [len(lines) - 1]
    index = data.draw(st.sampled_from(splittable))
    whole = lines[index]
    first = data.draw(st.integers(min_value=1, max_value=whole.quantity - 1))
    halves = [
        line(whole.sku, whole.unit_price, first, whole.tax_rate),
        line(whole.sku, whole.unit_price, whole.quantity - first, whole.tax_rate),
    ]
    split = [*lines[:index], *halves, *lines[index + 1 :]]
    assert compute_totals(split, method, settings) == compute_totals(lines, method, settings)


@given(settings_strategy, methods, st.sampled_from([8, 10]))
def test_shipping_is_free_exactly_from_the_threshold(
    settings: CommerceSettings, method: PaymentMethod | None, rate: int
) -> None:
    at_threshold = compute_totals(
        [line("A", settings.free_shipping_from, 1, rate)], method, settings
    )
    assert at_threshold.shipping_fee == 0
    if settings.free_shipping_from >= 1:
        below = compute_totals(
            [line("A", settings.free_shipping_from - 1, 1, rate)], method, settings
        )
        assert below.shipping_fee == settings.shipping_fee


@given(lines_strategy, methods, settings_strategy)
def test_fees_follow_the_settings(
    lines: list[PricedLine], method: PaymentMethod | None, settings: CommerceSettings
) -> None:
    totals = compute_totals(lines, method, settings)
    expected_fee = {
        None: 0,
        PaymentMethod.CARD: settings.fee_card,
        PaymentMethod.AFTER_DELIVERY: settings.fee_after_delivery,
        PaymentMethod.KONBINI: settings.fee_konbini,
    }[method]
    assert payment_fee_for(method, settings) == expected_fee
    if not lines:
        assert (totals.shipping_fee, totals.payment_fee) == (0, 0)
        return
    assert totals.payment_fee == expected_fee
    free = totals.subtotal >= settings.free_shipping_from
    assert totals.shipping_fee == (0 if free else settings.shipping_fee)
    # Fees are services at the standard rate.
    goods_at_10 = sum(item.line_total for item in lines if item.tax_rate == 10)
    assert totals.taxable_by_rate[10] == goods_at_10 + totals.shipping_fee + totals.payment_fee
