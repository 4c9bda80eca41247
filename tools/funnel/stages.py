"""Funnel stages and each conversation's furthest one, read from what the database recorded.

This module only houses the stage definitions and `furthest_stages`. A stage counts as reached when
the database holds evidence of it *or of any later stage* (a paid order proves the cart, the address
and the method even after the cart was emptied), so the funnel is monotone by construction.

Evidence per stage:
- started: the conversation row;
- browsed: a `product_list` widget was shown (search results and product details both use it);
- cart: the cart has a line now, or a cart widget with a positive subtotal was shown;
- address: a saved address;
- payment_method: `conversations.payment_method` is set;
- payment_details: a card token was given. After-delivery screening is asked when the order is
  placed, so it, like the methods that need no details, reaches this stage through a later one;
- confirmation: a `confirm` widget was shown, or an order exists (orders come only from a confirm);
- purchased: an order in PURCHASE_STATUSES. A canceled or failed order is not a purchase, and an
  after-delivery order still in screening review is not one yet.

Everything is read with one grouped query per kind of evidence, whatever the number of conversations.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from datetime import datetime
from enum import StrEnum

from sqlalchemy import Select, case, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from tools.checkout.order_status import OrderStatus
from tools.store.models import (
    Address,
    Cart,
    CartLine,
    Conversation,
    ConversationEvent,
    Order,
)


class Stage(StrEnum):
    STARTED = "started"
    BROWSED = "browsed"
    CART = "cart"
    ADDRESS = "address"
    PAYMENT_METHOD = "payment_method"
    PAYMENT_DETAILS = "payment_details"
    CONFIRMATION = "confirmation"
    PURCHASED = "purchased"


#: The stages in funnel order.
STAGES: tuple[Stage, ...] = tuple(Stage)
_RANK = {stage: rank for rank, stage in enumerate(STAGES)}

#: Order statuses that make a purchase: money collected, the after-delivery invoice approved, or a
#: convenience-store slip issued (the shopper's part is done; the funnel counts those separately too).
PURCHASE_STATUSES = frozenset({OrderStatus.PAID.value, OrderStatus.DEFERRED_APPROVED.value,
                               OrderStatus.AWAITING_STORE_PAYMENT.value})


def rank(stage: Stage) -> int:
    """Position of `stage` in the funnel (started is 0)."""
    return _RANK[stage]


#: Conversation ids: a few given ones, or a query selecting them (for many: no huge IN list, which
#: both drivers cap at 32767 parameters).
ConversationIds = Collection[str] | Select[str]


def conversations_in_scope(conversation_ids: ConversationIds | None, since: datetime | None,
                           until: datetime | None) -> Select[str]:
    """Ids of the conversations created in [since, until) and, if given, among `conversation_ids`."""
    query = select(Conversation.id)
    if isinstance(conversation_ids, Select):
        query = query.where(Conversation.id.in_(conversation_ids))
    elif conversation_ids is not None:
        query = query.where(Conversation.id.in_(list(conversation_ids)))
    if since is not None:
        query = query.where(Conversation.created_at >= since)
    if until is not None:
        query = query.where(Conversation.created_at < until)
    return query


async def furthest_stages(session: AsyncSession, conversation_ids: ConversationIds | None = None,
                          since: datetime | None = None,
                          until: datetime | None = None) -> dict[str, Stage]:
    """Each conversation's furthest stage, for those created in [since, until) (bounds optional)."""
    scope = conversations_in_scope(conversation_ids, since, until)
    stages: dict[str, Stage] = {}

    def reach(cids: Iterable[str], stage: Stage) -> None:
        for cid in cids:
            current = stages.get(cid)
            if current is not None and _RANK[stage] > _RANK[current]:
                stages[cid] = stage

    conversations = await session.execute(
        select(Conversation.id, Conversation.payment_method, Conversation.card_token)
        .where(Conversation.id.in_(scope)))
    for cid, method, card_token in conversations:
        stages[cid] = Stage.STARTED
        if card_token:
            reach([cid], Stage.PAYMENT_DETAILS)
        elif method:
            reach([cid], Stage.PAYMENT_METHOD)
    if not stages:
        return stages

    kind = ConversationEvent.widget["kind"].as_string()
    subtotal = ConversationEvent.widget["subtotal"].as_integer()
    shown = await session.execute(
        select(ConversationEvent.conversation_id, kind)
        .where(ConversationEvent.conversation_id.in_(scope), ConversationEvent.kind == "widget",
               (kind.in_(["product_list", "confirm"])) | ((kind == "cart") & (subtotal > 0)))
        .group_by(ConversationEvent.conversation_id, kind))
    widget_stage = {"product_list": Stage.BROWSED, "cart": Stage.CART,
                    "confirm": Stage.CONFIRMATION}
    for cid, widget_kind in shown:
        reach([cid], widget_stage[widget_kind])

    reach(await session.scalars(
        select(Cart.conversation_id).distinct().join(CartLine, CartLine.cart_id == Cart.id)
        .where(Cart.conversation_id.in_(scope))), Stage.CART)
    reach(await session.scalars(
        select(Address.conversation_id).distinct().where(Address.conversation_id.in_(scope))),
        Stage.ADDRESS)
    orders = await session.execute(
        select(Order.conversation_id,
               func.max(case((Order.status.in_(PURCHASE_STATUSES), 1), else_=0)))
        .where(Order.conversation_id.in_(scope)).group_by(Order.conversation_id))
    for cid, purchased in orders:
        reach([cid], Stage.PURCHASED if purchased else Stage.CONFIRMATION)
    return stages
