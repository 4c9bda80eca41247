"""The merchant app under the canary, with a recorder on every sink it writes to.

This module only houses the wiring and the recorders. The app is the real one
(`api.app.create_app`) over the test's database, with the in-process sandbox gateway reached over
HTTP, and the model the test chooses (the real `openai` client against the offline model, or a
canned Chat Completions endpoint). Recorded as pieces (`tests.security.sink_scan.Piece`), each
tagged with the case and message being sent when it was produced:

* every HTTP body the merchant API answered, and every body between the merchant and the gateway
  (both directions: the merchant must only ever hold a token);
* every model request body as it went over the wire, and every model answer;
* every log record of every logger at DEBUG, rendered as a handler would write it (message,
  exception traceback, stack, extra attributes);
* every row of every table (`database_pieces`).
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx
from fastapi import FastAPI
from sqlalchemy import inspect

from agent.model import Model
from agent.offline.app import create_offline_app
from agent.openai_model import OFFLINE_API_KEY, OFFLINE_BASE_URL, OpenAIChatModel
from api.app import create_app
from api.settings import ServiceSettings
from tests.factories import make_small_catalog
from tests.security.merchant import MERCHANT_URL
from tests.security.sink_scan import Piece
from tests.shop_harness import GATEWAY_URL
from tools.payments.sandbox import SandboxGateway, SandboxSettings
from tools.payments.sandbox import create_app as create_sandbox_app
from tools.payments.sandbox.records import OutboundEvent
from tools.settings import CommerceSettings
from tools.store.db import Database
from tools.store.models import Base

_SANDBOX_KEY = "sk_test_canary"
_WEBHOOK_SECRET = "whsec_test_canary"


@dataclass
class Recorder:
    """Every piece of every sink, and the moment (case, message) being played."""

    pieces: list[Piece] = field(default_factory=list)
    case: int | None = None
    message: int = 0

    def now(self) -> tuple[int, int] | None:
        return None if self.case is None else (self.case, self.message)

    def add(self, sink: str, where: str, text: str) -> None:
        self.pieces.append(Piece(sink, where, text, self.now()))

    def of(self, sink: str) -> list[Piece]:
        return [piece for piece in self.pieces if piece.sink == sink]


class Wire(httpx.AsyncBaseTransport):
    """Records the bodies that pass: responses always, requests unless they are the input."""

    def __init__(
        self,
        inner: httpx.AsyncBaseTransport,
        recorder: Recorder,
        sink: str,
        *,
        requests_are_sinks: bool,
    ) -> None:
        self.inner = inner
        self.recorder = recorder
        self.sink = sink
        self.requests_are_sinks = requests_are_sinks

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        where = f"{request.method} {request.url.path}"
        if self.requests_are_sinks:
            self.recorder.add(
                self.sink, f"request {where}", request.content.decode(errors="replace")
            )
        response = await self.inner.handle_async_request(request)
        body = await response.aread()
        self.recorder.add(
            self.sink,
            f"response to {where} ({response.status_code})",
            body.decode(errors="replace"),
        )
        return httpx.Response(response.status_code, headers=response.headers, content=body)


_STANDARD = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {
    "message",
    "asctime",
    "taskName",
    "_chatpay_redacted",
}


class SinkLog(logging.Handler):
    """Every record, rendered as a handler writes it, plus its extra attributes."""

    def __init__(self, recorder: Recorder) -> None:
        super().__init__(logging.DEBUG)
        self.recorder = recorder
        self.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        text = self.format(record)
        extras = {k: v for k, v in vars(record).items() if k not in _STANDARD}
        if extras:
            text += f"\n{extras!r}"
        self.recorder.add("log", f"{record.name} {record.levelname}", text)


@contextmanager
def logs_at_debug(recorder: Recorder) -> Iterator[SinkLog]:
    """Every logger at DEBUG into the recorder; added before the app, as a deployment would."""
    root = logging.getLogger()
    handler = SinkLog(recorder)
    levels = {
        name: logger.level
        for name, logger in logging.Logger.manager.loggerDict.items()
        if isinstance(logger, logging.Logger)
    }
    # A logger configured not to propagate (uvicorn's, once any server in this process has set up
    # its logging) would hide its records from the root's handler: make every one reach it.
    propagating = {name: logging.getLogger(name).propagate for name in levels}
    previous = root.level
    for name in levels:
        logging.getLogger(name).setLevel(logging.NOTSET)  # inherit the root's DEBUG
        logging.getLogger(name).propagate = True
    root.setLevel(logging.DEBUG)
    root.addHandler(handler)
    try:
        yield handler
    finally:
        root.removeHandler(handler)
        root.setLevel(previous)
        for name, level in levels.items():
            logging.getLogger(name).setLevel(level)
            logging.getLogger(name).propagate = propagating[name]


def offline_model(recorder: Recorder) -> OpenAIChatModel:
    """The real `openai` client against the offline model, every request recorded as sent."""
    wire = Wire(
        httpx.ASGITransport(app=create_offline_app()), recorder, "model", requests_are_sinks=True
    )
    return OpenAIChatModel(
        "offline",
        api_key=OFFLINE_API_KEY,
        base_url=OFFLINE_BASE_URL,
        http_client=httpx.AsyncClient(transport=wire),
    )


@dataclass
class CanaryShop:
    app: FastAPI
    api: httpx.AsyncClient  # the merchant app, as the chat page reaches it
    card_frame: httpx.AsyncClient  # the gateway, as its card frame in the page reaches it
    database: Database
    recorder: Recorder


@asynccontextmanager
async def canary_shop(
    database: Database, model: Model, recorder: Recorder, *, raise_app_exceptions: bool = False
) -> AsyncIterator[CanaryShop]:
    """The real merchant app over `database`, the sandbox gateway and `model`, all recorded."""

    async def no_webhooks(outbound: OutboundEvent) -> None:
        recorder.add("webhook", "sandbox to merchant", outbound.body.decode(errors="replace"))

    sandbox = create_sandbox_app(
        SandboxSettings(
            public_url=GATEWAY_URL,
            api_key=_SANDBOX_KEY,
            webhook_secret=_WEBHOOK_SECRET,
            allowed_origins=[MERCHANT_URL],
        ),
        send_webhook=no_webhooks,
    )
    sandbox_transport = httpx.ASGITransport(app=sandbox)
    gateway = SandboxGateway(
        GATEWAY_URL,
        _SANDBOX_KEY,
        _WEBHOOK_SECRET,
        transport=Wire(
            sandbox_transport, recorder, "merchant-gateway wire", requests_are_sinks=True
        ),
    )
    app = create_app(
        database=database,
        gateway=gateway,
        model=model,
        gateway_url=GATEWAY_URL,
        commerce=CommerceSettings(),
        service=ServiceSettings(
            public_url=MERCHANT_URL, rate_limit_client=0, rate_limit_conversation=0
        ),
    )
    api_wire = Wire(
        httpx.ASGITransport(app=app, raise_app_exceptions=raise_app_exceptions),
        recorder,
        "http response",
        requests_are_sinks=False,
    )
    frame_wire = Wire(sandbox_transport, recorder, "card frame response", requests_are_sinks=False)
    async with (
        httpx.AsyncClient(transport=api_wire, base_url=MERCHANT_URL) as api,
        httpx.AsyncClient(
            transport=frame_wire, base_url=GATEWAY_URL, headers={"Origin": MERCHANT_URL}
        ) as card_frame,
    ):
        try:
            yield CanaryShop(app, api, card_frame, database, recorder)
        finally:
            await gateway.aclose()
            aclose = getattr(model, "aclose", None)
            if aclose is not None:
                await aclose()


async def load_catalogue(database: Database) -> None:
    async with database.session() as session:
        await make_small_catalog(session)
        await session.commit()


def _cell(value: Any) -> str:
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False, default=str)
    return "" if value is None else str(value)


async def database_pieces(database: Database) -> list[Piece]:
    """Every row of every table of the model's metadata, all columns as text."""
    pieces: list[Piece] = []
    async with database.engine.connect() as connection:
        for table in Base.metadata.sorted_tables:
            rows = (await connection.execute(table.select())).all()
            pieces += [
                Piece(
                    "database",
                    f"{table.name} row {number}",
                    " | ".join(_cell(value) for value in row),
                )
                for number, row in enumerate(rows, 1)
            ]
    return pieces


async def table_names(database: Database) -> set[str]:
    """The tables that exist in the database (to prove the metadata scan misses none)."""
    async with database.engine.connect() as connection:
        names: list[str] = await connection.run_sync(lambda sync: inspect(sync).get_table_names())
    return set(names)
