"""Quotes: the immutable snapshot of what the shopper is asked to pay.

A quote captures lines, fees, tax, total, address, payment method (and which card) exactly as the
confirmation widget shows them, plus the cart version it was built from. Its `content_hash` (SHA-256
of the canonical JSON of that content) is echoed back by the shopper's confirm action, so:
- a tampered amount or line cannot be confirmed (the hash would not match what we stored);
- a quote built from an older cart, address, method, card or catalogue price is refused, because
  confirm rebuilds the content from the current state and compares hashes;
- a quote older than `quote_ttl_minutes` is refused.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from tools.address import current_address
from tools.cart import InsufficientStock, ProductNotFound, get_cart
from tools.checkout.order_status import PAYMENT_IN_PROGRESS
from tools.checkout.payment_choice import PaymentMethodUnavailable, over_limit
from tools.conversations import load_conversation
from tools.errors import ConflictError, DomainError
from tools.payments.methods import PaymentMethod
from tools.settings import CommerceSettings
from tools.store.models import Conversation, Order, Quote, utcnow

#: The order in which a checkout asks for what is missing.
REQUIREMENTS = ("cart", "address", "payment_method", "card")

_MISSING_TEXT: dict[str, tuple[str, str]] = {
    "cart": ("your cart is empty", "カートが空です"),
    "address": ("a shipping address", "お届け先の住所"),
    "payment_method": ("a payment method", "お支払い方法"),
    "card": ("your card details (entered in the secure card form)", "カード情報（安全な入力フォームで入力）"),
}


class CheckoutIncomplete(DomainError):
    """The shopper cannot be shown a confirmation yet; `details["missing"]` says what is needed."""

    def __init__(self, missing: list[str]) -> None:
        en = ", ".join(_MISSING_TEXT[m][0] for m in missing)
        ja = "、".join(_MISSING_TEXT[m][1] for m in missing)
        super().__init__(
            "checkout_incomplete",
            f"Before checkout we still need: {en}.",
            f"ご注文の前に次の情報が必要です：{ja}。",
            details={"missing": missing},
        )
        self.missing = missing


def canonical_json(content: dict[str, Any]) -> str:
    """The byte-stable JSON form that the hash is computed over."""
    return json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def content_hash(content: dict[str, Any]) -> str:
    """SHA-256 hex of the canonical JSON."""
    return hashlib.sha256(canonical_json(content).encode("utf-8")).hexdigest()


def card_reference(card_token: str) -> str:
    """A short, non-reversible reference to the card token, so a new card makes a new quote."""
    return hashlib.sha256(card_token.encode("utf-8")).hexdigest()[:16]


@dataclass(frozen=True)
class CheckoutState:
    """Where a conversation's checkout stands: what is in place and what is missing."""

    has_items: bool
    has_address: bool
    payment_method: PaymentMethod | None
    has_card: bool

    @property
    def missing(self) -> list[str]:
        need = {
            "cart": not self.has_items,
            "address": not self.has_address,
            "payment_method": self.payment_method is None,
            "card": self.payment_method is PaymentMethod.CARD and not self.has_card,
        }
        return [name for name in REQUIREMENTS if need[name]]

    @property
    def ready(self) -> bool:
        return not self.missing

    @classmethod
    def of(cls, conversation: Conversation, *, has_items: bool,
           has_address: bool) -> CheckoutState:
        """The state given the cart and address; method and card come from the conversation."""
        method = PaymentMethod(conversation.payment_method) if conversation.payment_method else None
        return cls(has_items=has_items, has_address=has_address, payment_method=method,
                   has_card=bool(conversation.card_token))


async def checkout_state(session: AsyncSession, conversation: Conversation,
                         settings: CommerceSettings) -> CheckoutState:
    """Where this conversation's checkout stands (one cart read, one address read)."""
    view = await get_cart(session, conversation.id, settings=settings)
    address = await current_address(session, conversation.id)
    return CheckoutState.of(conversation, has_items=not view.is_empty,
                            has_address=address is not None)


async def build_quote_content(
    session: AsyncSession, conversation_id: str, settings: CommerceSettings
) -> dict[str, Any]:
    """The content a quote would have right now, or CheckoutIncomplete / a domain error."""
    conversation = await load_conversation(session, conversation_id)
    method = PaymentMethod(conversation.payment_method) if conversation.payment_method else None
    cart = await get_cart(session, conversation_id, payment_method=method, settings=settings)
    address = await current_address(session, conversation_id)
    state = CheckoutState.of(conversation, has_items=not cart.is_empty,
                             has_address=address is not None)
    if state.missing:
        raise CheckoutIncomplete(state.missing)
    assert method is not None and address is not None  # noqa: S101 - guaranteed by `missing`

    for line in cart.lines:
        if not line.active:  # withdrawn from sale after it went into the cart
            raise ProductNotFound(line.sku)
        if line.quantity > line.stock:
            raise InsufficientStock(sku=line.sku, name=line.name, name_ja=line.name_ja,
                                    requested=line.quantity, available=line.stock)
    totals = cart.totals
    if over_limit(method, totals.total, settings):  # the cart grew after the method was chosen
        raise PaymentMethodUnavailable(method, settings)
    card: dict[str, str] | None = None
    if method is PaymentMethod.CARD:
        assert conversation.card_token is not None  # noqa: S101 - checked by `missing`
        card = {
            "brand": conversation.card_brand or "unknown",
            "last4": conversation.card_last4 or "",
            "ref": card_reference(conversation.card_token),
        }
    return {
        "currency": totals.currency,
        "cart_version": cart.version,
        "lines": [
            {"sku": line.sku, "name": line.name, "name_ja": line.name_ja,
             "unit_price": line.unit_price, "quantity": line.quantity,
             "tax_rate": line.tax_rate, "line_total": line.line_total}
            for line in cart.lines
        ],
        "subtotal": totals.subtotal,
        "shipping_fee": totals.shipping_fee,
        "payment_fee": totals.payment_fee,
        # JSON object keys are strings; keep them so the hash is the same after a round trip.
        "tax_included": {str(rate): amount for rate, amount in sorted(totals.tax_included.items())},
        "total": totals.total,
        "payment_method": method.value,
        "card": card,
        "address": address.as_dict(),
    }


async def prepare_quote(
    session: AsyncSession,
    conversation_id: str,
    settings: CommerceSettings,
    *,
    now: datetime | None = None,
) -> Quote:
    """A quote for the current checkout, reusing the newest one if nothing changed and it is fresh.

    Raises CheckoutIncomplete when something is missing, and ConflictError when an order of this
    conversation is still being paid (its 3-D Secure challenge, say) or the stock ran out.
    """
    now = now or utcnow()
    open_order = await session.scalar(
        select(Order.id).where(
            Order.conversation_id == conversation_id,
            Order.status.in_([s.value for s in PAYMENT_IN_PROGRESS]),
        )
    )
    if open_order is not None:
        raise ConflictError(
            "order_in_progress",
            "Your previous order is still waiting for payment; finish or cancel it first.",
            "前回のご注文のお支払いが完了していません。完了またはキャンセルしてからお進みください。",
            details={"order_id": open_order},
        )
    content = await build_quote_content(session, conversation_id, settings)
    digest = content_hash(content)
    latest = await session.scalar(
        select(Quote)
        .where(Quote.conversation_id == conversation_id)
        .order_by(Quote.created_at.desc(), Quote.id.desc())
        .limit(1)
    )
    if (
        latest is not None
        and latest.content_hash == digest
        and latest.expires_at - now > timedelta(minutes=settings.quote_ttl_minutes) / 3
        and await session.scalar(select(Order.id).where(Order.quote_id == latest.id)) is None
    ):
        return latest
    quote = Quote(
        id=str(uuid.uuid4()),
        conversation_id=conversation_id,
        cart_version=content["cart_version"],
        content=content,
        content_hash=digest,
        total=content["total"],
        currency=content["currency"],
        payment_method=content["payment_method"],
        expires_at=now + timedelta(minutes=settings.quote_ttl_minutes),
        created_at=now,
    )
    session.add(quote)
    await session.flush()
    return quote
