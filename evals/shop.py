"""The isolated shop one scenario run talks to: its own database, gateway and merchant app.

This module only houses the wiring. Every run gets:

* a fresh SQLite file, copied from a template migrated once per suite (`DatabaseTemplate`), with
  the scenario's catalogue loaded;
* a fresh in-process sandbox gateway (`tools.payments.sandbox`), whose webhooks are delivered to
  this run's merchant app in-process;
* a merchant app from `api.app.create_app`, reached through `httpx.ASGITransport` exactly as a
  browser reaches it, with the run's (recorded) model and prompt directory.

Nothing is shared between runs except the process (and its logging), so runs may go concurrently.
"""

from __future__ import annotations

import shutil
import tempfile
import uuid
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from agent.model import Model
from api.app import create_app
from api.settings import ServiceSettings
from tools.catalog.loader import load_catalog
from tools.catalog.schema import CatalogEntry
from tools.payments.sandbox import SandboxGateway, SandboxSettings
from tools.payments.sandbox import create_app as create_sandbox_app
from tools.payments.sandbox.records import OutboundEvent
from tools.settings import CommerceSettings
from tools.store.db import Database
from tools.store.migrate import upgrade

GATEWAY_URL = "http://127.0.0.1:8001"  # as the card-form widget names it
MERCHANT_URL = "http://127.0.0.1:8000"
WEBHOOK_PATH = "/api/webhooks/gateway"
# Test-mode credentials of the in-process sandbox; they leave no process.
_SANDBOX_KEY = "sk_sandbox_eval"
_SANDBOX_WEBHOOK_SECRET = "whsec_sandbox_eval"  # noqa: S105 - a sandbox test secret


class DatabaseTemplate:
    """A SQLite file migrated once; each run copies it (much faster than migrating per run)."""

    def __init__(self, directory: Path) -> None:
        # Worker processes build their own object over the same folder: copies get unique names.
        self.directory = directory
        self.path = directory / "template.db"

    @classmethod
    @asynccontextmanager
    async def create(cls) -> AsyncIterator[DatabaseTemplate]:
        """A migrated template in a temporary folder, removed with every run's copy at the end."""
        directory = Path(tempfile.mkdtemp(prefix="chatpay-evals-"))
        try:
            template = cls(directory)
            database = Database(f"sqlite+aiosqlite:///{template.path}")
            try:
                await upgrade(database.engine)
            finally:
                await database.dispose()
            yield template
        finally:
            shutil.rmtree(directory, ignore_errors=True)

    def copy(self) -> Path:
        path = self.directory / f"run-{uuid.uuid4().hex}.db"
        shutil.copyfile(self.path, path)
        return path


@dataclass
class Shop:
    """One run's shop: the merchant API as the browser sees it, the gateway, the database."""

    api: httpx.AsyncClient  # the merchant app (base URL MERCHANT_URL)
    gateway: httpx.AsyncClient  # the sandbox with the merchant's key: its test controls
    card_frame: httpx.AsyncClient  # the sandbox as the shopper's browser reaches it (no key)
    database: Database
    database_path: Path
    webhooks: list[OutboundEvent]


@asynccontextmanager
async def open_shop(template: DatabaseTemplate, catalog: Sequence[CatalogEntry], model: Model,
                    prompt_dir: Path | None) -> AsyncIterator[Shop]:
    """A fresh shop for one run; everything is closed and the database file removed after."""
    path = template.copy()
    database = Database(f"sqlite+aiosqlite:///{path}")
    merchant: list[httpx.AsyncBaseTransport] = []  # set below: the sandbox needs it for webhooks
    delivered: list[OutboundEvent] = []
    gateway: SandboxGateway | None = None

    async def deliver_webhook(outbound: OutboundEvent) -> None:
        # One delivery attempt, in-process, to this run's merchant app; a failure is recorded on
        # the event by the sandbox and shows in the transcript and the order's state.
        delivered.append(outbound)
        async with httpx.AsyncClient(transport=merchant[0], base_url=MERCHANT_URL) as client:
            response = await client.post(WEBHOOK_PATH, content=outbound.body,
                                         headers=outbound.headers)
        response.raise_for_status()

    try:
        async with database.session() as session:
            await load_catalog(session, list(catalog))
            await session.commit()
        sandbox_settings = SandboxSettings(
            public_url=GATEWAY_URL, api_key=_SANDBOX_KEY, webhook_secret=_SANDBOX_WEBHOOK_SECRET,
            webhook_url=f"{MERCHANT_URL}{WEBHOOK_PATH}", allowed_origins=[MERCHANT_URL],
            # One attempt: a failed delivery shows in the order's state; retrying would only add
            # the sandbox's back-off sleeps to the suite's wall time.
            webhook_attempts=1)
        sandbox = create_sandbox_app(sandbox_settings, send_webhook=deliver_webhook)
        sandbox_transport = httpx.ASGITransport(app=sandbox)
        gateway = SandboxGateway(GATEWAY_URL, _SANDBOX_KEY, _SANDBOX_WEBHOOK_SECRET,
                                 transport=sandbox_transport)
        app = create_app(database=database, gateway=gateway, model=model, gateway_url=GATEWAY_URL,
                         commerce=CommerceSettings(), prompt_dir=prompt_dir,
                         service=ServiceSettings(public_url=MERCHANT_URL))
        # A crash inside the app becomes the 500 a browser would get (and a failed run), not an
        # exception in the runner.
        merchant.append(httpx.ASGITransport(app=app, raise_app_exceptions=False))
        async with httpx.AsyncClient(transport=merchant[0], base_url=MERCHANT_URL,
                                     timeout=120) as api, \
                httpx.AsyncClient(transport=sandbox_transport, base_url=GATEWAY_URL,
                                  headers={"Authorization": f"Bearer {_SANDBOX_KEY}"}) as controls, \
                httpx.AsyncClient(transport=sandbox_transport, base_url=GATEWAY_URL,
                                  headers={"Origin": MERCHANT_URL}) as card_frame:
            yield Shop(api=api, gateway=controls, card_frame=card_frame, database=database,
                       database_path=path, webhooks=delivered)
    finally:
        if gateway is not None:
            await gateway.aclose()
        await database.dispose()
        for leftover in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
            leftover.unlink(missing_ok=True)
