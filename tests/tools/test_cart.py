"""The cart on SQLite and PostgreSQL: edits, versions, refusals, and concurrent edits."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from sqlalchemy import event, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from tests.factories import make_conversation, make_product, make_small_catalog
from tools.cart import (
    CartView,
    ConversationNotFound,
    add_item,
    clear_cart,
    get_cart,
    remove_item,
    set_quantity,
)
from tools.errors import ConflictError, DomainError, NotFoundError
from tools.payments.methods import PaymentMethod
from tools.settings import CommerceSettings
from tools.store.db import Database
from tools.store.models import Cart, CartLine, Product

SETTINGS = CommerceSettings(
    shipping_fee=600,
    free_shipping_from=5000,
    fee_card=0,
    fee_after_delivery=250,
    fee_konbini=200,
    max_line_quantity=99,
    max_cart_lines=30,
)
JAPANESE = re.compile(r"[\u3040-\u30ff\u4e00-\u9fff]")


async def _shop(session: AsyncSession, **conversation: Any) -> str:
    """The small catalogue and a conversation; returns the conversation id."""
    await make_small_catalog(session)
    return (await make_conversation(session, **conversation)).id


def _quantities(view: CartView) -> dict[str, int]:
    return {line.sku: line.quantity for line in view.lines}


def _assert_bilingual(error: DomainError) -> None:
    assert error.message_en and not JAPANESE.search(error.message_en)
    assert JAPANESE.search(error.message_ja)
    assert error.to_dict("ja")["message"] == error.message_ja


# --- reading --------------------------------------------------------------------------------------


async def test_a_new_conversation_has_an_empty_cart_at_version_zero(db: Database) -> None:
    async with db.session() as session:
        cid = await _shop(session)
        view = await get_cart(session, cid, settings=SETTINGS)
    assert view.is_empty and view.lines == [] and view.version == 0
    assert view.totals.total == 0 and view.totals.shipping_fee == 0
    assert view.conversation_id == cid


async def test_an_unknown_conversation_is_not_found(db: Database) -> None:
    async with db.session() as session:
        await make_small_catalog(session)
        with pytest.raises(ConversationNotFound) as info:
            await get_cart(session, "no-such-conversation", settings=SETTINGS)
        assert info.value.code == "conversation_not_found" and info.value.http_status == 404
        with pytest.raises(ConversationNotFound):
            await add_item(session, "no-such-conversation", "TEA-SENCHA", settings=SETTINGS)
        assert await session.scalar(select(func.count()).select_from(Cart)) == 0


async def test_loading_a_cart_is_one_query_whatever_its_size(db: Database) -> None:
    async with db.session() as session:
        cid = await _shop(session)
        for sku in ("TEA-SENCHA", "COF-DRIP", "MUG-HASAMI", "PEN-BALL"):
            await add_item(session, cid, sku, settings=SETTINGS)
        await session.commit()

    statements: list[str] = []

    def record(*args: Any) -> None:
        if not args[2].startswith("BEGIN"):  # SQLite's explicit BEGIN IMMEDIATE is not a query
            statements.append(args[2])

    event.listen(db.engine.sync_engine, "before_cursor_execute", record)
    try:
        async with db.session() as session:
            view = await get_cart(session, cid, settings=SETTINGS)
    finally:
        event.remove(db.engine.sync_engine, "before_cursor_execute", record)
    assert [line.sku for line in view.lines] == ["TEA-SENCHA", "COF-DRIP", "MUG-HASAMI",
                                                  "PEN-BALL"]  # in the order they were added
    assert len(statements) == 1, statements


# --- adding ---------------------------------------------------------------------------------------


async def test_add_item_prices_the_cart_and_bumps_the_version(db: Database) -> None:
    async with db.session() as session:
        cid = await _shop(session)
        view = await add_item(session, cid, "TEA-SENCHA", 2, settings=SETTINGS)
    assert view.version == 1
    [line] = view.lines
    assert (line.sku, line.name, line.name_ja) == (
        "TEA-SENCHA",
        "Sencha green tea 100 g",
        "煎茶 100g",
    )
    assert (line.unit_price, line.quantity, line.tax_rate, line.line_total) == (1200, 2, 8, 2400)
    assert line.stock == 50
    # 2,400 of tea at 8 % plus 600 shipping at 10 %.
    assert view.totals.total == 3000
    assert view.totals.tax_included == {8: 177, 10: 54}


async def test_adding_again_grows_the_same_line(db: Database) -> None:
    async with db.session() as session:
        cid = await _shop(session)
        await add_item(session, cid, "TEA-SENCHA", 2, settings=SETTINGS)
        view = await add_item(session, cid, "TEA-SENCHA", 3, settings=SETTINGS)
        await session.commit()
        lines = await session.scalar(select(func.count()).select_from(CartLine))
    assert _quantities(view) == {"TEA-SENCHA": 5}
    assert view.version == 2
    assert lines == 1


@pytest.mark.parametrize("typed", ["tea-sencha", "  Tea-Sencha\n", "ｔｅａ－ｓｅｎｃｈａ"])
async def test_sku_is_matched_whatever_its_case_spacing_or_width(db: Database, typed: str) -> None:
    async with db.session() as session:
        cid = await _shop(session)
        await add_item(session, cid, "TEA-SENCHA", settings=SETTINGS)
        view = await add_item(session, cid, typed, settings=SETTINGS)
        assert _quantities(view) == {"TEA-SENCHA": 2}
        view = await set_quantity(session, cid, typed, 4, settings=SETTINGS)
        assert _quantities(view) == {"TEA-SENCHA": 4}
        view = await remove_item(session, cid, typed, settings=SETTINGS)
        assert view.is_empty


async def test_lines_keep_the_order_they_were_added_in(db: Database) -> None:
    async with db.session() as session:
        cid = await _shop(session)
        for sku in ("PEN-BALL", "TEA-SENCHA", "MUG-HASAMI"):
            await add_item(session, cid, sku, settings=SETTINGS)
        await add_item(session, cid, "PEN-BALL", settings=SETTINGS)
        await session.commit()
    async with db.session() as session:
        view = await get_cart(session, cid, settings=SETTINGS)
    assert [line.sku for line in view.lines] == ["PEN-BALL", "TEA-SENCHA", "MUG-HASAMI"]


# --- changing and removing ------------------------------------------------------------------------


async def test_set_quantity_changes_the_line_and_zero_removes_it(db: Database) -> None:
    async with db.session() as session:
        cid = await _shop(session)
        await add_item(session, cid, "TEA-SENCHA", 2, settings=SETTINGS)
        await add_item(session, cid, "PEN-BALL", 1, settings=SETTINGS)
        view = await set_quantity(session, cid, "TEA-SENCHA", 5, settings=SETTINGS)
        assert _quantities(view) == {"TEA-SENCHA": 5, "PEN-BALL": 1} and view.version == 3
        view = await set_quantity(session, cid, "TEA-SENCHA", 0, settings=SETTINGS)
        assert _quantities(view) == {"PEN-BALL": 1} and view.version == 4


async def test_setting_the_same_quantity_keeps_the_version(db: Database) -> None:
    async with db.session() as session:
        cid = await _shop(session)
        await add_item(session, cid, "TEA-SENCHA", 2, settings=SETTINGS)
        view = await set_quantity(session, cid, "TEA-SENCHA", 2, settings=SETTINGS)
    assert view.version == 1 and _quantities(view) == {"TEA-SENCHA": 2}


async def test_remove_item_takes_the_line_out(db: Database) -> None:
    async with db.session() as session:
        cid = await _shop(session)
        await add_item(session, cid, "TEA-SENCHA", 2, settings=SETTINGS)
        await add_item(session, cid, "MUG-HASAMI", 1, settings=SETTINGS)
        view = await remove_item(session, cid, "tea-sencha", settings=SETTINGS)
        await session.commit()
    assert _quantities(view) == {"MUG-HASAMI": 1} and view.version == 3
    async with db.session() as session:
        assert await get_cart(session, cid, settings=SETTINGS) == view


async def test_clear_cart_empties_it_once(db: Database) -> None:
    async with db.session() as session:
        cid = await _shop(session)
        await add_item(session, cid, "TEA-SENCHA", 2, settings=SETTINGS)
        await add_item(session, cid, "MUG-HASAMI", 1, settings=SETTINGS)
        view = await clear_cart(session, cid, settings=SETTINGS)
        assert view.is_empty and view.version == 3 and view.totals.total == 0
        view = await clear_cart(session, cid, settings=SETTINGS)
        assert view.version == 3
        await session.commit()
        assert await session.scalar(select(func.count()).select_from(CartLine)) == 0


async def test_clearing_a_cart_never_created_creates_nothing(db: Database) -> None:
    async with db.session() as session:
        cid = await _shop(session)
        view = await clear_cart(session, cid, settings=SETTINGS)
        assert view.version == 0 and view.is_empty
        assert await session.scalar(select(func.count()).select_from(Cart)) == 0


async def test_every_change_moves_the_version_by_exactly_one(db: Database) -> None:
    edits: list[Callable[[AsyncSession, str], Awaitable[CartView]]] = [
        lambda s, c: add_item(s, c, "TEA-SENCHA", 1, settings=SETTINGS),
        lambda s, c: add_item(s, c, "TEA-SENCHA", 1, settings=SETTINGS),
        lambda s, c: add_item(s, c, "PEN-BALL", 3, settings=SETTINGS),
        lambda s, c: set_quantity(s, c, "PEN-BALL", 1, settings=SETTINGS),
        lambda s, c: remove_item(s, c, "TEA-SENCHA", settings=SETTINGS),
        lambda s, c: clear_cart(s, c, settings=SETTINGS),
        lambda s, c: add_item(s, c, "TEA-SENCHA", 1, settings=SETTINGS),
    ]
    async with db.session() as session:
        cid = await _shop(session)
        await session.commit()
    for expected, edit in enumerate(edits, start=1):
        # A fresh session each time: the version lives in the database, not in a session's memory.
        async with db.session() as session:
            assert (await edit(session, cid)).version == expected
            await session.commit()


# --- payment method and serialisation -------------------------------------------------------------


async def test_totals_use_the_given_method_else_the_conversations_choice(db: Database) -> None:
    async with db.session() as session:
        cid = await _shop(session, payment_method="after_delivery")
        view = await add_item(session, cid, "TEA-SENCHA", 1, settings=SETTINGS)
        assert view.payment_method is PaymentMethod.AFTER_DELIVERY
        assert view.totals.payment_fee == 250 and view.totals.total == 1200 + 600 + 250
        view = await get_cart(session, cid, settings=SETTINGS)
        assert view.totals.payment_fee == 250
        view = await get_cart(session, cid, payment_method=PaymentMethod.KONBINI, settings=SETTINGS)
        assert view.totals.payment_fee == 200 and view.payment_method is PaymentMethod.KONBINI


async def test_a_view_serialises_to_json(db: Database) -> None:
    async with db.session() as session:
        cid = await _shop(session)
        view = await add_item(session, cid, "MUG-HASAMI", 2, settings=SETTINGS)
    body = view.as_dict()
    assert json.loads(json.dumps(body, ensure_ascii=False)) == body
    assert body["version"] == 1 and body["is_empty"] is False
    assert body["lines"][0] == {
        "sku": "MUG-HASAMI",
        "name": "Hasami porcelain mug",
        "name_ja": "波佐見焼マグカップ",
        "unit_price": 2750,
        "quantity": 2,
        "tax_rate": 10,
        "line_total": 5500,
        "stock": 20,
        "active": True,
    }
    assert body["totals"]["total"] == 5500 and body["totals"]["shipping_fee"] == 0


# --- refusals: typed, bilingual, and nothing changes ----------------------------------------------

Edit = Callable[[AsyncSession, str], Awaitable[CartView]]
SMALL = SETTINGS.model_copy(update={"max_cart_lines": 2, "max_line_quantity": 10})


def _add(sku: str, quantity: Any = 1, settings: CommerceSettings = SETTINGS) -> Edit:
    return lambda s, c: add_item(s, c, sku, quantity, settings=settings)


def _set(sku: str, quantity: Any, settings: CommerceSettings = SETTINGS) -> Edit:
    return lambda s, c: set_quantity(s, c, sku, quantity, settings=settings)


def _remove(sku: str) -> Edit:
    return lambda s, c: remove_item(s, c, sku, settings=SETTINGS)


# The cart before each refusal: TEA-SENCHA x2, COF-DRIP x3 (stock 5).
REFUSALS: list[tuple[str, Edit, str, type[DomainError], int, dict[str, Any]]] = [
    ("unknown sku", _add("NOPE-404"), "product_not_found", NotFoundError, 404, {"sku": "NOPE-404"}),
    ("empty sku", _add("   "), "product_not_found", NotFoundError, 404, {}),
    ("add zero", _add("TEA-SENCHA", 0), "invalid_quantity", DomainError, 400, {}),
    ("add negative", _add("TEA-SENCHA", -2), "invalid_quantity", DomainError, 400, {}),
    ("add text", _add("TEA-SENCHA", "2"), "invalid_quantity", DomainError, 400, {}),
    ("add float", _add("TEA-SENCHA", 1.5), "invalid_quantity", DomainError, 400, {}),
    ("add bool", _add("TEA-SENCHA", True), "invalid_quantity", DomainError, 400, {}),
    (
        "add over the line limit",
        _add("TEA-SENCHA", 9, SMALL),
        "invalid_quantity",
        DomainError,
        400,
        {"sku": "TEA-SENCHA", "requested": 11, "max": 10},
    ),
    (
        "set over the line limit",
        _set("TEA-SENCHA", 11, SMALL),
        "invalid_quantity",
        DomainError,
        400,
        {"max": 10},
    ),
    ("set negative", _set("TEA-SENCHA", -1), "invalid_quantity", DomainError, 400, {}),
    (
        "add beyond stock",
        _add("COF-DRIP", 3),
        "insufficient_stock",
        ConflictError,
        409,
        {"sku": "COF-DRIP", "requested": 6, "available": 5},
    ),
    (
        "set beyond stock",
        _set("cof-drip", 6),
        "insufficient_stock",
        ConflictError,
        409,
        {"sku": "COF-DRIP", "requested": 6, "available": 5},
    ),
    (
        "remove missing line",
        _remove("MUG-HASAMI"),
        "not_in_cart",
        NotFoundError,
        404,
        {"sku": "MUG-HASAMI"},
    ),
    (
        "remove unknown sku",
        _remove("NOPE-404"),
        "not_in_cart",
        NotFoundError,
        404,
        {"sku": "NOPE-404"},
    ),
    (
        "set missing line",
        _set("PEN-BALL", 2),
        "not_in_cart",
        NotFoundError,
        404,
        {"sku": "PEN-BALL"},
    ),
    (
        "a third product",
        _add("PEN-BALL", 1, SMALL),
        "cart_full",
        ConflictError,
        409,
        {"sku": "PEN-BALL", "max_lines": 2},
    ),
]


@pytest.mark.parametrize(
    ("edit", "code", "kind", "status", "details"),
    [refusal[1:] for refusal in REFUSALS],
    ids=[refusal[0] for refusal in REFUSALS],
)
async def test_a_refused_edit_is_typed_bilingual_and_changes_nothing(
    db: Database,
    edit: Edit,
    code: str,
    kind: type[DomainError],
    status: int,
    details: dict[str, Any],
) -> None:
    async with db.session() as session:
        cid = await _shop(session)
        await add_item(session, cid, "TEA-SENCHA", 2, settings=SETTINGS)
        before = await add_item(session, cid, "COF-DRIP", 3, settings=SETTINGS)
        await session.commit()

    async with db.session() as session:
        with pytest.raises(kind) as info:
            await edit(session, cid)
        # The caller may commit after a refusal (the chat goes on): nothing may have been written.
        await session.commit()
    error = info.value
    assert (error.code, error.http_status) == (code, status)
    assert error.details.items() >= details.items()
    _assert_bilingual(error)
    async with db.session() as session:
        assert await get_cart(session, cid, settings=SETTINGS) == before


async def test_stock_messages_say_how_many_are_left_or_that_it_is_sold_out(db: Database) -> None:
    async with db.session() as session:
        cid = await _shop(session)
        await make_product(session, sku="GONE-1", name="Yuzu jam", name_ja="柚子ジャム", stock=0)
        with pytest.raises(ConflictError) as few:
            await add_item(session, cid, "COF-DRIP", 6, settings=SETTINGS)
        with pytest.raises(ConflictError) as none:
            await add_item(session, cid, "GONE-1", 1, settings=SETTINGS)
    assert "only 5" in few.value.message_en and "残り5点" in few.value.message_ja
    assert "sold out" in none.value.message_en and "売り切れ" in none.value.message_ja
    assert none.value.details == {"sku": "GONE-1", "requested": 1, "available": 0}


async def test_a_refused_first_add_leaves_no_cart_behind(db: Database) -> None:
    async with db.session() as session:
        cid = await _shop(session)
        with pytest.raises(ConflictError):
            await add_item(session, cid, "COF-DRIP", 6, settings=SETTINGS)
        await session.commit()
        assert await session.scalar(select(func.count()).select_from(Cart)) == 0


async def test_a_withdrawn_product_cannot_be_added_or_increased_but_can_be_removed(
    db: Database,
) -> None:
    async with db.session() as session:
        cid = await _shop(session)
        await add_item(session, cid, "TEA-SENCHA", 2, settings=SETTINGS)
        await session.execute(
            update(Product).where(Product.sku == "TEA-SENCHA").values(active=False)
        )
        view = await get_cart(session, cid, settings=SETTINGS)
        assert view.lines[0].active is False
        for edit in (_add("TEA-SENCHA"), _set("TEA-SENCHA", 3)):
            with pytest.raises(NotFoundError) as info:
                await edit(session, cid)
            assert info.value.code == "product_not_found"
        view = await remove_item(session, cid, "TEA-SENCHA", settings=SETTINGS)
        assert view.is_empty and view.version == 2


async def test_stock_is_read_fresh_not_from_an_earlier_read(db: Database) -> None:
    async with db.session() as session:
        cid = await _shop(session)
        await session.commit()
        await add_item(session, cid, "COF-DRIP", 1, settings=SETTINGS)  # product now in memory
        await session.commit()
        async with db.session() as other:
            await other.execute(update(Product).where(Product.sku == "COF-DRIP").values(stock=1))
            await other.commit()
        with pytest.raises(ConflictError) as info:
            await add_item(session, cid, "COF-DRIP", 1, settings=SETTINGS)
    assert info.value.details == {"sku": "COF-DRIP", "requested": 2, "available": 1}


# --- concurrency ----------------------------------------------------------------------------------


async def test_concurrent_adds_lose_no_update_and_create_one_cart(db: Database) -> None:
    """A double tap, two tabs, two processes: every add counts, and there is one cart.

    Real row locks on PostgreSQL; on SQLite the writer lock taken by BEGIN IMMEDIATE (without it
    this test ends around quantity 14).
    """
    workers = 20
    async with db.session() as session:
        cid = await _shop(session)
        await session.commit()

    # Enough connections for every worker to hold one at the barrier at the same time.
    database = Database(db.url, pool_size=workers, max_overflow=0)
    barrier = asyncio.Barrier(workers)

    async def add_one() -> None:
        async with database.session() as session:
            # All start together, and none finds a cart yet. (The barrier comes before the
            # transaction: on SQLite, BEGIN IMMEDIATE would hold the lock across the barrier.)
            await barrier.wait()
            await add_item(session, cid, "TEA-SENCHA", 1, settings=SETTINGS)
            await session.commit()

    try:
        await asyncio.gather(*(add_one() for _ in range(workers)))
    finally:
        await database.dispose()

    async with db.session() as session:
        view = await get_cart(session, cid, settings=SETTINGS)
        carts = await session.scalar(select(func.count()).select_from(Cart))
    assert carts == 1
    assert _quantities(view) == {"TEA-SENCHA": workers}
    assert view.version == workers
