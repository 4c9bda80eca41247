"""Exactly-once payment of a confirmed quote through the sandbox gateway, on SQLite and PostgreSQL.

Every test counts the charge calls the merchant made and the charges the gateway's ledger holds:
per order, at most one charge, whatever fails in between.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from sqlalchemy import select, text

from tests.shop_harness import Shop
from tools.cart import get_cart
from tools.checkout.orders import get_order
from tools.errors import DomainError
from tools.payments.charging import ChargePolicy, PaymentStatus, complete_threeds, place_and_pay
from tools.payments.charging import reconcile as reconcile_payments
from tools.store.models import Base, Conversation, Payment, Product

FAST = ChargePolicy(wait_initial_s=0, wait_max_s=0)


async def pay(shop: Shop, cid: str, quote: tuple[str, str]) -> Any:
    return await place_and_pay(shop.db, shop.gateway, conversation_id=cid, quote_id=quote[0],
                               quote_hash=quote[1], settings=shop.settings, policy=FAST)


async def stock(shop: Shop, sku: str = "TEA-SENCHA") -> int:
    async with shop.db.session() as session:
        value = await session.scalar(select(Product.stock).where(Product.sku == sku))
        assert value is not None
        return value


SUCCESS_CARDS = ["4242424242424242", "4111111111111111", "5555555555554444", "2223003122003222",
                 "3530111333300000", "378282246310005"]
DECLINES = {
    "4000000000000002": "card_declined",
    "4000000000009995": "insufficient_funds",
    "4000000000000069": "expired_card",
    "4000000000000127": "incorrect_cvc",
    "4000000000000010": "unknown_card",  # Luhn-valid, not a test card
}


@pytest.mark.parametrize("number", SUCCESS_CARDS)
async def test_good_cards_are_paid_with_one_charge(shop: Shop, number: str) -> None:
    cid = await shop.ready_conversation(card=number)
    quote = await shop.quote(cid)
    outcome = await pay(shop, cid, quote)
    assert outcome.order_status == "paid" and outcome.payment_status == "approved"
    assert outcome.total == 3000 and outcome.settled
    assert shop.gateway.charge_keys == [f"chatpay:{quote[0]}:pay"]
    ledger = await shop.ledger()
    assert [(c["order_id"], c["amount"]) for c in ledger] == [(outcome.order_id, 3000)]
    async with shop.db.session() as session:
        conversation = await session.get(Conversation, cid)
        assert conversation is not None and conversation.card_token is None  # single-use token
        assert (await get_cart(session, cid)).is_empty
        payment = await session.get(Payment, outcome.payment_id)
        assert payment is not None and payment.card_last4 == number[-4:]
    assert await stock(shop) == 48


@pytest.mark.parametrize(("number", "reason"), DECLINES.items())
async def test_declines_fail_the_order_and_keep_the_cart(shop: Shop, number: str,
                                                         reason: str) -> None:
    cid = await shop.ready_conversation(card=number)
    outcome = await pay(shop, cid, await shop.quote(cid))
    assert outcome.order_status == "failed" and outcome.payment_status == "declined"
    assert outcome.reason_code == reason
    assert len(shop.gateway.charge_keys) == 1  # declines are never retried
    assert await stock(shop) == 50  # stock back on the shelf
    async with shop.db.session() as session:
        assert not (await get_cart(session, cid)).is_empty

    # The shopper enters a good card: a new quote, a new order, one more charge.
    await shop.use_card(cid, "4242424242424242")
    retry = await pay(shop, cid, await shop.quote(cid))
    assert retry.order_status == "paid" and retry.order_id != outcome.order_id
    assert len(shop.gateway.charge_keys) == 2 and len(set(shop.gateway.charge_keys)) == 2


async def test_processing_error_is_retried_with_the_same_key_then_fails(shop: Shop) -> None:
    cid = await shop.ready_conversation(card="4000000000000119")
    outcome = await pay(shop, cid, await shop.quote(cid))
    assert outcome.order_status == "failed" and outcome.payment_status == "failed"
    assert outcome.reason_code == "processing_error"
    assert len(shop.gateway.charge_keys) == FAST.attempts
    assert len(set(shop.gateway.charge_keys)) == 1
    assert [c for c in await shop.ledger() if c["status"] == "approved"] == []


async def test_repeated_confirm_makes_no_second_call(shop: Shop) -> None:
    cid = await shop.ready_conversation(card="4242424242424242")
    quote = await shop.quote(cid)
    first = await pay(shop, cid, quote)
    second = await pay(shop, cid, quote)
    assert second.order_id == first.order_id and not second.created
    assert second.order_status == "paid"
    assert len(shop.gateway.charge_keys) == 1 and len(await shop.ledger()) == 1


async def test_threeds_pass_and_fail(shop: Shop) -> None:
    for code, expected in (("123456", "paid"), ("000000", "failed")):
        cid = await shop.ready_conversation(card="4000002500003155")
        outcome = await pay(shop, cid, await shop.quote(cid))
        assert outcome.order_status == "requires_action"
        assert outcome.challenge_url and outcome.payment_id
        ref = outcome.challenge_url.rstrip("/").split("/")[-1].split("?")[0]
        answer = await shop.sandbox.post(f"/3ds/{ref}", json={"code": code})
        assert answer.status_code == 200, answer.text
        done = await complete_threeds(shop.db, shop.gateway, conversation_id=cid,
                                      payment_id=outcome.payment_id)
        assert done.order_status == expected
        if expected == "failed":
            assert done.reason_code == "threeds_failed"
        # Completing twice changes nothing.
        again = await complete_threeds(shop.db, shop.gateway, conversation_id=cid,
                                       payment_id=outcome.payment_id)
        assert again.order_status == expected
        async with shop.db.session() as session:
            await session.execute(text("DELETE FROM cart_lines"))
            await session.execute(text("DELETE FROM carts"))
            await session.execute(text("DELETE FROM addresses"))
            await session.commit()
        await _reset_catalogue(shop)


async def _reset_catalogue(shop: Shop) -> None:
    # ready_conversation makes the small catalogue each time; drop the products between rounds.
    async with shop.db.session() as session:
        for table in ("order_events", "order_lines", "payments", "orders", "quotes",
                      "conversations", "products"):
            await session.execute(text(f"DELETE FROM {table}"))  # noqa: S608 - fixed names
        await session.commit()


async def test_threeds_of_another_conversation_is_not_found(shop: Shop) -> None:
    cid = await shop.ready_conversation(card="4000002500003155")
    outcome = await pay(shop, cid, await shop.quote(cid))
    assert outcome.payment_id
    with pytest.raises(DomainError):
        await complete_threeds(shop.db, shop.gateway, conversation_id="someone-else",
                               payment_id=outcome.payment_id)


async def test_gateway_500_before_charging_is_retried_once(shop: Shop) -> None:
    cid = await shop.ready_conversation(card="4242424242424242")
    await shop.faults(fail_next=1)
    outcome = await pay(shop, cid, await shop.quote(cid))
    assert outcome.order_status == "paid"
    assert len(shop.gateway.charge_keys) == 2 and len(set(shop.gateway.charge_keys)) == 1
    assert len([c for c in await shop.ledger() if c["status"] == "approved"]) == 1


async def test_lost_response_is_looked_up_not_recharged(shop: Shop) -> None:
    cid = await shop.ready_conversation(card="4242424242424242")
    await shop.faults(lose_next=1)
    outcome = await pay(shop, cid, await shop.quote(cid))
    assert outcome.order_status == "paid"
    assert len(shop.gateway.charge_keys) == 1  # the lookup found it; no second charge call
    assert len(await shop.ledger()) == 1


class CrashAfterCharge(Exception):
    pass


async def test_crash_after_the_charge_then_reconcile(shop: Shop, monkeypatch: Any) -> None:
    """The process dies after the gateway charged but before the outcome was written."""
    cid = await shop.ready_conversation(card="4242424242424242")
    quote = await shop.quote(cid)
    real_charge = shop.gateway.charge

    async def charge_then_die(**kwargs: Any) -> Any:
        await real_charge(**kwargs)
        raise CrashAfterCharge

    monkeypatch.setattr(shop.gateway, "charge", charge_then_die)
    with pytest.raises(CrashAfterCharge):
        await pay(shop, cid, quote)
    async with shop.db.session() as session:
        payment = await session.scalar(select(Payment))
        assert payment is not None and payment.status == PaymentStatus.PENDING
        order = await get_order(session, payment.order_id)
        assert order.status == "pending_payment"
    monkeypatch.undo()

    # The shopper clicks again: same order, no new charge (it is pending).
    again = await pay(shop, cid, quote)
    assert again.order_status == "pending_payment" and not again.created

    report = await reconcile_payments(shop.db, shop.gateway, older_than=_no_age())
    assert report.settled == {"approved": 1} and report.still_pending == 0
    async with shop.db.session() as session:
        order = await get_order(session, payment.order_id)
        assert order.status == "paid"
    assert len(await shop.ledger()) == 1
    assert (await reconcile_payments(shop.db, shop.gateway, older_than=_no_age())).checked == 0


async def test_crash_before_the_call_then_reconcile_fails_it_cleanly(shop: Shop,
                                                                     monkeypatch: Any) -> None:
    cid = await shop.ready_conversation(card="4242424242424242")
    quote = await shop.quote(cid)

    async def die(**kwargs: Any) -> Any:
        raise CrashAfterCharge

    monkeypatch.setattr(shop.gateway, "charge", die)
    with pytest.raises(CrashAfterCharge):
        await pay(shop, cid, quote)
    monkeypatch.undo()
    report = await reconcile_payments(shop.db, shop.gateway, older_than=_no_age())
    assert report.settled == {"not_found": 1}
    async with shop.db.session() as session:
        payment = await session.scalar(select(Payment))
        assert payment is not None and payment.status == PaymentStatus.FAILED
        assert (await get_order(session, payment.order_id)).status == "failed"
    assert await shop.ledger() == [] and await stock(shop) == 50


def _no_age() -> Any:
    from datetime import timedelta

    return timedelta(seconds=-1)


async def test_no_table_or_merchant_request_holds_the_card_number(shop: Shop) -> None:
    """A full card checkout: the number goes browser -> gateway only; the merchant never has it."""
    number = "5555555555554444"
    cid = await shop.ready_conversation(card=number)
    outcome = await pay(shop, cid, await shop.quote(cid))
    assert outcome.order_status == "paid"
    assert shop.merchant_wire is not None
    wire = "\n".join(shop.merchant_wire.traffic)
    assert "/v1/charges" in wire and "/v1/tokens/" in wire  # the merchant did talk to the gateway
    for fragment in (number, number[:12], "5555 5555"):
        assert fragment not in wire
    dump = []
    async with shop.db.session() as session:
        for table in Base.metadata.sorted_tables:
            rows = (await session.execute(table.select())).all()
            dump.extend(str(tuple(row)) for row in rows)
    text_dump = "\n".join(dump)
    assert "4444" in text_dump  # the last four are kept, on purpose
    for fragment in (number, number[:12], "5555 5555", "555555555555"):
        assert fragment not in text_dump


@pytest.mark.postgres
async def test_fifty_concurrent_confirms_charge_once(pg_shop: Shop) -> None:
    shop = pg_shop
    cid = await shop.ready_conversation(card="4242424242424242")
    quote = await shop.quote(cid)
    outcomes = await asyncio.gather(*(pay(shop, cid, quote) for _ in range(50)))
    assert len({o.order_id for o in outcomes}) == 1
    assert sum(o.created for o in outcomes) == 1
    assert len(shop.gateway.charge_keys) == 1
    assert len(await shop.ledger()) == 1
