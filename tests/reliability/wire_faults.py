"""Faults on the wire between the merchant and the payment gateway, injected on cue.

This module only houses `FaultyTransport`, an httpx transport wrapped around the real one (the
sandbox gateway's ASGI app or a socket), and the `Fault`s it can play. Each fault says where in a
card charge things go wrong, which decides whether the gateway charged:

- before the request reaches the gateway: `REFUSED` (connection refused), `KILLED_BEFORE`;
- during, with nothing charged: `BAD_GATEWAY` (a proxy's 502), `TIMEOUT_UNSENT` (a timeout, and the
  gateway never saw the request - the merchant cannot tell this from the next one);
- after the gateway charged: `CHARGED_TIMEOUT` (the response is lost), `CHARGED_BAD_GATEWAY`,
  `KILLED_AFTER` (the merchant process dies before it reads the answer, so before recording it).

`ProcessKilled` is a BaseException so that no `except Exception` in the code under test can treat a
dead process as an error it may handle.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from enum import StrEnum

import httpx


class ProcessKilled(BaseException):
    """The merchant process died in the middle of a request."""


class Fault(StrEnum):
    REFUSED = "refused"
    KILLED_BEFORE = "killed_before"
    BAD_GATEWAY = "bad_gateway"
    TIMEOUT_UNSENT = "timeout_unsent"
    CHARGED_TIMEOUT = "charged_timeout"
    CHARGED_BAD_GATEWAY = "charged_bad_gateway"
    KILLED_AFTER = "killed_after"



def _is_charge(request: httpx.Request) -> bool:
    return request.method == "POST" and request.url.path == "/v1/charges"


def _is_lookup(request: httpx.Request) -> bool:
    return request.method == "GET" and request.url.path == "/v1/charges"


@dataclass
class FaultyTransport(httpx.AsyncBaseTransport):
    """Plays `charge_faults` on successive charge requests and `lookup_faults` on lookups (`None`
    lets that one request through); other requests, and all once a list is spent, pass untouched.

    `on_charged` runs once the gateway has answered a charge request, before the answer (or the
    fault) reaches the merchant: a test takes the database down there ("the gateway charged, then
    the merchant lost its database before recording it").
    """

    inner: httpx.AsyncBaseTransport
    charge_faults: list[Fault | None] = field(default_factory=list)
    lookup_faults: list[Fault | None] = field(default_factory=list)
    on_charged: Callable[[], Awaitable[None]] | None = None
    charge_keys: list[str] = field(default_factory=list)  # idempotency key of every charge attempt
    charges_delivered: int = 0  # charge requests the gateway received

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        faults: list[Fault | None] = (self.charge_faults if _is_charge(request)
                                      else self.lookup_faults if _is_lookup(request) else [])
        if _is_charge(request):
            self.charge_keys.append(json.loads(request.content)["idempotency_key"])
        fault = faults.pop(0) if faults else None
        if fault is Fault.REFUSED:
            raise httpx.ConnectError("[Errno 111] Connection refused", request=request)
        if fault is Fault.KILLED_BEFORE:
            raise ProcessKilled
        if fault is Fault.BAD_GATEWAY:
            return httpx.Response(502, text="<html>502 Bad Gateway</html>", request=request)
        if fault is Fault.TIMEOUT_UNSENT:
            raise httpx.ReadTimeout("The read operation timed out", request=request)
        response = await self.inner.handle_async_request(request)
        body = await response.aread()  # the gateway has finished with the request here
        if _is_charge(request):
            self.charges_delivered += 1
            if self.on_charged is not None:
                await self.on_charged()
        if fault is None:
            return httpx.Response(response.status_code, headers=response.headers, content=body,
                                  request=request)
        if fault is Fault.CHARGED_TIMEOUT:
            raise httpx.ReadTimeout("The read operation timed out", request=request)
        if fault is Fault.CHARGED_BAD_GATEWAY:
            return httpx.Response(502, text="<html>502 Bad Gateway</html>", request=request)
        raise ProcessKilled  # KILLED_AFTER

    async def aclose(self) -> None:
        await self.inner.aclose()
