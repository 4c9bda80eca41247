"""Issue 7: many shoppers buying at once against `chatpay serve --workers 2` on PostgreSQL.

30 simulated shoppers (card, payment after delivery, convenience store; double clicks on Pay;
requests re-sent under the same Idempotency-Key, after the answer and while the first attempt
runs) go through the real HTTP API of a real server process; then the merchant's database and the
sandbox gateway's ledger must agree: no 5xx, every accepted message stored once, paid orders ==
approved charges for the same sums, no order charged twice, no payment pending. The last tests
tamper with the finished run (a second charge at the gateway, a message stored twice) to prove the
checks see it.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select, text

from evals.load.checks import Check, client_checks, database_checks, fetch_ledger
from evals.load.plans import RECIPES, plan_shoppers, stock_needed
from evals.load.report import LoadReport, format_report, percentile
from evals.load.run import DEFAULT_GATEWAY_API_KEY, FinishedRun, check, drive, report_of
from evals.load.server import LOAD_SERVER_ENV, process_tree_rss_mb
from evals.load.shopper import ShopperOutcome
from evals.load.traffic import RequestRecord
from tests.serve_process import Server, chatpay_serve
from tools.catalog.loader import load_demo_entries
from tools.store.db import Database
from tools.store.models import Base, ConversationEvent, Order

SHOPPERS = 30
CONCURRENCY = 10


@dataclass
class Served:
    server: Server
    database_url: str
    run: FinishedRun
    report: LoadReport


@pytest.fixture(scope="module")
def served(postgres_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """One load run (what `run_load` does, step by step), the server kept up for the tampering."""
    workdir = tmp_path_factory.mktemp("load")
    try:
        with chatpay_serve(workdir, workers=2, database_url=postgres_url,
                           extra_env=LOAD_SERVER_ENV) as server:

            async def run_and_check() -> tuple[FinishedRun, list[Check]]:
                run = await drive(server.url, server.gateway_url, SHOPPERS, CONCURRENCY,
                                  server_pid=server.pid)
                return run, await check(run, server.gateway_url, database_url=postgres_url)

            run, checks = asyncio.run(run_and_check())
            report = report_of(run, shoppers=SHOPPERS, concurrency=CONCURRENCY, checks=checks)
            yield Served(server, postgres_url, run, report)
    finally:
        asyncio.run(_truncate(postgres_url))  # the session's database is shared with other tests


async def _truncate(url: str) -> None:
    database = Database(url)
    tables = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
    async with database.engine.begin() as conn:
        await conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    await database.dispose()


def _failed(checks: list[Check]) -> dict[str, str]:
    return {check.name: check.detail for check in checks if not check.passed}


@pytest.mark.postgres
def test_thirty_shoppers_buy_at_once_and_money_and_messages_agree(served: Served) -> None:
    report = served.report
    shown = format_report(report)
    assert _failed(report.checks) == {}, shown
    assert report.errors == 0, shown
    assert report.purchases_completed == SHOPPERS, shown
    assert set(report.purchases_by_method) == {"card", "after_delivery", "konbini"}, shown
    # The run did exercise what the checks are about: replays, double clicks, every check ran.
    assert report.replayed_answers > 0, shown
    assert any(o.duplicate_confirm for o in served.run.outcomes)
    assert {c.name for c in report.checks} >= {
        "no_5xx", "messages_stored_once", "paid_orders_equal_charged_orders",
        "charged_sum_equals_paid_sum", "no_order_charged_twice", "no_payment_pending"}
    assert report.turns >= SHOPPERS * 6 and report.turns_per_s > 0
    assert set(report.latency_ms) >= {"message", "action", "confirm"}
    assert report.server_rss_mb is not None and report.server_rss_mb > 50  # several processes


@pytest.mark.postgres
async def test_a_second_charge_for_a_paid_order_fails_the_money_checks(served: Served) -> None:
    paid = next(o for o in served.run.outcomes if o.status == "paid")
    gateway = served.server.gateway_url
    key = {"Authorization": f"Bearer {DEFAULT_GATEWAY_API_KEY}"}
    async with httpx.AsyncClient() as client:
        token = (await client.post(f"{gateway}/v1/tokens", json={
            "number": "4242424242424242", "exp_month": 12, "exp_year": 2040, "cvc": "123",
            "name": "X"})).json()["token"]
        charge = await client.post(f"{gateway}/v1/charges", headers=key, json={
            "order_id": paid.order_id, "amount": paid.total_seen, "currency": "JPY",
            "token": token, "idempotency_key": f"tamper-{paid.order_id}"})
        assert charge.status_code == 201, charge.text
        ledger = await fetch_ledger(client, gateway, DEFAULT_GATEWAY_API_KEY)

    failed = _failed(await database_checks(served.run.outcomes, served.run.records,
                                           served.database_url, ledger,
                                           served.run.started_at))

    assert str(paid.order_id) in failed["no_order_charged_twice"]
    assert "charged ¥" in failed["charged_sum_equals_paid_sum"]


@pytest.mark.postgres
async def test_a_message_stored_twice_fails_the_storage_check(served: Served) -> None:
    conversation_id = next(o.conversation_id for o in served.run.outcomes if o.conversation_id)
    database = Database(served.database_url)
    async with database.session() as session:
        last = await session.scalar(select(func.max(ConversationEvent.seq))
                                    .where(ConversationEvent.conversation_id == conversation_id))
        session.add(ConversationEvent(conversation_id=conversation_id, seq=(last or 0) + 1,
                                      kind="message", role="user", text="two sencha please"))
        await session.commit()
    await database.dispose()

    failed = _failed(await database_checks(served.run.outcomes, served.run.records,
                                           served.database_url, [],
                                           served.run.started_at))

    assert conversation_id in failed["messages_stored_once"]


@pytest.mark.postgres
async def test_an_order_stored_with_another_total_than_shown_fails(served: Served) -> None:
    shopper = next(o for o in served.run.outcomes if o.status == "deferred_approved")
    database = Database(served.database_url)
    async with database.session() as session:
        order = await session.get(Order, shopper.order_id)
        assert order is not None
        order.total += 1
        await session.commit()
    await database.dispose()

    failed = _failed(await database_checks(served.run.outcomes, served.run.records,
                                           served.database_url, [],
                                           served.run.started_at))

    assert f"shopper {shopper.index}" in failed["orders_match_what_shoppers_saw"]


# --- no server needed ----------------------------------------------------------------------------


def test_two_hundred_shoppers_fit_the_demo_catalogue_and_mix_every_kind() -> None:
    stock = {entry.sku: entry.stock for entry in load_demo_entries() if entry.active}
    plans = plan_shoppers(260)

    needed = stock_needed(plans)

    assert {sku: (n, stock.get(sku, 0)) for sku, n in needed.items() if n > stock.get(sku, 0)} == {}
    first = plans[:SHOPPERS]  # what the CI run above sends
    assert {p.method for p in first} == {"card", "after_delivery", "konbini"}
    assert {p.retry for p in first} >= {"message_after", "message_during", "action_after",
                                        "action_during"}
    assert any(p.duplicate_confirm for p in first)
    assert {r.locale for r in RECIPES} == {"en", "ja"}


def _record(kind: str, status: int, key: str, *, resent: bool = False, replayed: bool = False,
            digest: str = "a", error_code: str | None = None) -> RequestRecord:
    return RequestRecord(kind, "c1", status, 10.0, key, resent, replayed,  # type: ignore[arg-type]
                         error_code=error_code, body_digest=digest if status == 200 else None)


def test_a_retry_that_ran_twice_or_a_5xx_fails_the_client_checks() -> None:
    outcome = ShopperOutcome(index=0, method="card", duplicate_confirm=True, completed=True,
                             status="paid", order_id="o1", confirm_order_ids=["o1", "o2", "o1"])
    records = [
        _record("message", 200, "k1"), _record("message", 200, "k1", resent=True),  # ran twice
        _record("action", 200, "k2"), _record("action", 200, "k2", resent=True, replayed=True,
                                              digest="b"),  # a replay that says otherwise
        _record("confirm", 500, "k3", error_code="internal_error"),
    ]

    failed = _failed(client_checks([outcome], records))

    assert set(failed) == {"no_5xx", "retries_replayed", "duplicate_confirms_name_one_order"}
    assert "2 answered as new" in failed["retries_replayed"]
    assert "1 replayed, 2 distinct bodies" in failed["retries_replayed"]


def test_honest_retries_pass_the_client_checks() -> None:
    outcome = ShopperOutcome(index=0, method="card", duplicate_confirm=True, completed=True,
                             status="paid", order_id="o1", confirm_order_ids=["o1", None, "o1"])
    records = [
        _record("message", 200, "k1"),
        _record("message", 409, "k1", resent=True, error_code="request_in_progress"),
        _record("message", 200, "k1", resent=True, replayed=True),
    ]
    records[1].retry_after = "1"

    assert _failed(client_checks([outcome], records)) == {}


def test_percentiles_are_measured_values_and_rss_covers_the_process_tree() -> None:
    assert percentile([5.0, 1.0, 3.0, 2.0, 4.0], 0.5) == 3.0
    assert percentile([float(n) for n in range(1, 101)], 0.99) == 99.0
    assert percentile([7.0], 0.99) == 7.0
    own = process_tree_rss_mb(os.getpid())
    assert own is not None and own > 10
    assert process_tree_rss_mb(2**22 + 12345, proc=Path("/proc")) is None
