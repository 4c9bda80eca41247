"""Quotes and confirm: the only way to an order, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from tests.factories import make_conversation, make_small_catalog
from tools.address import save_address, validate_address
from tools.cart import add_item, set_quantity
from tools.checkout.order_status import InvalidTransition, OrderStatus
from tools.checkout.orders import confirm, get_order, transition
from tools.checkout.payment_choice import attach_card, choose_payment_method, payment_options
from tools.checkout.quote import CheckoutIncomplete, prepare_quote
from tools.errors import ConflictError, DomainError, NotFoundError
from tools.settings import CommerceSettings
from tools.store.db import Database
from tools.store.models import Order, OrderEvent, Product, utcnow

SETTINGS = CommerceSettings()
ADDRESS = {
    "name": "Taro Yamada", "postal_code": "150-0002", "prefecture": "", "city": "",
    "line1": "2-21-1", "line2": "", "phone": "090-1234-5678", "email": "taro@example.com",
}


async def _ready_conversation(db: Database, *, method: str = "card", teas: int = 2) -> str:
    """A conversation with 2 sencha, an address, a method and (for card) a card token."""
    async with db.session() as session:
        await make_small_catalog(session)
        conversation = await make_conversation(session)
        await add_item(session, conversation.id, "tea-sencha", teas)
        await save_address(session, conversation.id, validate_address(ADDRESS))
        await choose_payment_method(session, conversation.id, method, SETTINGS)
        if method == "card":
            await attach_card(session, conversation.id, token="tok_test_1", brand="visa",
                              last4="4242")
        await session.commit()
        return conversation.id


async def _stock(db: Database, sku: str) -> int:
    async with db.session() as session:
        value = await session.scalar(select(Product.stock).where(Product.sku == sku))
        assert value is not None
        return value


async def test_missing_pieces_are_listed_in_order(db: Database) -> None:
    async with db.session() as session:
        await make_small_catalog(session)
        conversation = await make_conversation(session)
        with pytest.raises(CheckoutIncomplete) as info:
            await prepare_quote(session, conversation.id, SETTINGS)
        assert info.value.missing == ["cart", "address", "payment_method"]
        await add_item(session, conversation.id, "TEA-SENCHA", 1)
        await choose_payment_method(session, conversation.id, "card", SETTINGS)
        with pytest.raises(CheckoutIncomplete) as info:
            await prepare_quote(session, conversation.id, SETTINGS)
        assert info.value.missing == ["address", "card"]
        assert "カード" in info.value.message("ja")


async def test_quote_snapshot_and_confirm_places_one_order(db: Database) -> None:
    cid = await _ready_conversation(db)
    async with db.session() as session:
        quote = await prepare_quote(session, cid, SETTINGS)
        await session.commit()
    content = quote.content
    # 2 x 1,200 yen at 8 %, plus 600 yen shipping at 10 %.
    assert content["subtotal"] == 2400
    assert content["shipping_fee"] == 600
    assert content["payment_fee"] == 0
    assert content["total"] == quote.total == 3000
    assert content["tax_included"] == {"10": 54, "8": 177}
    assert content["card"]["last4"] == "4242"
    assert "tok_test_1" not in str(content)
    assert content["address"]["prefecture"] == "東京都"

    async with db.session() as session:
        result = await confirm(session, cid, quote.id, quote.content_hash, SETTINGS)
        await session.commit()
    assert result.created
    order = result.order
    assert order.status == "pending_payment"
    assert order.total == 3000 and order.payment_method == "card"
    assert [(line.sku, line.quantity) for line in order.lines] == [("TEA-SENCHA", 2)]
    assert await _stock(db, "TEA-SENCHA") == 48

    async with db.session() as session:  # double-click: same order, stock untouched
        again = await confirm(session, cid, quote.id, quote.content_hash, SETTINGS)
        await session.commit()
    assert not again.created and again.order.id == order.id
    assert await _stock(db, "TEA-SENCHA") == 48


async def test_prepare_reuses_an_unchanged_quote(db: Database) -> None:
    cid = await _ready_conversation(db)
    async with db.session() as session:
        first = await prepare_quote(session, cid, SETTINGS)
        second = await prepare_quote(session, cid, SETTINGS)
        assert first.id == second.id
        await set_quantity(session, cid, "TEA-SENCHA", 3)
        third = await prepare_quote(session, cid, SETTINGS)
        assert third.id != first.id and third.total == 3 * 1200 + 600


@pytest.mark.parametrize("tampered", ["0" * 64, "", "not-a-hash", "ｆ" * 64])
async def test_tampered_hash_is_refused_and_changes_nothing(db: Database, tampered: str) -> None:
    cid = await _ready_conversation(db)
    async with db.session() as session:
        quote = await prepare_quote(session, cid, SETTINGS)
        await session.commit()
    async with db.session() as session:
        with pytest.raises(ConflictError) as info:
            await confirm(session, cid, quote.id, tampered, SETTINGS)
        assert info.value.code == "quote_mismatch"
    async with db.session() as session:
        assert await session.scalar(select(func.count()).select_from(Order)) == 0
    assert await _stock(db, "TEA-SENCHA") == 50


async def test_cart_change_makes_quote_stale(db: Database) -> None:
    cid = await _ready_conversation(db)
    async with db.session() as session:
        quote = await prepare_quote(session, cid, SETTINGS)
        await add_item(session, cid, "PEN-BALL", 1)
        await session.commit()
    async with db.session() as session:
        with pytest.raises(ConflictError) as info:
            await confirm(session, cid, quote.id, quote.content_hash, SETTINGS)
        assert info.value.code == "quote_stale"
        assert info.value.details["total"] == 3000 + 330


async def test_changing_back_still_refuses_the_old_quote(db: Database) -> None:
    """Any cart change invalidates, even one that ends with the same lines (version moved)."""
    cid = await _ready_conversation(db)
    async with db.session() as session:
        quote = await prepare_quote(session, cid, SETTINGS)
        await set_quantity(session, cid, "TEA-SENCHA", 3)
        await set_quantity(session, cid, "TEA-SENCHA", 2)
        await session.commit()
    async with db.session() as session:
        with pytest.raises(ConflictError, match="changed"):
            await confirm(session, cid, quote.id, quote.content_hash, SETTINGS)


async def test_price_change_in_catalogue_makes_quote_stale(db: Database) -> None:
    cid = await _ready_conversation(db)
    async with db.session() as session:
        quote = await prepare_quote(session, cid, SETTINGS)
        product = await session.scalar(select(Product).where(Product.sku == "TEA-SENCHA"))
        assert product is not None
        product.price = 1300
        await session.commit()
    async with db.session() as session:
        with pytest.raises(ConflictError) as info:
            await confirm(session, cid, quote.id, quote.content_hash, SETTINGS)
        assert info.value.code == "quote_stale"


async def test_new_card_or_method_makes_quote_stale(db: Database) -> None:
    cid = await _ready_conversation(db)
    async with db.session() as session:
        quote = await prepare_quote(session, cid, SETTINGS)
        # The same card entered again (new token, same last four) is a different quote.
        await attach_card(session, cid, token="tok_test_2", brand="visa", last4="4242")
        await session.commit()
    async with db.session() as session:
        with pytest.raises(ConflictError):
            await confirm(session, cid, quote.id, quote.content_hash, SETTINGS)
        fresh = await prepare_quote(session, cid, SETTINGS)
        assert fresh.id != quote.id
        await choose_payment_method(session, cid, "konbini", SETTINGS)
        with pytest.raises(ConflictError):
            await confirm(session, cid, fresh.id, fresh.content_hash, SETTINGS)


async def test_expired_quote_is_refused(db: Database) -> None:
    cid = await _ready_conversation(db)
    async with db.session() as session:
        quote = await prepare_quote(session, cid, SETTINGS)
        await session.commit()
    later = utcnow() + timedelta(minutes=SETTINGS.quote_ttl_minutes, seconds=1)
    async with db.session() as session:
        with pytest.raises(ConflictError) as info:
            await confirm(session, cid, quote.id, quote.content_hash, SETTINGS, now=later)
        assert info.value.code == "quote_expired"
        renewed = await prepare_quote(session, cid, SETTINGS, now=later)
        assert renewed.id != quote.id


async def test_another_conversations_quote_is_not_found(db: Database) -> None:
    cid = await _ready_conversation(db)
    async with db.session() as session:
        quote = await prepare_quote(session, cid, SETTINGS)
        intruder = await make_conversation(session)
        await session.commit()
    async with db.session() as session:
        with pytest.raises(NotFoundError):
            await confirm(session, intruder.id, quote.id, quote.content_hash, SETTINGS)


async def test_stock_gone_between_quote_and_confirm(db: Database) -> None:
    cid = await _ready_conversation(db)
    async with db.session() as session:
        quote = await prepare_quote(session, cid, SETTINGS)
        product = await session.scalar(select(Product).where(Product.sku == "TEA-SENCHA"))
        assert product is not None
        product.stock = 1
        await session.commit()
    async with db.session() as session:
        with pytest.raises(ConflictError) as info:
            await confirm(session, cid, quote.id, quote.content_hash, SETTINGS)
        assert info.value.code == "insufficient_stock"
        await session.rollback()
    async with db.session() as session:
        assert await session.scalar(select(func.count()).select_from(Order)) == 0
    assert await _stock(db, "TEA-SENCHA") == 1


async def test_after_delivery_over_the_limit_is_not_offered(db: Database) -> None:
    async with db.session() as session:
        await make_small_catalog(session)
        conversation = await make_conversation(session)
        await add_item(session, conversation.id, "MUG-HASAMI", 20)  # 55,000 + 250 fee
        options = {o.method.value: o for o in await payment_options(session, conversation.id,
                                                                     SETTINGS)}
        assert not options["after_delivery"].available
        assert options["card"].available and options["konbini"].fee == 200
        with pytest.raises(DomainError) as info:
            await choose_payment_method(session, conversation.id, "after_delivery", SETTINGS)
        assert info.value.code == "payment_method_unavailable"
        with pytest.raises(DomainError) as info:
            await choose_payment_method(session, conversation.id, "bitcoin", SETTINGS)
        assert info.value.code == "unknown_payment_method"


async def test_fees_per_method_in_the_quote(db: Database) -> None:
    cid = await _ready_conversation(db, method="after_delivery")
    async with db.session() as session:
        quote = await prepare_quote(session, cid, SETTINGS)
        assert quote.content["payment_fee"] == 250 and quote.total == 3250
        assert quote.content["card"] is None


async def _edited_at(db: Database, sku: str) -> object:
    async with db.session() as session:
        return await session.scalar(select(Product.updated_at).where(Product.sku == sku))


async def test_failing_an_order_puts_stock_back_and_logs_events(db: Database) -> None:
    cid = await _ready_conversation(db)
    edited = await _edited_at(db, "TEA-SENCHA")
    async with db.session() as session:
        quote = await prepare_quote(session, cid, SETTINGS)
        order = (await confirm(session, cid, quote.id, quote.content_hash, SETTINGS)).order
        await session.commit()
    assert await _stock(db, "TEA-SENCHA") == 48
    async with db.session() as session:
        order = await get_order(session, order.id, conversation_id=cid)
        await transition(session, order, OrderStatus.FAILED, reason="card_declined")
        await session.commit()
        with pytest.raises(InvalidTransition):
            await transition(session, order, OrderStatus.PAID)
    assert await _stock(db, "TEA-SENCHA") == 50
    # Stock moves are not catalogue edits: the search index is not rebuilt after every sale.
    assert await _edited_at(db, "TEA-SENCHA") == edited
    async with db.session() as session:
        events = (await session.scalars(select(OrderEvent).order_by(OrderEvent.id))).all()
        assert [(e.from_status, e.to_status) for e in events] == [
            (None, "pending_payment"), ("pending_payment", "failed")]
        # A failed order does not block a new checkout; a pending one does.
        await prepare_quote(session, cid, SETTINGS)


async def test_order_in_progress_blocks_a_second_checkout(db: Database) -> None:
    cid = await _ready_conversation(db)
    async with db.session() as session:
        quote = await prepare_quote(session, cid, SETTINGS)
        await confirm(session, cid, quote.id, quote.content_hash, SETTINGS)
        await session.commit()
    async with db.session() as session:
        await attach_card(session, cid, token="tok_other", brand="visa", last4="1111")
        with pytest.raises(ConflictError) as info:
            await prepare_quote(session, cid, SETTINGS)
        assert info.value.code == "order_in_progress"


@pytest.mark.postgres
async def test_fifty_concurrent_confirms_make_one_order(pg_db: Database) -> None:
    db = pg_db
    cid = await _ready_conversation(db)
    async with db.session() as session:
        quote = await prepare_quote(session, cid, SETTINGS)
        await session.commit()

    async def click() -> tuple[str, bool]:
        async with db.session() as session:
            result = await confirm(session, cid, quote.id, quote.content_hash, SETTINGS)
            await session.commit()
            return result.order.id, result.created

    results = await asyncio.gather(*(click() for _ in range(50)))
    assert len({order_id for order_id, _ in results}) == 1
    assert sum(created for _, created in results) == 1
    assert await _stock(db, "TEA-SENCHA") == 48
    async with db.session() as session:
        assert await session.scalar(select(func.count()).select_from(Order)) == 1
