"""Gateway faults at every step of a card charge, then reconcile: never two charges for one order.

Each scenario breaks the wire between the merchant and the sandbox gateway (or the gateway itself,
through its fault controls) at one step of `place_and_pay`: before the request reaches the gateway,
while it is there, after it charged, or by killing the merchant before it records the outcome.
Then the shopper clicks confirm again, `reconcile` runs, and the shopper clicks once more. At the end,
on SQLite and PostgreSQL: per order at most one charge at the gateway, the paid orders are exactly
the approved charges, no payment is left pending, and stock matches what was sold.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from agent.texts import say
from tests.api.conftest import ADDRESS, Chat, chat_factory, texts, widget  # noqa: F401 - fixture
from tests.reliability.money_invariants import assert_money_consistent
from tests.reliability.servers import free_port, serve_in_process, wait_until
from tests.reliability.wire_faults import Fault, FaultyTransport, ProcessKilled
from tests.shop_harness import GATEWAY_URL, CountingGateway, Shop
from tools.payments.card_intake import accept_card_token
from tools.payments.charging import ChargePolicy, PaymentOutcome, place_and_pay, reconcile
from tools.payments.sandbox import SandboxGateway, SandboxSettings, tokenize_card
from tools.payments.sandbox import create_app as create_sandbox_app
from tools.store.models import Payment, Product

FAST = ChargePolicy(wait_initial_s=0, wait_max_s=0)
GOOD_CARD = "4242424242424242"
ALL_ATTEMPTS = FAST.attempts
ALL_LOOKUPS = FAST.lookups
NOW = timedelta(seconds=-1)  # reconcile every pending payment, however young


@dataclass(frozen=True)
class Scenario:
    charge_faults: list[Fault | None] = field(default_factory=list)
    lookup_faults: list[Fault | None] = field(default_factory=list)
    sandbox_faults: dict[str, int] = field(default_factory=dict)  # the gateway's own controls
    at_once: str | None = None  # order status the confirm answers; None: the merchant died
    settled: str = "paid"  # order status after reconcile
    charge_attempts: int = 1


SCENARIOS: dict[str, Scenario] = {
    # Before the request reaches the gateway.
    "refused once, retried under the same key": Scenario(
        [Fault.REFUSED], at_once="paid", charge_attempts=2),
    "refused on every attempt": Scenario(
        [Fault.REFUSED] * ALL_ATTEMPTS, at_once="failed", settled="failed",
        charge_attempts=ALL_ATTEMPTS),
    "merchant dies before the request leaves": Scenario(
        [Fault.KILLED_BEFORE], settled="failed"),
    # At the gateway, nothing charged.
    "gateway 503 on every attempt": Scenario(
        sandbox_faults={"fail_next": ALL_ATTEMPTS}, at_once="failed", settled="failed",
        charge_attempts=ALL_ATTEMPTS),
    "proxy 502, the gateway never saw it": Scenario(
        [Fault.BAD_GATEWAY], at_once="pending_payment", settled="failed"),
    "timeout, the gateway never saw it": Scenario(
        [Fault.TIMEOUT_UNSENT], at_once="pending_payment", settled="failed"),
    # The gateway charged; the merchant did not hear it.
    "charged, proxy 502": Scenario([Fault.CHARGED_BAD_GATEWAY], at_once="paid"),
    "charged, response lost (timeout)": Scenario([Fault.CHARGED_TIMEOUT], at_once="paid"),
    "charged, gateway's own 500": Scenario(sandbox_faults={"lose_next": 1}, at_once="paid"),
    "503 twice, then charged and lost": Scenario(
        [None, None, Fault.CHARGED_TIMEOUT], sandbox_faults={"fail_next": 2}, at_once="paid",
        charge_attempts=3),
    "charged, response and every lookup lost": Scenario(
        [Fault.CHARGED_TIMEOUT], [Fault.REFUSED] * ALL_LOOKUPS, at_once="pending_payment"),
    # The gateway charged; the merchant died before recording it.
    "merchant dies after the gateway charged": Scenario([Fault.KILLED_AFTER]),
}


def gateway_over(wire: FaultyTransport) -> SandboxGateway:
    return SandboxGateway(GATEWAY_URL, "sk_test_flow", "whsec_test_flow", transport=wire)


async def pay(shop: Shop, gateway: SandboxGateway, cid: str,
              quote: tuple[str, str]) -> PaymentOutcome:
    return await place_and_pay(shop.db, gateway, conversation_id=cid, quote_id=quote[0],
                               quote_hash=quote[1], settings=shop.settings, policy=FAST)


async def stock(shop: Shop) -> int:
    async with shop.db.session() as session:
        value = await session.scalar(select(Product.stock).where(Product.sku == "TEA-SENCHA"))
        assert value is not None
        return value


@pytest.mark.parametrize("name", SCENARIOS)
async def test_charge_fault_then_reconcile_charges_at_most_once(shop: Shop, name: str) -> None:
    scenario = SCENARIOS[name]
    assert shop.merchant_wire is not None
    wire = FaultyTransport(shop.merchant_wire, charge_faults=list(scenario.charge_faults),
                           lookup_faults=list(scenario.lookup_faults))
    gateway = gateway_over(wire)
    cid = await shop.ready_conversation(card=GOOD_CARD)  # 2 x Sencha, 3,000 yen with shipping
    quote = await shop.quote(cid)
    if scenario.sandbox_faults:
        await shop.faults(**scenario.sandbox_faults)

    if scenario.at_once is None:
        with pytest.raises(ProcessKilled):
            await pay(shop, gateway, cid, quote)
    else:
        first = await pay(shop, gateway, cid, quote)
        assert first.order_status == scenario.at_once, first
    # One idempotency key for every attempt at this quote, and no more attempts than allowed.
    assert wire.charge_keys == [f"chatpay:{quote[0]}:pay"] * scenario.charge_attempts
    assert wire.charge_faults == [] and wire.lookup_faults == []  # every fault was played

    # The shopper clicks confirm again before anything is settled: no second charge attempt.
    again = await pay(shop, gateway, cid, quote)
    assert not again.created and len(wire.charge_keys) == scenario.charge_attempts

    report = await reconcile(shop.db, gateway, older_than=NOW)
    assert report.still_pending == 0
    last = await pay(shop, gateway, cid, quote)  # ... and once more after reconcile
    assert (last.order_status, last.created) == (scenario.settled, False)
    assert len(wire.charge_keys) == scenario.charge_attempts

    await assert_money_consistent(shop.db, await shop.ledger())
    assert await stock(shop) == (48 if scenario.settled == "paid" else 50)
    assert (await reconcile(shop.db, gateway, older_than=NOW)).checked == 0

    if scenario.settled == "failed":
        # Nothing was charged, so the shopper can still buy: a new card, a new quote, one charge.
        await shop.use_card(cid, GOOD_CARD)
        retry = await pay(shop, gateway, cid, await shop.quote(cid))
        assert retry.order_status == "paid" and retry.order_id != last.order_id
        await assert_money_consistent(shop.db, await shop.ledger())
        assert len([c for c in await shop.ledger() if c["status"] == "approved"]) == 1


async def test_unreachable_gateway_on_a_real_socket_charges_nothing(shop: Shop) -> None:
    """Connection refused by the operating system (nothing listens): retried, then failed."""
    gateway = SandboxGateway(f"http://127.0.0.1:{free_port()}", "sk_test_flow", "whsec_test_flow",
                             timeout=httpx.Timeout(2.0, connect=1.0))
    cid = await shop.ready_conversation(card=GOOD_CARD)
    quote = await shop.quote(cid)
    outcome = await pay(shop, gateway, cid, quote)
    await gateway.aclose()
    assert (outcome.order_status, outcome.reason_code) == ("failed", "gateway_unreachable")
    assert await shop.ledger() == []
    await assert_money_consistent(shop.db, await shop.ledger())
    assert await stock(shop) == 50


async def test_double_click_on_confirm_through_the_api_charges_once(chat_factory: Any  # noqa: F811
                                                                    ) -> None:
    """Two confirm clicks arrive together while the gateway is slow: one charge, two answers."""
    from agent.testing import FailingModel

    chat: Chat = chat_factory(FailingModel())  # widget actions never call the model
    await chat.start()
    await chat.do(type="add_to_cart", sku="TEA-SENCHA", quantity=2)
    await chat.do(type="submit_address", fields=ADDRESS)
    await chat.do(type="choose_payment_method", method="card")
    confirm = widget(await chat.pay_with_card(GOOD_CARD), "confirm")
    await chat.shop.faults(latency_ms=200)  # both clicks reach the server during the charge
    click = {"type": "confirm", "quote_id": confirm["quote_id"],
             "quote_hash": confirm["quote_hash"]}
    first, second = await asyncio.gather(chat.do(**click), chat.do(**click))

    # One click placed the order; the other found it and reports where it stands.
    answers = [texts(first), texts(second)]
    assert any("payment of ¥3,000 is complete" in a for a in answers), answers
    assert all("payment of ¥3,000 is complete" in a or a == say("payment_pending", "en")
               for a in answers), answers
    assert len(chat.shop.gateway.charge_keys) == 1
    ledger = await chat.shop.ledger()
    assert [(c["status"], c["amount"]) for c in ledger] == [("approved", 3000)]
    await assert_money_consistent(chat.shop.db, ledger)
    # A replay of the same click later shows the receipt again and charges nothing.
    replay = await chat.do(**click)
    assert widget(replay, "receipt")["status"] == "paid"
    assert len(chat.shop.gateway.charge_keys) == 1
    async with chat.shop.db.session() as session:
        assert len((await session.scalars(select(Payment))).all()) == 1


async def test_real_read_timeout_while_the_gateway_is_slow(shop: Shop) -> None:
    """Over a real socket: the gateway takes longer than the merchant waits, so the merchant sees
    `httpx.ReadTimeout`, its lookups find nothing yet, and the gateway charges afterwards. An early
    reconcile leaves the young payment alone; once the charge has landed, reconcile settles it."""
    settings = SandboxSettings(public_url="http://127.0.0.1:1", api_key="sk_slow",
                               webhook_secret="whsec_slow", webhook_url="")
    async with serve_in_process(create_sandbox_app(settings)) as url, \
            httpx.AsyncClient(base_url=url, headers={"Authorization": "Bearer sk_slow"}) as sandbox:
        merchant_side = SandboxGateway(url, "sk_slow", "whsec_slow",
                                       timeout=httpx.Timeout(0.3, connect=2.0))
        gateway = CountingGateway(merchant_side)
        cid = await shop.ready_conversation()
        card = await tokenize_card(sandbox, number=GOOD_CARD, exp_month=12, exp_year=2031,
                                   cvc="123", name="TARO YAMADA")
        async with shop.db.session() as session:
            await accept_card_token(session, gateway, cid, card.token)
            await session.commit()
        quote = await shop.quote(cid)
        (await sandbox.post("/sandbox/faults", json={"latency_ms": 1000})).raise_for_status()

        async def ledger() -> list[dict[str, Any]]:
            data: list[dict[str, Any]] = (await sandbox.get("/sandbox/charges")).json()["data"]
            return data

        outcome = await place_and_pay(shop.db, gateway, conversation_id=cid, quote_id=quote[0],
                                      quote_hash=quote[1], settings=shop.settings, policy=FAST)
        assert outcome.order_status == "pending_payment"  # timed out, and not found (yet)
        assert await ledger() == []
        early = await reconcile(shop.db, gateway, older_than=timedelta(seconds=30))
        assert early.checked == 0  # still inside the in-flight window: not declared unpaid

        async def landed() -> bool:
            return bool(await ledger())

        await wait_until("the slow charge to land", landed)
        await sandbox.post("/sandbox/faults", json={})  # back to normal speed
        report = await reconcile(shop.db, gateway, older_than=NOW)
        assert report.settled == {"approved": 1}
        again = await place_and_pay(shop.db, gateway, conversation_id=cid, quote_id=quote[0],
                                    quote_hash=quote[1], settings=shop.settings, policy=FAST)
        assert (again.order_status, again.created) == ("paid", False)
        assert gateway.charge_keys == [f"chatpay:{quote[0]}:pay"]
        await assert_money_consistent(shop.db, await ledger())
        await merchant_side.aclose()
