"""The order state machine refuses every move it does not explicitly allow."""

from __future__ import annotations

import itertools

import pytest

from tools.checkout.order_status import (
    InvalidTransition,
    OrderStatus,
    can_transition,
    ensure_transition,
)

S = OrderStatus

# Written out independently of the implementation's table: the business rules as a reviewer reads them.
EXPECTED_ALLOWED = {
    (S.PENDING_PAYMENT, S.REQUIRES_ACTION), (S.PENDING_PAYMENT, S.PAID),
    (S.PENDING_PAYMENT, S.DEFERRED_APPROVED), (S.PENDING_PAYMENT, S.AWAITING_SCREENING),
    (S.PENDING_PAYMENT, S.AWAITING_STORE_PAYMENT), (S.PENDING_PAYMENT, S.FAILED),
    (S.PENDING_PAYMENT, S.CANCELED),
    (S.REQUIRES_ACTION, S.PAID), (S.REQUIRES_ACTION, S.FAILED), (S.REQUIRES_ACTION, S.CANCELED),
    (S.AWAITING_SCREENING, S.DEFERRED_APPROVED), (S.AWAITING_SCREENING, S.FAILED),
    (S.AWAITING_SCREENING, S.CANCELED),
    (S.AWAITING_STORE_PAYMENT, S.PAID), (S.AWAITING_STORE_PAYMENT, S.CANCELED),
    (S.DEFERRED_APPROVED, S.PAID), (S.DEFERRED_APPROVED, S.CANCELED),
    (S.PAID, S.CANCELED),
}
ALL_PAIRS = list(itertools.product(OrderStatus, OrderStatus))


def test_status_names_are_the_public_contract() -> None:
    assert {s.value for s in OrderStatus} == {
        "pending_payment", "requires_action", "paid", "deferred_approved", "awaiting_screening",
        "awaiting_store_payment", "failed", "canceled",
    }


@pytest.mark.parametrize(("src", "dst"), ALL_PAIRS, ids=[f"{a}->{b}" for a, b in ALL_PAIRS])
def test_every_transition(src: OrderStatus, dst: OrderStatus) -> None:
    if (src, dst) in EXPECTED_ALLOWED:
        assert can_transition(src, dst)
        assert ensure_transition(src.value, dst.value) is dst
    else:
        assert not can_transition(src, dst)
        with pytest.raises(InvalidTransition) as info:
            ensure_transition(src.value, dst.value)
        assert info.value.code == "invalid_order_transition"
        assert info.value.http_status == 409
        assert info.value.message("ja")


def test_terminal_statuses_go_nowhere() -> None:
    for src in (S.FAILED, S.CANCELED):
        assert not any(can_transition(src, dst) for dst in OrderStatus)


def test_unknown_status_string_is_refused() -> None:
    with pytest.raises(ValueError):
        ensure_transition("shipped", "paid")
