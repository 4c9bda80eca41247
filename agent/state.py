"""Building the checkout state block for a conversation from the database (see `state_block`)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Row, bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession

from agent.state_block import CartLineState, OrderState, ShownProduct, Stage, StateBlock
from agent.texts import Locale
from agent.transcript import EventRow, recent_products
from tools.address import current_address
from tools.cart import get_cart
from tools.checkout.order_status import PAYMENT_IN_PROGRESS, SUCCESS_STATUSES
from tools.checkout.quote import CheckoutState
from tools.payments.methods import PaymentMethod
from tools.settings import CommerceSettings
from tools.store.models import Conversation, Order

#: Built once (read on every model call): the newest order's columns the state block shows.
_LATEST_ORDER = (
    select(Order.id, Order.status, Order.total, Order.payment_method)
    .where(Order.conversation_id == bindparam("conversation_id"))
    .order_by(Order.created_at.desc())
    .limit(1)
)


def _stage(state: CheckoutState, order: Row[str, str, int, str] | None) -> Stage:
    if order is not None and order.status in PAYMENT_IN_PROGRESS:
        return "payment_in_progress"
    missing = state.missing
    if order is not None and order.status in SUCCESS_STATUSES and "cart" in missing:
        return "done"
    if not missing:
        return "confirm"
    first = missing[0]
    return {"cart": "browsing", "address": "cart", "payment_method": "payment_method",
            "card": "card"}[first]  # type: ignore[return-value]


async def build_state(session: AsyncSession, conversation: Conversation, locale: Locale,
                      rows: Sequence[EventRow], settings: CommerceSettings) -> StateBlock:
    """The state block for the next model call."""
    method = PaymentMethod(conversation.payment_method) if conversation.payment_method else None
    view = await get_cart(session, conversation.id, settings=settings)
    address = await current_address(session, conversation.id)
    order = (await session.execute(_LATEST_ORDER, {"conversation_id": conversation.id})).first()
    checkout = CheckoutState.of(conversation, has_items=not view.is_empty,
                                has_address=address is not None)
    name_key = "name_ja" if locale == "ja" else "name"
    totals = view.totals
    return StateBlock(
        locale=locale,
        stage=_stage(checkout, order),
        cart=[CartLineState(sku=line.sku, name=getattr(line, name_key), quantity=line.quantity,
                            unit_price=line.unit_price, line_total=line.line_total)
              for line in view.lines],
        subtotal=totals.subtotal, shipping_fee=totals.shipping_fee,
        payment_fee=totals.payment_fee, total=totals.total, currency=totals.currency,
        address=address.one_line(locale) if address else None,
        payment_method=method.value if method else None,
        card=(f"{conversation.card_brand} ending {conversation.card_last4}"
              if conversation.card_token else None),
        missing=checkout.missing,
        recent_products=[
            ShownProduct(sku=p["sku"], name=p.get(name_key) or p["name"], price=p["price"],
                         stock=p.get("stock", 0), category=p.get("category", ""),
                         size=p.get("size", ""))
            for p in recent_products(rows)],
        order=(OrderState(id=order.id, status=order.status, total=order.total,
                          payment_method=order.payment_method) if order else None),
    )
