"""Forgetting conversations: the retention purge and a shopper's own deletion.

This module only houses the erase rules and the two ways in: `purge_conversations` (every
conversation idle for longer than the retention period) and `erase_conversation` (one conversation,
at its shopper's request). Both leave the orders what accounting and fulfilment need.

What goes (the chat and the personal data only the chat needed):
- the transcript (`conversation_events`: every message and widget shown) and the answers kept for
  retried requests (`idempotent_requests`, which hold copies of those events);
- the cart, the saved addresses, quotes that never became an order;
- the card token and its public facts on the conversation, the chosen payment method, and the bearer
  token's hash (so the shopper's token opens nothing any more);
- the link from model-call usage rows to the conversation (they never hold message content);
- in a quote that became an order, the address copy and the card token reference.

What stays, and why:
- the order, its lines (sku, name, unit price, quantity, tax rate), totals, consumption tax per rate,
  payment method, status, the status history and timestamps: the books and tax records need them
  (Japanese law keeps transaction records for 7 years), refunds and reconciliation read them;
- the payments (gateway reference, amount, status, brand and last four, a store slip's numbers): a
  convenience-store payment or a screening result may still arrive by webhook and is matched by them;
- the order's own address snapshot: delivery, the after-delivery invoice and returns need it after
  the chat is gone. It follows the order's retention (the accounting period), not the chat's. Only a
  failed order, where nothing was sold, shipped or collected, keeps no more of it than prefecture and
  postal code (regional sales figures);
- the conversation row itself, emptied, when an order refers to it: the order's quote hangs from the
  conversation (a foreign key), and that quote is the record of what the shopper was asked to pay.
  A conversation without orders is deleted outright.

The age-based purge holds back a conversation whose order is still open (payment running, 3-D Secure
outstanding, screening under review, a convenience-store slip waiting to be paid): the shopper may
come back to the chat for the slip or the outcome. It is purged once the order settles and the chat
has been idle for the whole period. A shopper's own deletion is never held back: the order keeps
everything it needs to settle without the chat.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import (
    CursorResult,
    Delete,
    Update,
    and_,
    delete,
    exists,
    func,
    not_,
    or_,
    select,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession

from tools.checkout.order_status import OPEN_STATUSES, OrderStatus
from tools.store.models import (
    Address,
    Cart,
    CartLine,
    Conversation,
    ConversationEvent,
    IdempotentRequest,
    ModelCall,
    Order,
    Quote,
    utcnow,
)

#: What a failed order keeps of its address (see the module docstring).
FAILED_ORDER_ADDRESS_FIELDS = ("prefecture", "postal_code")
#: Conversations erased per statement batch (keeps IN lists well under every backend's limits).
BATCH = 200


@dataclass
class PurgeReport:
    """What a purge or an erase did. `rows` counts rows deleted or emptied, per table."""

    deleted: int = 0  # conversations removed outright (no order refers to them)
    emptied: int = 0  # conversations kept, emptied, because orders refer to them
    held: int = 0  # idle conversations skipped because an order is still open
    rows: Counter[str] = field(default_factory=Counter)

    @property
    def erased(self) -> int:
        return self.deleted + self.emptied

    def summary(self) -> str:
        """One line for an operator."""
        tables = ", ".join(f"{count} {table}" for table, count in sorted(self.rows.items()))
        return (f"conversations erased: {self.erased} ({self.deleted} deleted, {self.emptied} "
                f"kept for their orders); held for open orders: {self.held}; rows: "
                f"{tables or 'none'}")


def _last_activity_before(cutoff: datetime) -> Any:
    """Conversations in which nothing happened at or after `cutoff` (chat, cart, checkout, order)."""
    cid = Conversation.id
    return and_(
        Conversation.created_at < cutoff,
        Conversation.updated_at < cutoff,
        ~exists().where(ConversationEvent.conversation_id == cid,
                        ConversationEvent.created_at >= cutoff),
        ~exists().where(IdempotentRequest.conversation_id == cid,
                        IdempotentRequest.updated_at >= cutoff),
        ~exists().where(Cart.conversation_id == cid, Cart.updated_at >= cutoff),
        ~exists().where(Address.conversation_id == cid, Address.created_at >= cutoff),
        ~exists().where(Quote.conversation_id == cid, Quote.created_at >= cutoff),
        ~exists().where(Order.conversation_id == cid, Order.updated_at >= cutoff),
    )


def _has_something_to_erase() -> Any:
    """Not already erased: an emptied conversation is skipped, so a purge can run every day."""
    cid = Conversation.id
    ordered = select(Order.quote_id)
    return or_(
        Conversation.token_hash != "",
        Conversation.card_token.is_not(None),
        Conversation.payment_method.is_not(None),
        exists().where(ConversationEvent.conversation_id == cid),
        exists().where(IdempotentRequest.conversation_id == cid),
        exists().where(Cart.conversation_id == cid),
        exists().where(Address.conversation_id == cid),
        exists().where(Quote.conversation_id == cid, Quote.id.not_in(ordered)),
        exists().where(ModelCall.conversation_id == cid),
        ~exists().where(Order.conversation_id == cid),
    )


def _has_open_order() -> Any:
    return exists().where(Order.conversation_id == Conversation.id,
                          Order.status.in_([status.value for status in OPEN_STATUSES]))


async def _count(session: AsyncSession, statement: Delete | Update) -> int:
    result = cast(CursorResult[Any], await session.execute(
        statement.execution_options(synchronize_session=False)))
    return int(result.rowcount or 0)


def _scrub_quote(content: dict[str, Any]) -> dict[str, Any]:
    kept = {key: value for key, value in content.items() if key != "address"}
    if isinstance(kept.get("card"), dict):
        kept["card"] = {key: value for key, value in kept["card"].items() if key != "ref"}
    return kept


async def _erase(session: AsyncSession, ids: Sequence[str], now: datetime,
                 report: PurgeReport) -> None:
    """Erase the conversations `ids` (see the module docstring). The caller commits."""
    rows = report.rows
    ordered_quotes = select(Order.quote_id).where(Order.conversation_id.in_(ids))
    with_orders = set((await session.scalars(
        select(Order.conversation_id).where(Order.conversation_id.in_(ids)).distinct())).all())

    rows["conversation_events"] += await _count(session, delete(ConversationEvent).where(
        ConversationEvent.conversation_id.in_(ids)))
    rows["idempotent_requests"] += await _count(session, delete(IdempotentRequest).where(
        IdempotentRequest.conversation_id.in_(ids)))
    rows["cart_lines"] += await _count(session, delete(CartLine).where(CartLine.cart_id.in_(
        select(Cart.id).where(Cart.conversation_id.in_(ids)))))
    rows["carts"] += await _count(session, delete(Cart).where(Cart.conversation_id.in_(ids)))
    rows["addresses"] += await _count(session, delete(Address).where(
        Address.conversation_id.in_(ids)))
    rows["quotes"] += await _count(session, delete(Quote).where(
        Quote.conversation_id.in_(ids), Quote.id.not_in(ordered_quotes)))
    rows["model_calls"] += await _count(session, update(ModelCall).where(
        ModelCall.conversation_id.in_(ids)).values(conversation_id=None))

    for quote in (await session.scalars(select(Quote).where(Quote.id.in_(ordered_quotes)))).all():
        scrubbed = _scrub_quote(quote.content)
        if scrubbed != quote.content:
            # The content hash stays: it is what the shopper confirmed, and confirm never
            # recomputes it for a quote that already has its order.
            quote.content = scrubbed
            rows["quotes"] += 1
    failed = (await session.scalars(select(Order).where(
        Order.conversation_id.in_(ids), Order.status == OrderStatus.FAILED.value))).all()
    for order in failed:
        reduced = {key: order.address.get(key, "") for key in FAILED_ORDER_ADDRESS_FIELDS}
        if order.address != reduced:
            order.address = reduced
            rows["orders"] += 1
    await session.flush()

    if with_orders:
        rows["conversations"] += await _count(session, update(Conversation).where(
            Conversation.id.in_(with_orders)).values(
                token_hash="", card_token=None, card_brand=None, card_last4=None,
                payment_method=None, updated_at=now))
    without = [cid for cid in ids if cid not in with_orders]
    if without:
        rows["conversations"] += await _count(session, delete(Conversation).where(
            Conversation.id.in_(without)))
    report.emptied += len(with_orders)
    report.deleted += len(without)


async def erase_conversation(session: AsyncSession, conversation_id: str, *,
                             now: datetime | None = None) -> PurgeReport:
    """Erase one conversation at its shopper's request (never held back). The caller commits."""
    report = PurgeReport()
    await _erase(session, [conversation_id], now or utcnow(), report)
    session.expire_all()  # rows of this conversation loaded earlier are gone or changed
    return report


async def purge_conversations(session: AsyncSession, older_than: timedelta,
                              now: datetime) -> PurgeReport:
    """Erase every conversation idle for longer than `older_than` (open orders hold one back).

    Idle means nothing happened since the cutoff: no message, cart change, address, quote or order
    update. Already erased conversations are skipped. The caller commits.
    """
    if older_than <= timedelta(0):
        raise ValueError("older_than must be positive")
    cutoff = now - older_than
    idle = and_(_last_activity_before(cutoff), _has_something_to_erase())
    report = PurgeReport()
    report.held = await session.scalar(
        select(func.count(Conversation.id)).where(idle, _has_open_order())) or 0
    ids = list((await session.scalars(
        select(Conversation.id).where(idle, not_(_has_open_order()))
        .order_by(Conversation.id))).all())
    for start in range(0, len(ids), BATCH):
        await _erase(session, ids[start:start + BATCH], now, report)
    session.expire_all()
    return report
