"""Payment methods a shopper can choose in the chat (names are part of the public contract)."""

from __future__ import annotations

from enum import StrEnum


class PaymentMethod(StrEnum):
    CARD = "card"  # credit card via the gateway's frame, with 3-D Secure; completes in the chat
    AFTER_DELIVERY = "after_delivery"  # deferred payment after credit screening; completes in chat
    KONBINI = "konbini"  # convenience store: the chat issues a slip, the order waits for payment
