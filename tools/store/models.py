"""ORM classes of the merchant database (SQLAlchemy 2, typed `Mapped[...]`).

This module only houses table definitions. The schema itself is created by the Alembic migrations in
`tools/store/migrations`; a test checks that the migrations and these classes agree.

Money columns are integers in minor units of `currency` (JPY has none). Times are timezone-aware UTC.
The constraints that protect money live here, in the database, not only in code:
- one order per quote (`orders.quote_id` unique): a double-clicked confirm cannot create two orders;
- one payment per idempotency key (`payments.idempotency_key` unique): a retried charge reuses its row;
- stock and quantities are checked non-negative / in range by CHECK constraints.
No column ever holds a card number or security code: a card is known only by its gateway token and its
public facts (brand, last four digits).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

# Deterministic constraint names so that migrations are reproducible on SQLite and PostgreSQL.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    """Current time, timezone-aware UTC."""
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC on every backend (SQLite drops the offset; we put it back on load)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {dict[str, Any]: JSON, list[Any]: JSON, datetime: UTCDateTime()}


class Product(Base):
    """A catalogue entry. `price` is tax-inclusive yen; `tax_rate` is 8 (reduced) or 10 (standard)."""

    __tablename__ = "products"
    __table_args__ = (
        CheckConstraint("price >= 0", name="price_non_negative"),
        CheckConstraint("stock >= 0", name="stock_non_negative"),
        CheckConstraint("tax_rate IN (8, 10)", name="tax_rate_known"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # Stored upper-case so that uniqueness is case-insensitive on every backend.
    sku: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    name_ja: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    description_ja: Mapped[str] = mapped_column(Text, default="")
    tags: Mapped[list[Any]] = mapped_column(JSON, default=list)
    category: Mapped[str] = mapped_column(String(64), default="")
    price: Mapped[int] = mapped_column(Integer)
    tax_rate: Mapped[int] = mapped_column(Integer)
    stock: Mapped[int] = mapped_column(Integer, default=0)
    # Free-form optional attributes from the catalogue file (size, colour, origin, ...).
    attributes: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # The last catalogue edit (the search index is rebuilt after one); orders move stock
    # without changing it (tools.checkout.orders).
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class Conversation(Base):
    """One shopper's chat. The bearer token is stored only as a hash."""

    __tablename__ = "conversations"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(128), default="")
    locale: Mapped[str] = mapped_column(String(8), default="en")
    # Chosen payment method: card | after_delivery | konbini (None until chosen).
    payment_method: Mapped[str | None] = mapped_column(String(32), default=None)
    # Public facts of the card token the shopper entered in the gateway frame (never the number).
    card_token: Mapped[str | None] = mapped_column(String(128), default=None)
    card_brand: Mapped[str | None] = mapped_column(String(32), default=None)
    card_last4: Mapped[str | None] = mapped_column(String(4), default=None)
    prompt_variant: Mapped[str | None] = mapped_column(String(64), default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    cart: Mapped[Cart | None] = relationship(back_populates="conversation", uselist=False)


class Cart(Base):
    """A conversation's cart. `version` grows on every change, so a quote can tell it went stale."""

    __tablename__ = "carts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    conversation_id: Mapped[str] = mapped_column(
        ForeignKey("conversations.id", ondelete="CASCADE"), unique=True
    )
    version: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    conversation: Mapped[Conversation] = relationship(back_populates="cart")
    lines: Mapped[list[CartLine]] = relationship(
        back_populates="cart", cascade="all, delete-orphan", order_by="CartLine.id"
    )


class CartLine(Base):
    __tablename__ = "cart_lines"
    __table_args__ = (
        UniqueConstraint("cart_id", "product_id", name="uq_cart_lines_cart_product"),
        CheckConstraint("quantity >= 1", name="quantity_positive"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    cart_id: Mapped[int] = mapped_column(ForeignKey("carts.id", ondelete="CASCADE"), index=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"))
    quantity: Mapped[int] = mapped_column(Integer)
    added_at: Mapped[datetime] = mapped_column(default=utcnow)

    cart: Mapped[Cart] = relationship(back_populates="lines")
    product: Mapped[Product] = relationship(lazy="joined")


class Address(Base):
    """A validated Japanese shipping address, with the contact details screening needs."""

    __tablename__ = "addresses"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    conversation_id: Mapped[str] = mapped_column(
        ForeignKey("conversations.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(100))
    postal_code: Mapped[str] = mapped_column(String(8))  # normalised NNN-NNNN
    prefecture: Mapped[str] = mapped_column(String(16))
    city: Mapped[str] = mapped_column(String(100))
    line1: Mapped[str] = mapped_column(String(200))
    line2: Mapped[str] = mapped_column(String(200), default="")
    phone: Mapped[str] = mapped_column(String(20))  # E.164
    email: Mapped[str] = mapped_column(String(254))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Quote(Base):
    """An immutable snapshot of what the shopper is asked to pay.

    `content` holds lines, fees, tax, total, address and payment method exactly as shown;
    `content_hash` is the SHA-256 of its canonical JSON, which the confirm action must echo back.
    """

    __tablename__ = "quotes"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    conversation_id: Mapped[str] = mapped_column(
        ForeignKey("conversations.id", ondelete="CASCADE"), index=True
    )
    cart_version: Mapped[int] = mapped_column(Integer)
    content: Mapped[dict[str, Any]] = mapped_column(JSON)
    content_hash: Mapped[str] = mapped_column(String(64))
    total: Mapped[int] = mapped_column(Integer)
    currency: Mapped[str] = mapped_column(String(3), default="JPY")
    payment_method: Mapped[str] = mapped_column(String(32))
    expires_at: Mapped[datetime] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Order(Base):
    """An order, created only by the shopper's confirm action on a quote."""

    __tablename__ = "orders"
    __table_args__ = (CheckConstraint("total >= 0", name="total_non_negative"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    # unique: one order per quote, whatever the number of confirm clicks.
    quote_id: Mapped[str] = mapped_column(ForeignKey("quotes.id"), unique=True)
    conversation_id: Mapped[str] = mapped_column(
        ForeignKey("conversations.id", ondelete="SET NULL"), nullable=True, index=True
    )
    status: Mapped[str] = mapped_column(String(32), index=True)
    payment_method: Mapped[str] = mapped_column(String(32))
    subtotal: Mapped[int] = mapped_column(Integer)
    shipping_fee: Mapped[int] = mapped_column(Integer)
    payment_fee: Mapped[int] = mapped_column(Integer)
    tax_10: Mapped[int] = mapped_column(Integer)
    tax_8: Mapped[int] = mapped_column(Integer)
    total: Mapped[int] = mapped_column(Integer)
    currency: Mapped[str] = mapped_column(String(3), default="JPY")
    # The address and lines as confirmed (accounting keeps them even if the conversation is purged).
    address: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    lines: Mapped[list[OrderLine]] = relationship(
        back_populates="order", cascade="all, delete-orphan", order_by="OrderLine.id"
    )
    events: Mapped[list[OrderEvent]] = relationship(
        back_populates="order", cascade="all, delete-orphan", order_by="OrderEvent.id"
    )


class OrderLine(Base):
    __tablename__ = "order_lines"
    __table_args__ = (CheckConstraint("quantity >= 1", name="quantity_positive"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    order_id: Mapped[str] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"), index=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"))
    sku: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200))
    unit_price: Mapped[int] = mapped_column(Integer)
    quantity: Mapped[int] = mapped_column(Integer)
    tax_rate: Mapped[int] = mapped_column(Integer)
    line_total: Mapped[int] = mapped_column(Integer)

    order: Mapped[Order] = relationship(back_populates="lines")


class OrderEvent(Base):
    """Audit trail of status transitions (who moved the order, from where to where, why)."""

    __tablename__ = "order_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    order_id: Mapped[str] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"), index=True)
    from_status: Mapped[str | None] = mapped_column(String(32))
    to_status: Mapped[str] = mapped_column(String(32))
    reason: Mapped[str] = mapped_column(String(200), default="")
    at: Mapped[datetime] = mapped_column(default=utcnow)

    order: Mapped[Order] = relationship(back_populates="events")


class Payment(Base):
    """One attempt to collect an order's money through a gateway.

    Written as `pending` *before* the gateway is called, keyed by an idempotency key derived from the
    quote, so a retry or a crash can never lead to a second charge under a new key.
    """

    __tablename__ = "payments"
    __table_args__ = (
        CheckConstraint("amount >= 0", name="amount_non_negative"),
        Index("ix_payments_status", "status"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    order_id: Mapped[str] = mapped_column(ForeignKey("orders.id"), index=True)
    idempotency_key: Mapped[str] = mapped_column(String(128), unique=True)
    method: Mapped[str] = mapped_column(String(32))
    gateway: Mapped[str] = mapped_column(String(32))
    amount: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3), default="JPY")
    status: Mapped[str] = mapped_column(String(32))
    gateway_ref: Mapped[str | None] = mapped_column(String(128), default=None)
    reason_code: Mapped[str | None] = mapped_column(String(64), default=None)
    card_brand: Mapped[str | None] = mapped_column(String(32), default=None)
    card_last4: Mapped[str | None] = mapped_column(String(4), default=None)
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class WebhookEventRecord(Base):
    """Every gateway webhook processed, keyed by the gateway's event id, so a replay does nothing."""

    __tablename__ = "webhook_events"

    id: Mapped[str] = mapped_column(String(128), primary_key=True)
    gateway: Mapped[str] = mapped_column(String(32))
    type: Mapped[str] = mapped_column(String(64))
    order_id: Mapped[str | None] = mapped_column(String(36), default=None, index=True)
    outcome: Mapped[str] = mapped_column(String(64), default="")
    received_at: Mapped[datetime] = mapped_column(default=utcnow)


class ConversationEvent(Base):
    """One entry of a conversation's transcript: a message (redacted) or a widget shown.

    `seq` orders a conversation's events; (conversation_id, seq) is unique, so two concurrent turns
    cannot interleave silently. Text is stored only after redaction: never a card number.
    """

    __tablename__ = "conversation_events"
    __table_args__ = (
        UniqueConstraint("conversation_id", "seq", name="uq_conversation_events_conversation_seq"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    conversation_id: Mapped[str] = mapped_column(
        ForeignKey("conversations.id", ondelete="CASCADE"), index=True
    )
    seq: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(16))  # message | widget
    role: Mapped[str] = mapped_column(String(16))  # user | assistant
    text: Mapped[str] = mapped_column(Text, default="")
    # none_as_null: a message row's None is SQL NULL (not the JSON text 'null'), also when rows
    # are inserted in bulk with a value for every column (agent.transcript.append_events).
    widget: Mapped[dict[str, Any] | None] = mapped_column(JSON(none_as_null=True), default=None)
    # For assistant messages: how the reply was made (model | guided | fixed) and the turn it ends.
    source: Mapped[str] = mapped_column(String(16), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class IdempotentRequest(Base):
    """A shopper POST sent with an `Idempotency-Key`: what it asked and, once done, what it answered.

    (conversation_id, key) is unique, so of two concurrent sends with one key exactly one runs; a
    retry gets the stored answer replayed. `status_code` is NULL while the first is still running.
    """

    __tablename__ = "idempotent_requests"
    __table_args__ = (
        UniqueConstraint("conversation_id", "key", name="uq_idempotent_requests_conversation_key"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    conversation_id: Mapped[str] = mapped_column(
        ForeignKey("conversations.id", ondelete="CASCADE"), index=True
    )
    key: Mapped[str] = mapped_column(String(64))
    # sha256 of the path and body: the same key with another request is a client bug, not a retry.
    fingerprint: Mapped[str] = mapped_column(String(64))
    status_code: Mapped[int | None] = mapped_column(Integer, default=None)
    response: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class ModelCall(Base):
    """Usage and latency of one model request (no message content unless configured)."""

    __tablename__ = "model_calls"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    conversation_id: Mapped[str | None] = mapped_column(
        ForeignKey("conversations.id", ondelete="SET NULL"), index=True, nullable=True
    )
    model: Mapped[str] = mapped_column(String(100))
    prompt_hash: Mapped[str] = mapped_column(String(64))
    step: Mapped[int] = mapped_column(Integer, default=1)
    prompt_tokens: Mapped[int] = mapped_column(Integer, default=0)
    completion_tokens: Mapped[int] = mapped_column(Integer, default=0)
    cached_prompt_tokens: Mapped[int] = mapped_column(Integer, default=0)
    latency_ms: Mapped[float] = mapped_column(default=0.0)
    attempts: Mapped[int] = mapped_column(Integer, default=1)
    outcome: Mapped[str] = mapped_column(String(32), default="ok")  # ok | unavailable | invalid
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class PromptVariant(Base):
    """A prompt directory registered for production traffic, with its share of new conversations.

    A conversation records the variant's `name` when it starts and keeps it for good (sticky), so
    a variant is never renamed or pointed at another directory: retire one by weight 0 instead.
    `prompt_hash` is the directory's hash when it was registered (a later edit shows as a change).
    """

    __tablename__ = "prompt_variants"
    __table_args__ = (CheckConstraint("weight >= 0", name="weight_non_negative"),)

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    directory: Mapped[str] = mapped_column(String(500))
    prompt_hash: Mapped[str] = mapped_column(String(64))
    weight: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
