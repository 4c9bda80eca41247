"""A known mix of conversations for the funnel tests, written as the store would have recorded them.

Each conversation gets exactly the evidence its name says (events, cart lines, address, method,
card token, quotes, orders, payments, model calls) at chosen times, so every funnel figure can be
worked out by hand. The period is 2026-11-20..2026-11-21 (UTC); two more conversations sit just
outside it (23:59:59 the day before, 00:00:00 the day after) and must never be counted.

name             day  locale variant  method          furthest stage
started          20   en     default  -               started
browsed          20   ja     default  -               browsed (also an empty cart widget)
cart             20   en     b        -               cart (a cart line)
address          21   ja     b        -               address (cart shown, then emptied)
method           21   en     default  card            payment_method
card_token       21   en     default  card            payment_details
confirm_left     21   ja     b        konbini         confirmation
failed           21   en     default  card            confirmation (declined order)
paid_card_1      20   en     default  card            purchased
paid_card_2      21   ja     b        card            purchased (a failed order first)
konbini          20   en     b        konbini         purchased (awaiting store payment)
after_delivery   21   ja     default  after_delivery  purchased (deferred_approved)
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from tests.factories import make_product
from tools.store.models import (
    Address,
    Cart,
    CartLine,
    Conversation,
    ConversationEvent,
    ModelCall,
    Order,
    Payment,
    Quote,
)

DAY_20 = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
DAY_21 = datetime(2026, 11, 21, 9, 0, tzinfo=UTC)


@dataclass
class Writer:
    """Writes one conversation's rows; `at(seconds)` is an instant after its first event."""

    session: AsyncSession
    conversation: Conversation
    start: datetime
    seq: int = 0
    orders: list[Order] = field(default_factory=list)

    def at(self, seconds: float) -> datetime:
        return self.start + timedelta(seconds=seconds)

    def event(self, seconds: float, kind: str, role: str, *, text: str = "",
              widget: dict[str, Any] | None = None, source: str = "") -> None:
        self.seq += 1
        self.session.add(ConversationEvent(
            conversation_id=self.conversation.id, seq=self.seq, kind=kind, role=role, text=text,
            widget=widget, source=source, created_at=self.at(seconds)))

    def user(self, seconds: float, text: str = "hello") -> None:
        self.event(seconds, "message", "user", text=text, source="shopper")

    def widget(self, seconds: float, kind: str, **content: Any) -> None:
        self.event(seconds, "widget", "assistant", widget={"kind": kind, **content},
                   source="action")

    async def order(self, seconds: float, status: str, method: str, *,
                    payment_status: str | None = None, reason: str | None = None) -> Order:
        cid = self.conversation.id
        quote = Quote(id=str(uuid.uuid4()), conversation_id=cid, cart_version=1, content={},
                      content_hash="0" * 64, total=3000, payment_method=method,
                      expires_at=self.at(seconds + 900), created_at=self.at(seconds - 1))
        order = Order(id=str(uuid.uuid4()), quote_id=quote.id, conversation_id=cid, status=status,
                      payment_method=method, subtotal=3000, shipping_fee=0, payment_fee=0,
                      tax_10=0, tax_8=222, total=3000, address={}, created_at=self.at(seconds))
        self.session.add(quote)
        await self.session.flush()  # no ORM relationship orders the two inserts
        self.session.add(order)
        await self.session.flush()
        if payment_status is not None:
            self.session.add(Payment(
                id=str(uuid.uuid4()), order_id=order.id, idempotency_key=f"pay-{order.id}",
                method=method, gateway="sandbox", amount=3000, status=payment_status,
                reason_code=reason, created_at=self.at(seconds)))
        self.orders.append(order)
        return order

    def model_calls(self, count: int, *, prompt: int = 0, completion: int = 0,
                    outcome: str = "ok", latency_ms: float = 100.0) -> None:
        for step in range(1, count + 1):
            self.session.add(ModelCall(
                conversation_id=self.conversation.id, model="test", prompt_hash="h", step=step,
                prompt_tokens=prompt, completion_tokens=completion, latency_ms=latency_ms,
                outcome=outcome, created_at=self.at(1)))


async def _conversation(session: AsyncSession, start: datetime, *, locale: str,
                        variant: str | None = None, method: str | None = None,
                        card_token: str | None = None) -> Writer:
    # The row is created five seconds before the greeting, so a median that wrongly starts from
    # the conversation row instead of the first event comes out five seconds longer.
    conversation = Conversation(id=str(uuid.uuid4()), locale=locale, prompt_variant=variant,
                                payment_method=method, card_token=card_token,
                                created_at=start - timedelta(seconds=5))
    session.add(conversation)
    await session.flush()
    writer = Writer(session, conversation, start)
    writer.event(0, "message", "assistant", text="Welcome!", source="fixed")
    return writer


async def _address(session: AsyncSession, cid: str) -> None:
    session.add(Address(conversation_id=cid, name="Taro Yamada", postal_code="150-0002",
                        prefecture="東京都", city="渋谷区", line1="2-21-1", phone="+819012345678",
                        email="taro@example.com"))


async def build_mix(session: AsyncSession) -> dict[str, str]:
    """Write the mix (committed by the caller); returns conversation ids by name."""
    product = await make_product(session)
    made: dict[str, Writer] = {}

    w = made["started"] = await _conversation(session, DAY_20, locale="en")

    w = made["browsed"] = await _conversation(session, DAY_20 + timedelta(minutes=1),
                                              locale="ja")
    w.user(5, "緑茶ありますか")
    w.widget(6, "product_list", products=[])
    w.widget(7, "cart", lines=[], subtotal=0, total=0)  # an empty cart is not the cart stage

    w = made["cart"] = await _conversation(session, DAY_20 + timedelta(minutes=2), locale="en",
                                           variant="b")
    cart = Cart(conversation_id=w.conversation.id, version=1)
    session.add(cart)
    await session.flush()
    session.add(CartLine(cart_id=cart.id, product_id=product.id, quantity=1))

    w = made["address"] = await _conversation(session, DAY_21, locale="ja", variant="b")
    w.widget(3, "cart", lines=[{"sku": "TEA-SENCHA"}], subtotal=1200, total=1200)
    await _address(session, w.conversation.id)

    w = made["method"] = await _conversation(session, DAY_21 + timedelta(minutes=1),
                                             locale="en", method="card")
    await _address(session, w.conversation.id)

    w = made["card_token"] = await _conversation(session, DAY_21 + timedelta(minutes=2),
                                                 locale="en", method="card", card_token="tok_1")
    w.widget(4, "card_form")
    w.model_calls(4, prompt=1000, completion=1000)  # not a purchaser: not in per-purchase usage

    w = made["confirm_left"] = await _conversation(session, DAY_21 + timedelta(minutes=3),
                                                   locale="ja", variant="b", method="konbini")
    w.widget(8, "confirm", total=3000)

    w = made["failed"] = await _conversation(session, DAY_21 + timedelta(minutes=4), locale="en",
                                             method="card", card_token="tok_2")
    await w.order(60, "failed", "card", payment_status="declined", reason="card_declined")

    w = made["paid_card_1"] = await _conversation(session, DAY_20 + timedelta(hours=1),
                                                  locale="en", method="card", card_token="tok_3")
    for second in (10, 60, 120):
        w.user(second)
    w.widget(250, "confirm", total=3000)
    await w.order(300, "paid", "card", payment_status="approved")
    w.user(400, "thanks")  # after the purchase: not a turn to purchase
    w.model_calls(3, prompt=100, completion=20)

    w = made["paid_card_2"] = await _conversation(session, DAY_21 + timedelta(hours=1),
                                                  locale="ja", variant="b", method="card")
    for second in (10, 20, 30, 40, 50):
        w.user(second)
    await w.order(400, "failed", "card", payment_status="declined", reason="insufficient_funds")
    await w.order(600, "paid", "card", payment_status="approved")
    w.model_calls(2, prompt=200, completion=50)

    w = made["konbini"] = await _conversation(session, DAY_20 + timedelta(hours=2), locale="en",
                                              variant="b", method="konbini")
    w.user(30)
    await w.order(90, "awaiting_store_payment", "konbini", payment_status="slip_issued")

    w = made["after_delivery"] = await _conversation(session, DAY_21 + timedelta(hours=3),
                                                     locale="ja", method="after_delivery")
    w.user(50)
    w.user(100)
    await w.order(200, "deferred_approved", "after_delivery",
                  payment_status="screening_approved")
    w.model_calls(1, outcome="unavailable", latency_ms=0.0)

    # Just outside the period, on both sides: purchases that must not be counted.
    for name, start in (("before", datetime(2026, 11, 19, 23, 59, 59, tzinfo=UTC)),
                        ("after", datetime(2026, 11, 22, 0, 0, 5, tzinfo=UTC))):
        w = made[name] = await _conversation(session, start, locale="en", method="card")
        w.user(1)
        await w.order(2, "paid", "card", payment_status="approved")
        w.model_calls(5, prompt=10, completion=10)
    await session.flush()
    return {name: writer.conversation.id for name, writer in made.items()}
