"""Order statuses and the transitions allowed between them.

This module only houses the state machine; `tools.checkout.orders` applies it to rows. The status
names are a public contract (eval scenarios check them):

- pending_payment: the order exists, its charge is in progress (transient within a confirm request).
- requires_action: a 3-D Secure challenge is outstanding.
- paid: the money is collected (card charge approved, or the convenience-store payment arrived).
- deferred_approved: payment after delivery approved by screening; the invoice follows the goods.
- awaiting_screening: payment-after-delivery screening is in manual review (settled by webhook).
- awaiting_store_payment: a convenience-store slip was issued; the order waits for the payment.
- failed: the payment did not happen (declined card, rejected screening, failed 3-D Secure).
- canceled: the shopper or the operator canceled (or the store slip expired); money is returned if any
  was taken.
"""

from __future__ import annotations

from enum import StrEnum

from tools.errors import ConflictError


class OrderStatus(StrEnum):
    PENDING_PAYMENT = "pending_payment"
    REQUIRES_ACTION = "requires_action"
    PAID = "paid"
    DEFERRED_APPROVED = "deferred_approved"
    AWAITING_SCREENING = "awaiting_screening"
    AWAITING_STORE_PAYMENT = "awaiting_store_payment"
    FAILED = "failed"
    CANCELED = "canceled"


S = OrderStatus

#: Every allowed move. Anything not listed is refused.
TRANSITIONS: dict[OrderStatus, frozenset[OrderStatus]] = {
    S.PENDING_PAYMENT: frozenset(
        {S.REQUIRES_ACTION, S.PAID, S.DEFERRED_APPROVED, S.AWAITING_SCREENING,
         S.AWAITING_STORE_PAYMENT, S.FAILED, S.CANCELED}
    ),
    S.REQUIRES_ACTION: frozenset({S.PAID, S.FAILED, S.CANCELED}),
    S.AWAITING_SCREENING: frozenset({S.DEFERRED_APPROVED, S.FAILED, S.CANCELED}),
    S.AWAITING_STORE_PAYMENT: frozenset({S.PAID, S.CANCELED}),
    # The deferred invoice is paid after the goods arrive; the order may still be canceled (no money
    # has moved yet).
    S.DEFERRED_APPROVED: frozenset({S.PAID, S.CANCELED}),
    # A paid order can only be canceled (with a refund, done by the payments layer).
    S.PAID: frozenset({S.CANCELED}),
    S.FAILED: frozenset(),
    S.CANCELED: frozenset(),
}

#: Statuses in which the order still holds its stock and may yet be paid.
OPEN_STATUSES = frozenset(
    {S.PENDING_PAYMENT, S.REQUIRES_ACTION, S.AWAITING_SCREENING, S.AWAITING_STORE_PAYMENT}
)
#: Statuses in which a payment is being taken right now: no new checkout may start meanwhile.
PAYMENT_IN_PROGRESS = frozenset({S.PENDING_PAYMENT, S.REQUIRES_ACTION})
#: Statuses after which the shopper's purchase is done, from the chat's point of view.
SUCCESS_STATUSES = frozenset({S.PAID, S.DEFERRED_APPROVED, S.AWAITING_SCREENING,
                              S.AWAITING_STORE_PAYMENT})
TERMINAL_STATUSES = frozenset(s for s, targets in TRANSITIONS.items() if not targets)


class InvalidTransition(ConflictError):
    """An order was asked to move where the state machine does not allow."""

    def __init__(self, current: OrderStatus, target: OrderStatus) -> None:
        super().__init__(
            "invalid_order_transition",
            f"The order is {current.value} and cannot become {target.value}.",
            f"この注文は現在「{current.value}」のため「{target.value}」にできません。",
            details={"from": current.value, "to": target.value},
        )
        self.current = current
        self.target = target


def can_transition(current: OrderStatus, target: OrderStatus) -> bool:
    """Whether `current` may move to `target`."""
    return target in TRANSITIONS[current]


def ensure_transition(current: str | OrderStatus, target: str | OrderStatus) -> OrderStatus:
    """The target status, or InvalidTransition. Accepts the stored strings."""
    src, dst = OrderStatus(current), OrderStatus(target)
    if not can_transition(src, dst):
        raise InvalidTransition(src, dst)
    return dst
