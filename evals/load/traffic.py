"""Every HTTP request of a load run, timed and recorded as it is sent.

This module only houses `Traffic` (the client side of the run: one httpx client, an
`Idempotency-Key` on every POST of a message or an action, honouring `409 request_in_progress`) and
`RequestRecord`, what the checks and the report are computed from. A record keeps a digest of a
successful answer's JSON, never the body: a replayed answer must say exactly what the original
said, and that is all the checks need to know.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import time
import uuid
from dataclasses import dataclass, field
from typing import Any, Literal

import httpx

Kind = Literal["start", "message", "action", "confirm", "token"]
TURN_KINDS: tuple[Kind, ...] = ("message", "action", "confirm")  # a turn: one POST messages/actions
IN_PROGRESS = "request_in_progress"
MAX_IN_PROGRESS_WAITS = 20
MAX_RETRY_AFTER_S = 5.0


@dataclass
class RequestRecord:
    kind: Kind
    conversation_id: str
    status: int  # 0: no HTTP answer (connection error, timeout)
    latency_ms: float
    key: str | None = None  # the Idempotency-Key sent
    resent: bool = False  # this attempt reused a key already sent
    replayed: bool = False  # answered with `Idempotent-Replayed: true`
    error_code: str | None = None  # `error.code` of a 4xx/5xx, or the exception's name
    retry_after: str | None = None
    body_digest: str | None = None  # sha256 of a 200's body

    @property
    def expected(self) -> bool:
        """Success, or the documented answer to a key that is still being worked on."""
        if 200 <= self.status < 300:
            return True
        return self.status == 409 and self.error_code == IN_PROGRESS


@dataclass
class Traffic:
    """The run's HTTP client and the record of every request it made."""

    client: httpx.AsyncClient
    records: list[RequestRecord] = field(default_factory=list)

    async def start(self, base_url: str, locale: str) -> tuple[str, str, list[dict[str, Any]]]:
        """Open a conversation; (id, token, events)."""
        response, _ = await self._send("start", "", f"{base_url}/api/conversations",
                                       {"locale": locale}, {})
        if response is None or response.status_code != 201:
            raise ShopperStopped(f"start: {_describe(response)}")
        body = response.json()
        return str(body["id"]), str(body["token"]), list(body["events"])

    async def tokenize(self, url: str, card: dict[str, Any]) -> str:
        """A card token from the gateway, posted as the card frame or the terminal chat does."""
        response, _ = await self._send("token", "", url, card, {})
        if response is None or response.status_code != 201:
            raise ShopperStopped(f"tokenize: {_describe(response)}")
        return str(response.json()["token"])

    async def post(self, kind: Kind, conversation_id: str, url: str, body: dict[str, Any],
                   token: str, *, key: str | None = None,
                   resent: bool = False) -> httpx.Response | None:
        """POST a message or an action under `key` (a fresh one unless given; a retry reuses it).

        A `409 request_in_progress` is answered by waiting its Retry-After and sending the same
        key again, as a well-behaved client does; the answer returned is the last one.
        """
        key = key or new_key()
        headers = {"Authorization": f"Bearer {token}", "Idempotency-Key": key}
        for _ in range(MAX_IN_PROGRESS_WAITS):
            response, record = await self._send(kind, conversation_id, url, body, headers,
                                                key=key, resent=resent)
            if record.error_code != IN_PROGRESS:
                return response
            await asyncio.sleep(_retry_after_s(record.retry_after))
            resent = True
        return response

    async def _send(self, kind: Kind, conversation_id: str, url: str, body: dict[str, Any],
                    headers: dict[str, str], *, key: str | None = None,
                    resent: bool = False) -> tuple[httpx.Response | None, RequestRecord]:
        started = time.perf_counter()
        try:
            response = await self.client.post(url, json=body, headers=headers)
        except httpx.HTTPError as exc:
            record = RequestRecord(kind, conversation_id, 0, _ms_since(started), key, resent,
                                   error_code=type(exc).__name__)
            self.records.append(record)
            return None, record
        record = RequestRecord(
            kind, conversation_id, response.status_code, _ms_since(started), key, resent,
            replayed=response.headers.get("idempotent-replayed", "").lower() == "true",
            retry_after=response.headers.get("retry-after"))
        if response.status_code == 200:
            record.body_digest = _digest(response)
        elif response.status_code >= 400:
            record.error_code = _error_code(response)
        self.records.append(record)
        return response, record


def new_key() -> str:
    """A fresh Idempotency-Key: one per first attempt of a request."""
    return str(uuid.uuid4())


class ShopperStopped(Exception):
    """A shopper could not go on (an error answer, or the chat did not go where it should)."""


def _digest(response: httpx.Response) -> str:
    # The JSON with sorted keys: a replay must say the same thing, not serialise it the same way.
    try:
        canonical = json.dumps(response.json(), sort_keys=True, ensure_ascii=False).encode()
    except ValueError:
        canonical = response.content
    return hashlib.sha256(canonical).hexdigest()


def _ms_since(started: float) -> float:
    return (time.perf_counter() - started) * 1000


def _error_code(response: httpx.Response) -> str:
    try:
        return str(response.json()["error"]["code"])
    except (ValueError, KeyError, TypeError):
        return f"http_{response.status_code}"


def _retry_after_s(value: str | None) -> float:
    try:
        return min(max(float(value or 1), 0.05), MAX_RETRY_AFTER_S)
    except ValueError:
        return 1.0


def _describe(response: httpx.Response | None) -> str:
    if response is None:
        return "no answer"
    return f"{response.status_code} {_error_code(response) if response.status_code >= 400 else ''}"
