"""Reading and editing a conversation's cart, safely under concurrent requests.

This module only houses the cart operations. Each takes `(session, conversation_id, ...)`,
flushes and never commits: the caller owns the transaction. Every edit that changes something bumps
`Cart.version` by exactly one, so a quote taken at version N knows it went stale; an edit that
changes nothing, or is refused, leaves the version (and everything else) as it was.

Concurrency: two requests of one conversation may edit the cart at once (a double tap, two browser
tabs, two server processes). Every edit first locks the cart row (`SELECT ... FOR UPDATE`; on
SQLite, which has no row locks, it takes the database's writer lock), then reads the lines, so a
read-modify-write never loses an update. The first edit creates the cart with
`INSERT ... ON CONFLICT DO NOTHING` on the unique `carts.conversation_id`, then locks whichever
row won, so a creation race yields one cart, not an error.

Stock is checked against `Product.stock` as a courtesy to the shopper; it is reserved (decremented)
only when an order is placed, which checks it again.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, bindparam, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from tools.cart.errors import (
    CartFull,
    ConversationNotFound,
    InsufficientStock,
    InvalidQuantity,
    NotInCart,
    ProductNotFound,
)
from tools.cart.view import CartLineView, CartView, build_view, view_of_lines
from tools.payments.methods import PaymentMethod
from tools.settings import CommerceSettings, get_commerce_settings
from tools.store.models import Cart, CartLine, Conversation, Product

# Both dialects spell "insert unless the unique key exists" the same way; others are unsupported.
_INSERT_BY_DIALECT: dict[str, Callable[[Any], Any]] = {
    "postgresql": postgresql.insert,
    "sqlite": sqlite.insert,
}


def normalize_sku(sku: str) -> str:
    """The stored form of a sku as typed: NFKC (full-width → ASCII), trimmed, upper-case."""
    return unicodedata.normalize("NFKC", sku).strip().upper()


async def get_cart(
    session: AsyncSession,
    conversation_id: str,
    *,
    payment_method: PaymentMethod | None = None,
    settings: CommerceSettings | None = None,
) -> CartView:
    """The cart and its totals, with fees for `payment_method` or else the conversation's choice.

    One indexed query whatever the number of lines: the conversation (primary key) joined to its
    cart (unique key), its lines (by cart_id) and their products, reading only the columns the
    view shows. No ORM objects are loaded (every turn reads the cart at least once; entities with
    their identity-map bookkeeping cost several times the query), and pending changes of this
    session are flushed first, as for any ORM select.
    """
    settings = settings if settings is not None else get_commerce_settings()
    rows = (await session.execute(_CART_READ, {"conversation_id": conversation_id})).all()
    if not rows:
        raise ConversationNotFound(conversation_id)
    stored_method, version = rows[0][0], rows[0][1]
    method = payment_method if payment_method is not None else _payment_method(stored_method)
    lines = [
        CartLineView(sku=sku, name=name, name_ja=name_ja, unit_price=price, quantity=quantity,
                     tax_rate=tax_rate, line_total=price * quantity, stock=stock, active=active)
        for _m, _v, sku, name, name_ja, price, tax_rate, stock, active, quantity in rows
        if sku is not None
    ]
    return view_of_lines(conversation_id, version or 0, lines, method, settings)


#: Built once: a statement object reused with new parameters skips construction and cache-key work.
_CART_READ = (
    select(Conversation.payment_method, Cart.version, Product.sku, Product.name,
           Product.name_ja, Product.price, Product.tax_rate, Product.stock, Product.active,
           CartLine.quantity)
    .select_from(Conversation)
    .outerjoin(Cart, Cart.conversation_id == Conversation.id)
    .outerjoin(CartLine, CartLine.cart_id == Cart.id)
    .outerjoin(Product, Product.id == CartLine.product_id)
    .where(Conversation.id == bindparam("conversation_id"))
    .order_by(CartLine.id)  # the order of Cart.lines
)


async def add_item(
    session: AsyncSession,
    conversation_id: str,
    sku: str,
    quantity: int = 1,
    *,
    settings: CommerceSettings | None = None,
) -> CartView:
    """Put `quantity` of a product in the cart, adding to its line if it is already there."""
    settings = settings if settings is not None else get_commerce_settings()
    _require_count(quantity, minimum=1, maximum=settings.max_line_quantity)
    product = await _active_product(session, sku)
    locked = await _lock_cart(session, conversation_id)
    cart = locked.cart
    if cart is None:
        # Refuse before writing anything, so a refused first add leaves no cart row behind.
        _quantity_after_add([], product, quantity, settings)
        cart = await _create_cart(session, conversation_id)
    # (Re)checked on the locked lines: a concurrent request may have created the cart and filled it.
    new_quantity = _quantity_after_add(cart.lines, product, quantity, settings)
    line = _line_of_product(cart.lines, product.id)
    if line is None:
        cart.lines.append(CartLine(product=product, quantity=new_quantity))
    else:
        line.quantity = new_quantity
    return await _changed(session, cart, locked.payment_method, settings)


async def set_quantity(
    session: AsyncSession,
    conversation_id: str,
    sku: str,
    quantity: int,
    *,
    settings: CommerceSettings | None = None,
) -> CartView:
    """Set the quantity of a line already in the cart; 0 removes the line."""
    settings = settings if settings is not None else get_commerce_settings()
    _require_count(quantity, minimum=0, maximum=settings.max_line_quantity)
    locked = await _lock_cart(session, conversation_id)
    cart, line = await _existing_line(session, locked, sku)
    if quantity == 0:
        cart.lines.remove(line)
        return await _changed(session, cart, locked.payment_method, settings)
    product = line.product
    if not product.active:
        raise ProductNotFound(product.sku)
    _check_stock(product, quantity)
    if quantity == line.quantity:
        return build_view(
            conversation_id, cart.version, cart.lines, locked.payment_method, settings
        )
    line.quantity = quantity
    return await _changed(session, cart, locked.payment_method, settings)


async def remove_item(
    session: AsyncSession,
    conversation_id: str,
    sku: str,
    *,
    settings: CommerceSettings | None = None,
) -> CartView:
    """Take a product's line out of the cart."""
    settings = settings if settings is not None else get_commerce_settings()
    locked = await _lock_cart(session, conversation_id)
    cart, line = await _existing_line(session, locked, sku)
    cart.lines.remove(line)
    return await _changed(session, cart, locked.payment_method, settings)


async def clear_cart(
    session: AsyncSession,
    conversation_id: str,
    *,
    settings: CommerceSettings | None = None,
) -> CartView:
    """Empty the cart (clearing an empty cart changes nothing, not even the version)."""
    settings = settings if settings is not None else get_commerce_settings()
    locked = await _lock_cart(session, conversation_id)
    cart = locked.cart
    if cart is None:
        return build_view(conversation_id, 0, [], locked.payment_method, settings)
    if not cart.lines:
        return build_view(conversation_id, cart.version, [], locked.payment_method, settings)
    cart.lines.clear()
    return await _changed(session, cart, locked.payment_method, settings)


# --- locking and loading --------------------------------------------------------------------------


@dataclass(slots=True)
class _LockedCart:
    """The cart row locked for this transaction (None: not created yet) and the chosen method."""

    cart: Cart | None
    payment_method: PaymentMethod | None


def _locking_select(conversation_id: str) -> Select[Cart, str | None]:
    return (
        select(Cart, Conversation.payment_method)
        .join(Conversation, Conversation.id == Cart.conversation_id)
        .where(Cart.conversation_id == conversation_id)
        # Lines are loaded by a second query issued after the lock is granted, so they are current.
        .options(selectinload(Cart.lines))
        # Only the cart row: locking products would serialise every cart holding a popular product.
        .with_for_update(of=Cart)
        # An identity-map copy read before the lock may be stale; overwrite it with what is locked.
        .execution_options(populate_existing=True)
    )


async def _lock_cart(session: AsyncSession, conversation_id: str) -> _LockedCart:
    # On SQLite, FOR UPDATE is ignored; the engine begins every transaction IMMEDIATE instead
    # (tools.store.db), which serialises edits just as well.
    row = (await session.execute(_locking_select(conversation_id))).one_or_none()
    if row is not None:
        cart, stored_method = row
        return _LockedCart(cart, _payment_method(stored_method))
    conversation = (
        await session.execute(
            select(Conversation.payment_method).where(Conversation.id == conversation_id)
        )
    ).one_or_none()
    if conversation is None:
        raise ConversationNotFound(conversation_id)
    return _LockedCart(None, _payment_method(conversation.payment_method))


async def _create_cart(session: AsyncSession, conversation_id: str) -> Cart:
    """Create the conversation's cart, or take the one a concurrent request just created; locked.

    ON CONFLICT DO NOTHING rather than catching IntegrityError: on PostgreSQL the insert waits for a
    concurrent uncommitted insert of the same key and then does nothing, without aborting our
    transaction, and no savepoint is needed.
    """
    insert = _INSERT_BY_DIALECT[session.get_bind().dialect.name]
    await session.execute(
        insert(Cart)
        .values(conversation_id=conversation_id)
        .on_conflict_do_nothing(index_elements=["conversation_id"])
    )
    cart = (await session.execute(_locking_select(conversation_id))).one()[0]
    return cart


async def _active_product(session: AsyncSession, sku: str) -> Product:
    wanted = normalize_sku(sku)
    product = await session.scalar(
        select(Product)
        .where(Product.sku == wanted, Product.active.is_(True))
        .execution_options(populate_existing=True)  # current stock, not a copy read earlier
    )
    if product is None:
        raise ProductNotFound(wanted[:64])
    return product


async def _existing_line(
    session: AsyncSession, locked: _LockedCart, sku: str
) -> tuple[Cart, CartLine]:
    wanted = normalize_sku(sku)
    cart = locked.cart
    line = None
    if cart is not None:
        line = next((each for each in cart.lines if each.product.sku == wanted), None)
    if cart is None or line is None:
        # Name the product in the message when it exists, even though it is not in the cart.
        named = select(Product.name, Product.name_ja).where(Product.sku == wanted)
        names = (await session.execute(named)).one_or_none()
        name, name_ja = (wanted[:64], wanted[:64]) if names is None else (names[0], names[1])
        raise NotInCart(sku=wanted[:64], name=name, name_ja=name_ja)
    return cart, line


async def _changed(
    session: AsyncSession,
    cart: Cart,
    payment_method: PaymentMethod | None,
    settings: CommerceSettings,
) -> CartView:
    cart.version += 1
    await session.flush()
    return build_view(cart.conversation_id, cart.version, cart.lines, payment_method, settings)


# --- rules ----------------------------------------------------------------------------------------


def _payment_method(stored: str | None) -> PaymentMethod | None:
    return PaymentMethod(stored) if stored else None


def _line_of_product(lines: Sequence[CartLine], product_id: int) -> CartLine | None:
    return next((line for line in lines if line.product_id == product_id), None)


def _require_count(quantity: object, *, minimum: int, maximum: int) -> None:
    # bool is an int subclass, but `True` from a model is not a quantity.
    if isinstance(quantity, bool) or not isinstance(quantity, int):
        raise InvalidQuantity.not_a_count(minimum=minimum, maximum=maximum)
    if not minimum <= quantity <= maximum:
        raise InvalidQuantity.not_a_count(minimum=minimum, maximum=maximum)


def _quantity_after_add(
    lines: Sequence[CartLine], product: Product, quantity: int, settings: CommerceSettings
) -> int:
    """The line's quantity after adding `quantity`, or the refusal."""
    line = _line_of_product(lines, product.id)
    in_cart = line.quantity if line is not None else 0
    if line is None and len(lines) >= settings.max_cart_lines:
        raise CartFull(
            sku=product.sku,
            name=product.name,
            name_ja=product.name_ja,
            max_lines=settings.max_cart_lines,
        )
    new_quantity = in_cart + quantity
    if new_quantity > settings.max_line_quantity:
        raise InvalidQuantity.over_line_limit(
            sku=product.sku,
            name=product.name,
            name_ja=product.name_ja,
            requested=new_quantity,
            in_cart=in_cart,
            maximum=settings.max_line_quantity,
        )
    _check_stock(product, new_quantity)
    return new_quantity


def _check_stock(product: Product, quantity: int) -> None:
    if quantity > product.stock:
        raise InsufficientStock(
            sku=product.sku,
            name=product.name,
            name_ja=product.name_ja,
            requested=quantity,
            available=product.stock,
        )
