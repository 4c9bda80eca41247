"""Orders: created only by the shopper's confirm action, moved only by the state machine.

`confirm` is the one door through which an order comes into being. It is idempotent per quote (a
double-click or a retried request returns the same order), refuses a tampered, stale or expired quote,
and takes the stock in the same transaction with a conditional UPDATE so two shoppers cannot both buy
the last item.
"""

from __future__ import annotations

import hmac
import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from tools.cart import InsufficientStock
from tools.checkout.order_status import OPEN_STATUSES, OrderStatus, ensure_transition
from tools.checkout.quote import build_quote_content, content_hash
from tools.errors import ConflictError, NotFoundError
from tools.settings import CommerceSettings
from tools.store.models import Order, OrderEvent, OrderLine, Product, Quote, utcnow

#: Statuses whose stock goes back to the shelf when the order fails or is canceled.
_HOLDS_STOCK = OPEN_STATUSES | {OrderStatus.DEFERRED_APPROVED}


@dataclass(frozen=True)
class ConfirmResult:
    order: Order
    created: bool  # False when this quote had already been confirmed (double-click, retry)


def _quote_error(code: str, en: str, ja: str, **details: object) -> ConflictError:
    return ConflictError(code, en, ja, details=dict(details))


async def _load_order(session: AsyncSession, **where: object) -> Order | None:
    stmt = select(Order).options(selectinload(Order.lines), selectinload(Order.events))
    for column, value in where.items():
        stmt = stmt.where(getattr(Order, column) == value)
    return (await session.execute(stmt)).scalar_one_or_none()


async def get_order(session: AsyncSession, order_id: str, *,
                    conversation_id: str | None = None) -> Order:
    """An order with its lines and events; NotFoundError if absent or not this conversation's."""
    where: dict[str, object] = {"id": order_id}
    if conversation_id is not None:
        where["conversation_id"] = conversation_id
    order = await _load_order(session, **where)
    if order is None:
        raise NotFoundError("order_not_found", "Order not found.", "注文が見つかりません。",
                            details={"order_id": order_id})
    return order


async def confirm(
    session: AsyncSession,
    conversation_id: str,
    quote_id: str,
    quote_hash: str,
    settings: CommerceSettings,
    *,
    now: datetime | None = None,
) -> ConfirmResult:
    """Place the order for a quote the shopper confirmed. The caller commits.

    Refuses (ConflictError, 409): a hash that is not the quote's (tampered), an expired quote, a quote
    whose content no longer matches the current cart/address/method/card/prices (stale), missing
    stock. A second confirm of the same quote returns the existing order with created=False.
    """
    now = now or utcnow()
    quote = await session.scalar(
        select(Quote).where(Quote.id == quote_id, Quote.conversation_id == conversation_id)
    )
    if quote is None:
        raise NotFoundError("quote_not_found", "That confirmation is not known; please check out "
                            "again.", "確認内容が見つかりません。もう一度ご注文手続きをしてください。",
                            details={"quote_id": quote_id})
    if not hmac.compare_digest(quote.content_hash.encode(), quote_hash.encode()):
        raise _quote_error("quote_mismatch",
                           "The amount confirmed does not match the quote; nothing was charged.",
                           "確認された金額が見積もりと一致しません。請求は行われていません。",
                           quote_id=quote_id)
    existing = await _load_order(session, quote_id=quote.id)
    if existing is not None:
        return ConfirmResult(existing, created=False)
    if quote.expires_at <= now:
        raise _quote_error("quote_expired",
                           "This confirmation has expired; here is an updated one.",
                           "確認の有効期限が切れました。最新の内容をご確認ください。",
                           quote_id=quote_id)
    current = await build_quote_content(session, conversation_id, settings)
    if content_hash(current) != quote.content_hash:
        raise _quote_error("quote_stale",
                           "Your cart or details changed since this confirmation; please review "
                           "the new total.",
                           "確認後にカートまたはご注文内容が変わりました。新しい合計金額をご確認ください。",
                           quote_id=quote_id, total=current["total"])

    content = quote.content
    order = Order(
        id=str(uuid.uuid4()),
        quote_id=quote.id,
        conversation_id=conversation_id,
        status=OrderStatus.PENDING_PAYMENT.value,
        payment_method=content["payment_method"],
        subtotal=content["subtotal"],
        shipping_fee=content["shipping_fee"],
        payment_fee=content["payment_fee"],
        tax_10=content["tax_included"]["10"],
        tax_8=content["tax_included"]["8"],
        total=content["total"],
        currency=content["currency"],
        address=content["address"],
        created_at=now,
        updated_at=now,
    )
    skus = [line["sku"] for line in content["lines"]]
    products = {p.sku: p for p in (await session.scalars(
        select(Product).where(Product.sku.in_(skus)))).all()}
    for line in content["lines"]:
        order.lines.append(OrderLine(
            product_id=products[line["sku"]].id, sku=line["sku"], name=line["name"],
            unit_price=line["unit_price"], quantity=line["quantity"], tax_rate=line["tax_rate"],
            line_total=line["line_total"],
        ))
    order.events.append(OrderEvent(from_status=None, to_status=order.status,
                                   reason="confirmed by shopper", at=now))

    # The order row goes in first, inside a savepoint: if a concurrent confirm of the same quote
    # won the race, the unique constraint on orders.quote_id fires here and we return its order.
    savepoint = await session.begin_nested()
    try:
        session.add(order)
        await session.flush()
        for line in content["lines"]:
            taken = await session.execute(
                update(Product)
                .where(Product.sku == line["sku"], Product.stock >= line["quantity"])
                # updated_at kept: it dates catalogue edits, which rebuild the search index
                # (tools.catalog.search); a sale must not cost the next search a rebuild.
                .values(stock=Product.stock - line["quantity"], updated_at=Product.updated_at)
            )
            if taken.rowcount != 1:  # type: ignore[attr-defined]
                stock = await session.scalar(select(Product.stock).where(
                    Product.sku == line["sku"]))
                raise InsufficientStock(sku=line["sku"], name=line["name"],
                                        name_ja=line["name_ja"], requested=line["quantity"],
                                        available=stock or 0)
        await savepoint.commit()
    except IntegrityError:
        # Rolling back the savepoint also drops the unsaved order from the session.
        await savepoint.rollback()
        winner = await _load_order(session, quote_id=quote.id)
        if winner is None:
            raise
        return ConfirmResult(winner, created=False)
    except ConflictError:
        await savepoint.rollback()
        raise
    return ConfirmResult(order, created=True)


async def transition(
    session: AsyncSession,
    order: Order,
    target: OrderStatus | str,
    *,
    reason: str = "",
    now: datetime | None = None,
) -> Order:
    """Move `order` to `target` if the state machine allows it, recording an OrderEvent.

    Failing or canceling an order that still holds stock puts the stock back. The caller commits.
    """
    now = now or utcnow()
    current = OrderStatus(order.status)
    new_status = ensure_transition(current, target)
    if new_status in (OrderStatus.FAILED, OrderStatus.CANCELED) and current in _HOLDS_STOCK:
        for line in order.lines:
            await session.execute(
                update(Product).where(Product.id == line.product_id)
                .values(stock=Product.stock + line.quantity, updated_at=Product.updated_at)
            )
    order.status = new_status.value
    order.updated_at = now
    order.events.append(OrderEvent(from_status=current.value, to_status=new_status.value,
                                   reason=reason[:200], at=now))
    await session.flush()
    return order
