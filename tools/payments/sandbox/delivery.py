"""Delivering the sandbox's signed events to the merchant's webhook endpoint.

This module only houses the sending side: one `WebhookSender` attempt (the default POSTs with httpx;
tests inject a function that captures events in-process) and `dispatch`, which retries a few times,
records each outcome on the event, and never raises: a merchant that is down must not break the
sandbox, and the event stays listed under `GET /sandbox/webhooks` for a replay.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence

import httpx

from tools.payments.sandbox.records import OutboundEvent

log = logging.getLogger("chatpay.payments.sandbox.webhooks")

WebhookSender = Callable[[OutboundEvent], Awaitable[None]]
"""One delivery attempt; raises on any failure (network error or non-2xx answer)."""

Sleep = Callable[[float], Awaitable[None]]


class WebhookDeliveryError(Exception):
    """The merchant answered, but not with a 2xx."""


class HttpWebhookSender:
    """POST the event's exact signed bytes to its URL with a short timeout."""

    def __init__(
        self, *, timeout_s: float = 5.0, transport: httpx.AsyncBaseTransport | None = None
    ) -> None:
        self._timeout = httpx.Timeout(timeout_s)
        self._transport = transport  # e.g. httpx.ASGITransport(merchant_app) for in-process runs

    async def __call__(self, outbound: OutboundEvent) -> None:
        if outbound.url is None:
            return
        async with httpx.AsyncClient(timeout=self._timeout, transport=self._transport) as client:
            response = await client.post(
                outbound.url, content=outbound.body, headers=outbound.headers
            )
        if not response.is_success:
            raise WebhookDeliveryError(f"merchant answered HTTP {response.status_code}")


async def dispatch(
    outbound: OutboundEvent,
    send: WebhookSender,
    *,
    attempts: int,
    sleep: Sleep = asyncio.sleep,
    backoff_s: Sequence[float] = (0.5, 2.0, 5.0),
) -> None:
    """Deliver with bounded retries; the outcome is recorded on `outbound`, never raised."""
    if outbound.url is None:
        return
    for attempt in range(attempts):
        if attempt:
            await sleep(backoff_s[min(attempt - 1, len(backoff_s) - 1)])
        outbound.attempts += 1
        try:
            await send(outbound)
        except Exception as exc:  # noqa: BLE001 - any failure is recorded; the sandbox must go on
            # Only the exception type and message: the body is signed event data, never card data,
            # but request bodies of payment endpoints are not logged on principle.
            outbound.last_error = f"{type(exc).__name__}: {exc}"[:300]
            log.warning(
                "webhook %s (%s) attempt %d failed: %s",
                outbound.event.id,
                outbound.event.type,
                outbound.attempts,
                outbound.last_error,
            )
            continue
        outbound.delivered, outbound.last_error = True, None
        log.info("webhook %s (%s) delivered", outbound.event.id, outbound.event.type)
        return
