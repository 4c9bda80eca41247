"""The shopper's choice of payment method, and the card (token) they entered in the gateway frame.

Both live on the conversation. Choosing or changing either makes any earlier quote stale (its content
holds the method and a reference to the card token), so a confirmation always shows what will be used.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from tools.cart import get_cart
from tools.conversations import load_conversation
from tools.errors import DomainError
from tools.payments.methods import PaymentMethod
from tools.pricing import compute_totals, payment_fee_for
from tools.settings import CommerceSettings


@dataclass(frozen=True)
class MethodOption:
    """A payment method as offered to the shopper, with its fee and why it may be unavailable."""

    method: PaymentMethod
    fee: int
    available: bool
    reason: str | None = None  # machine code when unavailable, e.g. "over_limit"


class PaymentMethodUnavailable(DomainError):
    """Payment after delivery over its limit (checked when chosen and again when quoting)."""

    def __init__(self, method: PaymentMethod, settings: CommerceSettings) -> None:
        limit = settings.after_delivery_limit
        super().__init__(
            "payment_method_unavailable",
            f"Payment after delivery is available up to ¥{limit:,}. "
            "Please choose card or convenience store.",
            f"後払いは¥{limit:,}までのご注文でご利用いただけます。"
            "カードまたはコンビニ払いをお選びください。",
            details={"method": method.value, "limit": limit},
            http_status=409,
        )


def over_limit(method: PaymentMethod, total_with_fee: int, settings: CommerceSettings) -> bool:
    """Whether `method` is refused for an order of this total (fee included)."""
    return method is PaymentMethod.AFTER_DELIVERY and total_with_fee > settings.after_delivery_limit


async def payment_options(
    session: AsyncSession, conversation_id: str, settings: CommerceSettings
) -> list[MethodOption]:
    """Every method with its fee; payment after delivery is unavailable over the limit."""
    # One cart read; each method's total is pure arithmetic on the same lines.
    lines = (await get_cart(session, conversation_id, settings=settings)).priced_lines()
    options = []
    for method in PaymentMethod:
        fee = payment_fee_for(method, settings)
        total = compute_totals(lines, method, settings).total
        if over_limit(method, total, settings):
            options.append(MethodOption(method, fee, False, "over_limit"))
        else:
            options.append(MethodOption(method, fee, True))
    return options


async def choose_payment_method(
    session: AsyncSession, conversation_id: str, method: str, settings: CommerceSettings
) -> PaymentMethod:
    """Record the shopper's method; refuses unknown names and after-delivery over the limit."""
    try:
        chosen = PaymentMethod(method.strip().lower())
    except ValueError:
        raise DomainError(
            "unknown_payment_method",
            "Please choose card, payment after delivery or convenience store.",
            "カード、後払い、コンビニ払いからお選びください。",
            details={"method": method[:40], "allowed": [m.value for m in PaymentMethod]},
        ) from None
    options = {o.method: o for o in await payment_options(session, conversation_id, settings)}
    if not options[chosen].available:
        raise PaymentMethodUnavailable(chosen, settings)
    conversation = await load_conversation(session, conversation_id)
    conversation.payment_method = chosen.value
    await session.flush()
    return chosen


async def attach_card(
    session: AsyncSession, conversation_id: str, *, token: str, brand: str, last4: str
) -> None:
    """Remember the gateway token and its public facts (never the number) for the next quote."""
    if len(last4) != 4 or not last4.isdigit():
        raise ValueError("last4 must be four digits")
    conversation = await load_conversation(session, conversation_id)
    conversation.card_token = token
    conversation.card_brand = brand
    conversation.card_last4 = last4
    await session.flush()


async def forget_card(session: AsyncSession, conversation_id: str) -> None:
    """Drop the card token (after it was used or declined: gateway tokens are single-use)."""
    conversation = await load_conversation(session, conversation_id)
    conversation.card_token = None
    conversation.card_brand = None
    conversation.card_last4 = None
    await session.flush()
