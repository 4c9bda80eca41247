"""A merchant server killed (SIGKILL) while a card charge is in flight, then restarted.

Both parts are real processes on loopback ports: the sandbox gateway (`probed_gateway`) and the
merchant app started by the shipped `chatpay serve` command (offline model, HTTP gateway client,
the test's database). The shopper drives the chat over HTTP to the confirm click; the gateway is
made slow with its latency fault; the merchant is killed once the gateway holds the charge request.
After a restart on the same database and `chatpay payments reconcile`: one charge at the gateway,
the order paid, no payment pending, and the shopper's transcript shows the purchase.
"""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from agent.texts import say
from api.cli import app as cli
from tests.api.conftest import ADDRESS
from tests.chat_client import ChatClient
from tests.factories import make_small_catalog
from tests.reliability.money_invariants import assert_money_consistent
from tests.reliability.probed_gateway import PROBE_PATH
from tests.reliability.servers import ServerProcess, free_port, wait_until
from tools.payments.charging import PaymentStatus, reconcile
from tools.payments.sandbox import SandboxGateway, tokenize_card
from tools.store.db import Database
from tools.store.models import Order, Payment

API_KEY = "sk_sandbox_killtest"
WEBHOOK_SECRET = "whsec_killtest"
GOOD_CARD = "4242424242424242"
GATEWAY_LATENCY_MS = 1500


def gateway_env(gateway_url: str, merchant_url: str) -> dict[str, str]:
    return {"CHATPAY_SANDBOX_PUBLIC_URL": gateway_url, "CHATPAY_SANDBOX_API_KEY": API_KEY,
            "CHATPAY_SANDBOX_WEBHOOK_SECRET": WEBHOOK_SECRET, "CHATPAY_SANDBOX_WEBHOOK_URL": "",
            "CHATPAY_SANDBOX_ALLOWED_ORIGINS": merchant_url}


def merchant_env(db: Database, port: int, gateway_url: str) -> dict[str, str]:
    merchant_url = f"http://127.0.0.1:{port}"
    return {**gateway_env(gateway_url, merchant_url), "CHATPAY_DATABASE_URL": db.url,
            "CHATPAY_HOST": "127.0.0.1", "CHATPAY_PORT": str(port),
            "CHATPAY_PUBLIC_URL": merchant_url, "CHATPAY_GATEWAY": "sandbox",
            "CHATPAY_SERVE_SANDBOX": "false", "CHATPAY_MODEL": "offline",
            "CHATPAY_LOG_LEVEL": "WARNING"}


class Processes:
    """The servers a test started, stopped at the end whatever happened."""

    def __init__(self, log_dir: Path) -> None:
        self.log_dir = log_dir
        self.started: list[ServerProcess] = []

    async def gateway(self, url: str) -> ServerProcess:
        server = await ServerProcess.start(
            "gateway", "tests.reliability.probed_gateway", url=url, ready_path=PROBE_PATH,
            env=gateway_env(url, "http://127.0.0.1:8000"), log_dir=self.log_dir)
        self.started.append(server)
        return server

    async def merchant(self, db: Database, port: int, gateway_url: str) -> ServerProcess:
        server = await ServerProcess.start(
            "merchant", "api.cli", "serve", url=f"http://127.0.0.1:{port}", ready_path="/readyz",
            env=merchant_env(db, port, gateway_url), log_dir=self.log_dir)
        self.started.append(server)
        return server


@pytest.fixture
async def sqlite_db(sqlite_template: Path, tmp_path: Path) -> AsyncIterator[Database]:
    """A migrated SQLite file: the single-machine deployment a killed process restarts on."""
    path = tmp_path / "merchant.db"
    shutil.copyfile(sqlite_template, path)
    database = Database(f"sqlite+aiosqlite:///{path}")
    yield database
    await database.dispose()


@pytest.fixture
async def processes(tmp_path: Path) -> AsyncIterator[Processes]:
    started = Processes(tmp_path)
    try:
        yield started
    finally:
        for server in started.started:
            await server.stop()


@dataclass
class Shopper(ChatClient):
    """A shopper's browser: the merchant's chat API and the gateway's card form."""

    gateway: httpx.AsyncClient = field(kw_only=True)

    async def transcript(self) -> dict[str, Any]:
        response = await self.client.get(f"/api/conversations/{self.id}", headers=self.auth)
        assert response.status_code == 200, response.text
        view: dict[str, Any] = response.json()
        return view

    async def ready_to_confirm(self) -> dict[str, Any]:
        """Cart, address, card: the confirmation widget the shopper is about to press."""
        await self.start()
        await self.do(type="add_to_cart", sku="TEA-SENCHA", quantity=2)
        await self.do(type="submit_address", fields=ADDRESS)
        await self.do(type="choose_payment_method", method="card")
        card = await tokenize_card(self.gateway, number=GOOD_CARD, exp_month=12, exp_year=2031,
                                   cvc="123", name="TARO YAMADA")
        events = await self.do(type="card_token", token=card.token)
        confirm = widgets_of(events, "confirm")
        assert confirm, events
        return {"type": "confirm", "quote_id": confirm[-1]["quote_id"],
                "quote_hash": confirm[-1]["quote_hash"]}


def widgets_of(events: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [e["widget"] for e in events if e["type"] == "widget" and e["widget"]["kind"] == kind]


async def payments(db: Database) -> list[tuple[str, str]]:
    async with db.session() as session:
        rows = (await session.execute(select(Payment.status, Order.status)
                                      .join(Order, Order.id == Payment.order_id))).all()
        return [(p, o) for p, o in rows]


async def run_reconcile_command(db: Database, monkeypatch: pytest.MonkeyPatch,
                                gateway_url: str) -> tuple[int, str]:
    """`chatpay payments reconcile --older-than 0`, as an operator runs it after the crash (the
    real command, settings from the environment; in a thread because it runs its own loop)."""
    for name, value in gateway_env(gateway_url, "").items():
        monkeypatch.setenv(name, value)
    result = await asyncio.to_thread(
        CliRunner().invoke, cli, ["payments", "reconcile", "--older-than", "0", "--url", db.url])
    return result.exit_code, result.output


async def test_merchant_killed_during_the_charge_is_settled_by_reconcile(
        sqlite_db: Database, processes: Processes, monkeypatch: pytest.MonkeyPatch) -> None:
    db = sqlite_db
    async with db.session() as session:
        await make_small_catalog(session)
        await session.commit()
    port, gateway_port = free_port(), free_port()
    gateway_url = f"http://127.0.0.1:{gateway_port}"
    gateway, merchant = await asyncio.gather(processes.gateway(gateway_url),
                                             processes.merchant(db, port, gateway_url))
    async with httpx.AsyncClient(base_url=gateway.url, timeout=10.0,
                                 headers={"Authorization": f"Bearer {API_KEY}"}) as sandbox, \
            httpx.AsyncClient(base_url=merchant.url, timeout=15.0) as api:
        shopper = Shopper(api, gateway=sandbox)
        click = await shopper.ready_to_confirm()

        async def in_flight() -> bool:
            body = (await sandbox.get(PROBE_PATH)).json()
            return bool(body["charges_in_flight"])

        async def ledger() -> list[dict[str, Any]]:
            data: list[dict[str, Any]] = (await sandbox.get("/sandbox/charges")).json()["data"]
            return data

        (await sandbox.post("/sandbox/faults",
                            json={"latency_ms": GATEWAY_LATENCY_MS})).raise_for_status()
        pressed = asyncio.create_task(shopper.act(**click))
        await wait_until("the charge to reach the gateway", in_flight)
        await merchant.kill()
        with pytest.raises(httpx.TransportError):
            await pressed  # the shopper's browser sees the connection drop
        assert await payments(db) == [(PaymentStatus.PENDING, "pending_payment")]

        merchant = await processes.merchant(db, port, gateway.url)  # same port, same database
        # Back before the gateway has finished: the shopper sees the order waiting, and clicking
        # confirm again calls nobody.
        waiting = await shopper.transcript()
        assert waiting["order"]["status"] == "pending_payment"
        again = await shopper.do(**click)
        assert again[0]["text"] == say("payment_pending", "en")
        # A reconcile that respects the in-flight window leaves the young payment alone.
        client = SandboxGateway(gateway.url, API_KEY, WEBHOOK_SECRET)
        early = await reconcile(db, client, older_than=timedelta(seconds=60))
        await client.aclose()
        assert (early.checked, await payments(db)) == (0, [(PaymentStatus.PENDING,
                                                            "pending_payment")])

        async def landed() -> bool:
            return bool(await ledger())

        await wait_until("the slow charge to land", landed)
        code, output = await run_reconcile_command(db, monkeypatch, gateway.url)
        assert code == 0, output
        assert "settled: 1 approved" in output and "still pending: 0" in output, output

        charges = await ledger()
        assert [(c["status"], c["amount"]) for c in charges] == [("approved", 3000)]
        await assert_money_consistent(db, charges)
        view = await shopper.transcript()
        assert view["order"]["status"] == "paid" and view["order"]["total"] == 3000
        assert view["cart"]["lines"] == [] and view["card"] is None
        # The shopper presses confirm once more: the receipt, and still one charge.
        receipt = widgets_of(await shopper.do(**click), "receipt")
        assert receipt and receipt[0]["status"] == "paid"
        assert len(await ledger()) == 1
        final = await shopper.transcript()
        assert widgets_of(final["transcript"], "receipt")[-1]["order_id"] == view["order"]["id"]

