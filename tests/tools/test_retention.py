"""The retention purge on SQLite and PostgreSQL: what goes, what the orders keep, what is held.

Conversations are built through the real commerce core (cart, address, method, card token at the
in-process sandbox gateway, quote, order, payment) and the purge is run "40 days later" with a
30-day retention, so every row it looks at is old unless a test makes it recent. Row counts and
rows are compared before and after.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select, update

from tests.factories import make_conversation, make_small_catalog
from tests.shop_harness import ADDRESS, Shop
from tools.address import save_address, validate_address
from tools.cart import add_item
from tools.checkout.orders import get_order
from tools.checkout.payment_choice import choose_payment_method
from tools.payments.charging import ChargePolicy, PaymentOutcome, place_and_pay
from tools.payments.notifications import handle_webhook
from tools.retention import purge_conversations
from tools.store.db import Database
from tools.store.models import (
    Address,
    Base,
    Cart,
    Conversation,
    ConversationEvent,
    IdempotentRequest,
    ModelCall,
    Order,
    OrderEvent,
    OrderLine,
    Payment,
    Quote,
    utcnow,
)

RETENTION = timedelta(days=30)
CARD = "4242424242424242"


async def counts(shop: Shop) -> dict[str, int]:
    async with shop.db.session() as session:
        return {table.name: await session.scalar(select(func.count()).select_from(table)) or 0
                for table in Base.metadata.sorted_tables}


async def order_rows(shop: Shop) -> list[Any]:
    """What accounting reads: orders with lines and history, and payments (all columns)."""
    async with shop.db.session() as session:
        rows: list[Any] = []
        for model in (Order, OrderLine, OrderEvent, Payment):
            table = Base.metadata.tables[model.__tablename__]
            result = await session.execute(select(table).order_by(*table.primary_key.columns))
            rows.extend(tuple(row) for row in result.all())
        return rows


async def chat(shop: Shop, *, method: str | None = None, card: bool = False,
               phone: str = "090-1234-5678", name: str = "Taro Yamada") -> str:
    """A conversation with a transcript, a model call, a cart and (optionally) a method and card."""
    async with shop.db.session() as session:
        conversation = await make_conversation(session, token_hash="f" * 64)
        cid = conversation.id
        for seq, (role, text) in enumerate([("user", "two sencha please"),
                                            ("assistant", "Added two Sencha.")], start=1):
            session.add(ConversationEvent(conversation_id=cid, seq=seq, kind="message",
                                          role=role, text=text))
        session.add(ModelCall(conversation_id=cid, model="test", prompt_hash="p" * 64))
        session.add(IdempotentRequest(  # a retried message's stored answer: a transcript copy
            conversation_id=cid, key="msg-1", fingerprint="0" * 64, status_code=200,
            response={"events": [{"type": "message", "role": "assistant", "text": "Added."}]}))
        await add_item(session, cid, "TEA-SENCHA", 2)
        await save_address(session, cid, validate_address({**ADDRESS, "name": name,
                                                            "phone": phone}))
        if method is not None:
            await choose_payment_method(session, cid, method, shop.settings)
        await session.commit()
    if card:
        await shop.use_card(cid, CARD)
    return cid


async def buy(shop: Shop, cid: str) -> PaymentOutcome:
    quote_id, quote_hash = await shop.quote(cid)
    return await place_and_pay(shop.db, shop.gateway, conversation_id=cid, quote_id=quote_id,
                               quote_hash=quote_hash, settings=shop.settings,
                               policy=ChargePolicy(wait_initial_s=0))


@pytest.fixture
async def catalogued(shop: Shop) -> AsyncIterator[Shop]:
    async with shop.db.session() as session:
        await make_small_catalog(session)
        await session.commit()
    yield shop


async def test_purge_erases_chats_and_keeps_what_orders_need(catalogued: Shop) -> None:
    shop = catalogued
    browsing = await chat(shop)  # no order: deleted outright
    quoted = await chat(shop, method="konbini")
    await shop.quote(quoted)  # a quote that never became an order
    paid = await chat(shop, method="card", card=True)
    assert (await buy(shop, paid)).order_status == "paid"
    rejected = await chat(shop, method="after_delivery", phone="090-1234-0000")
    assert (await buy(shop, rejected)).order_status == "failed"
    waiting = await chat(shop, method="konbini")  # slip issued, store payment outstanding
    assert (await buy(shop, waiting)).order_status == "awaiting_store_payment"
    recent = await chat(shop)  # old, but the shopper wrote again later
    async with shop.db.session() as session:
        await session.execute(update(ConversationEvent)
                              .where(ConversationEvent.conversation_id == recent)
                              .values(created_at=utcnow() + timedelta(days=20)))
        await session.commit()

    before = await counts(shop)
    accounting = await order_rows(shop)
    async with shop.db.session() as session:
        report = await purge_conversations(session, RETENTION, utcnow() + timedelta(days=40))
        await session.commit()
    after = await counts(shop)

    assert (report.deleted, report.emptied, report.held) == (2, 2, 1)
    # Transcripts, carts, addresses and the unordered quote of the four erased chats are gone;
    # the held and the recent chat keep theirs (2 events, 1 cart, 1 address each).
    assert after["conversation_events"] == 4 and before["conversation_events"] == 12
    assert after["carts"] == 2 and after["addresses"] == 2
    assert after["idempotent_requests"] == 2 and before["idempotent_requests"] == 6
    assert after["quotes"] == before["quotes"] - 1 == 3
    assert after["conversations"] == before["conversations"] - 2 == 4
    assert after["model_calls"] == before["model_calls"] == 6  # usage figures stay, unlinked
    for table in ("orders", "order_lines", "order_events", "payments", "webhook_events",
                  "products"):
        assert after[table] == before[table], table
    assert report.rows["conversation_events"] == 8

    async with shop.db.session() as session:
        assert await session.get(Conversation, browsing) is None
        assert await session.get(Conversation, quoted) is None
        for cid in (paid, rejected):
            emptied = await session.get(Conversation, cid)
            assert emptied is not None
            assert (emptied.token_hash, emptied.card_token, emptied.card_brand,
                    emptied.card_last4, emptied.payment_method) == ("", None, None, None, None)
            for model in (ConversationEvent, IdempotentRequest, Cart, Address):
                assert not (await session.scalars(
                    select(model).where(model.conversation_id == cid))).all()
        linked = await session.scalars(select(ModelCall.conversation_id))
        assert sorted(c for c in linked.all() if c) == sorted([waiting, recent])

        # The paid order is untouched, and its quote lost only the address copy and card ref.
        paid_order = await session.scalar(select(Order).where(Order.conversation_id == paid))
        assert paid_order is not None and paid_order.address["name"] == "Taro Yamada"
        quote = await session.get(Quote, paid_order.quote_id)
        assert quote is not None and "address" not in quote.content
        assert quote.content["card"] == {"brand": "visa", "last4": "4242"}
        assert quote.content["lines"][0]["sku"] == "TEA-SENCHA" and quote.content["total"]
        # Nothing was sold on the failed order: it keeps only where the buyer was, roughly.
        failed = await session.scalar(select(Order).where(Order.conversation_id == rejected))
        assert failed is not None
        assert failed.address == {"prefecture": "東京都", "postal_code": "150-0002"}
        assert failed.total > 0 and failed.payment_method == "after_delivery"
        # The waiting order's conversation is as it was.
        held = await session.get(Conversation, waiting)
        assert held is not None and held.token_hash == "f" * 64

    # Accounting rows: only the failed order's address changed.
    changed = [row for row in await order_rows(shop) if row not in accounting]
    assert len(changed) == 1 and changed[0][0] == failed.id


async def test_a_held_chat_is_purged_once_its_order_settles_and_it_idles(catalogued: Shop) -> None:
    shop = catalogued
    cid = await chat(shop, method="konbini")
    outcome = await buy(shop, cid)
    later = utcnow() + timedelta(days=40)
    async with shop.db.session() as session:
        assert (await purge_conversations(session, RETENTION, later)).held == 1
        await session.commit()

    # The store payment arrives after the purge: the webhook still finds everything it needs.
    ref = outcome.gateway_ref
    assert (await shop.sandbox.post(f"/sandbox/konbini/{ref}/pay")).status_code == 200
    outbound = shop.webhooks[-1]
    result = await handle_webhook(shop.db, shop.gateway, outbound.headers, outbound.body)
    assert result.outcome == "applied"

    async with shop.db.session() as session:
        # Had the payment arrived on day 39, the order's move is activity: not idle at `later`...
        await session.execute(update(Order).where(Order.id == outcome.order_id)
                              .values(updated_at=later - timedelta(days=1)))
        report = await purge_conversations(session, RETENTION, later)
        assert (report.erased, report.held) == (0, 0)
        # ...but it is 31 days after that.
        report = await purge_conversations(session, RETENTION, later + timedelta(days=31))
        await session.commit()
    assert (report.emptied, report.held) == (1, 0)
    async with shop.db.session() as session:
        assert (await get_order(session, outcome.order_id)).status == "paid"
        assert not (await session.scalars(select(ConversationEvent).where(
            ConversationEvent.conversation_id == cid))).all()


async def test_purge_is_idempotent_and_spares_recent_chats(catalogued: Shop) -> None:
    shop = catalogued
    cid = await chat(shop, method="card", card=True)
    await buy(shop, cid)
    fresh = await chat(shop)
    now = utcnow()
    async with shop.db.session() as session:
        assert (await purge_conversations(session, RETENTION, now)).erased == 0  # all recent
        first = await purge_conversations(session, RETENTION, now + timedelta(days=31))
        await session.commit()
    assert (first.deleted, first.emptied) == (1, 1)
    before = await counts(shop)
    async with shop.db.session() as session:
        again = await purge_conversations(session, RETENTION, now + timedelta(days=90))
        await session.commit()
    assert (again.erased, sum(again.rows.values())) == (0, 0)
    assert await counts(shop) == before
    async with shop.db.session() as session:
        assert await session.get(Conversation, fresh) is None


async def test_purge_refuses_a_non_positive_period(db: Database) -> None:
    async with db.session() as session:
        with pytest.raises(ValueError, match="positive"):
            await purge_conversations(session, timedelta(0), utcnow())
