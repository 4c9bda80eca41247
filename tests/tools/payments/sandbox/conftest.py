"""Fixtures for the sandbox gateway: one in-process app per test, a manual clock, captured webhooks.

Every client here records the bodies it receives, and an autouse guard fails any test after which a
response body or a log record (captured at DEBUG) contains a full test card number.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from tools.payments.gateway import TokenInfo
from tools.payments.sandbox import (
    ManualClock,
    SandboxGateway,
    SandboxSettings,
    create_app,
    tokenize_card,
)
from tools.payments.sandbox.cards import TEST_CARDS
from tools.payments.sandbox.records import OutboundEvent

BASE_URL = "http://127.0.0.1:8001"
MERCHANT_ORIGIN = "http://127.0.0.1:8000"
API_KEY = "sk_test_sandbox"
WEBHOOK_SECRET = "whsec_test_sandbox"
# Luhn-valid but not a test card: the sandbox declines it as unknown_card.
UNKNOWN_CARD = "4000000000000010"
WATCHED_NUMBERS = [*TEST_CARDS, UNKNOWN_CARD]


class Transcript:
    """Every response body the test's clients received, for the no-card-number guard."""

    def __init__(self) -> None:
        self.bodies: list[str] = []


class RecordingTransport(httpx.AsyncBaseTransport):
    """An in-process transport to the app that keeps a copy of every response body."""

    def __init__(self, app: FastAPI, transcript: Transcript) -> None:
        self._inner = httpx.ASGITransport(app=app)
        self._transcript = transcript

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self._inner.handle_async_request(request)
        body = await response.aread()
        self._transcript.bodies.append(body.decode(errors="replace"))
        return httpx.Response(response.status_code, headers=response.headers, content=body)


def leaked_numbers(text: str) -> list[str]:
    """The watched card numbers found in `text`, spaced or not."""
    compact = text.replace(" ", "").replace("-", "")
    return [number for number in WATCHED_NUMBERS if number in compact]


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(datetime(2030, 1, 15, 3, 0, tzinfo=UTC))


@pytest.fixture
def settings() -> SandboxSettings:
    return SandboxSettings(
        public_url=BASE_URL,
        api_key=API_KEY,
        webhook_secret=WEBHOOK_SECRET,
        allowed_origins=[MERCHANT_ORIGIN, "http://localhost:8000"],
        webhook_url="http://merchant.test/api/webhooks/gateway",
    )


@pytest.fixture
def sent_webhooks() -> list[OutboundEvent]:
    return []


@pytest.fixture
def sleeps() -> list[float]:
    return []


@pytest.fixture
def app(
    settings: SandboxSettings,
    clock: ManualClock,
    sent_webhooks: list[OutboundEvent],
    sleeps: list[float],
) -> FastAPI:
    async def capture(outbound: OutboundEvent) -> None:
        sent_webhooks.append(outbound)

    async def no_wait(seconds: float) -> None:
        sleeps.append(seconds)

    return create_app(settings, clock=clock, send_webhook=capture, sleep=no_wait)


@pytest.fixture
def transcript() -> Transcript:
    return Transcript()


@pytest.fixture(autouse=True)
def no_card_number_anywhere(
    caplog: pytest.LogCaptureFixture, transcript: Transcript
) -> Iterator[None]:
    caplog.set_level(logging.DEBUG)
    yield
    # At teardown `caplog.records` is the teardown phase only; the test's own records are "call".
    for record in [*caplog.get_records("setup"), *caplog.get_records("call")]:
        text = logging.Formatter().format(record)  # message plus any traceback
        assert not leaked_numbers(text), f"card number in log record: {record.name}"
    for body in transcript.bodies:
        assert not leaked_numbers(body), "card number in a response body"


def _client(app: FastAPI, transcript: Transcript, **kwargs: Any) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        transport=RecordingTransport(app, transcript), base_url=BASE_URL, **kwargs
    )


@pytest.fixture
async def browser(app: FastAPI, transcript: Transcript) -> AsyncIterator[httpx.AsyncClient]:
    """The shopper's side: no API key."""
    async with _client(app, transcript) as client:
        yield client


@pytest.fixture
async def merchant(app: FastAPI, transcript: Transcript) -> AsyncIterator[httpx.AsyncClient]:
    """Raw merchant-server HTTP access with the API key."""
    async with _client(app, transcript, headers={"Authorization": f"Bearer {API_KEY}"}) as client:
        yield client


@pytest.fixture
async def gateway(
    app: FastAPI, clock: ManualClock, transcript: Transcript
) -> AsyncIterator[SandboxGateway]:
    async with SandboxGateway(
        BASE_URL,
        API_KEY,
        WEBHOOK_SECRET,
        clock=clock,
        transport=RecordingTransport(app, transcript),
    ) as gw:
        yield gw


class Shopper:
    """Enters cards at the gateway the way the hosted form does."""

    def __init__(self, browser: httpx.AsyncClient) -> None:
        self.browser = browser

    async def token(
        self,
        number: str = "4242424242424242",
        *,
        cvc: str | None = None,
        exp_month: int = 12,
        exp_year: int = 2032,
    ) -> TokenInfo:
        cvc = cvc or ("1234" if number.startswith(("34", "37")) else "123")
        return await tokenize_card(
            self.browser,
            number=number,
            exp_month=exp_month,
            exp_year=exp_year,
            cvc=cvc,
            name="Hanako Yamada",
        )


@pytest.fixture
def shopper(browser: httpx.AsyncClient) -> Shopper:
    return Shopper(browser)
