"""`Idempotency-Key` on the shopper's POSTs: a retried request is answered, never run twice.

A client that lost the answer to a message or an action (a dropped connection, a timeout, a double
click) sends it again with the same key. The first request to claim the key runs; the others get:

- the stored answer, replayed byte for byte with `Idempotent-Replayed: true`, once it is done;
- 409 `request_in_progress` with `Retry-After` while the first is still running;
- 422 `idempotency_key_reused` when the key comes with a different request (a client bug).

A request that fails (a 4xx refusal, the database gone) releases its key, so the retry runs again:
refusals change nothing, so running them twice is harmless. A claim left by a process that died
mid-request goes stale after `STALE_AFTER` and the next retry takes it over (a shopper message the
dead process stored without answering is answered, not stored again: see `ConversationAgent.respond`).
Keys are per conversation: another shopper's key never collides with yours.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from fastapi.responses import JSONResponse, Response, StreamingResponse
from sqlalchemy import delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from agent.redaction import redact
from api.errors import error_body
from api.streaming import SSE_HEADERS, sse
from tools.store.db import Database
from tools.store.models import IdempotentRequest, utcnow

log = logging.getLogger(__name__)

HEADER = "Idempotency-Key"
#: What a key may be: a UUID, a ULID or any short token of safe characters.
KEY_PATTERN = r"^[A-Za-z0-9_\-:.]{1,64}$"
#: Longer than any turn can take (model retries included): older unfinished claims are orphans.
STALE_AFTER = timedelta(seconds=120)
REPLAYED = {"Idempotent-Replayed": "true"}


@dataclass(frozen=True)
class Claim:
    """This request owns the key: run it, then `finish` or `release`."""

    id: int
    key: str


def fingerprint(path: str, body: dict[str, Any]) -> str:
    """What the request asked, independent of key order and whitespace.

    Taken over the redacted body: an unsalted hash of a message holding a card number would be a
    stored derivative of that number (a 16-digit space is small enough to search through).
    """
    canonical = json.dumps(body, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(f"{path}\n{redact(canonical).text}".encode()).hexdigest()


@dataclass(frozen=True)
class Stored:
    """The answer of the request that ran first."""

    status_code: int
    body: dict[str, Any]


async def claim(db: Database, conversation_id: str, key: str,
                print_: str) -> Claim | Stored | Response:
    """Claim `key` for this request, or say what to answer instead.

    Every step is one statement that stands on its own (the unique key decides a race, the
    take-over is a compare-and-set), so none needs a transaction: on PostgreSQL a claim and its
    `finish` cost one round trip each (Database.single_statement).
    """
    async with db.single_statement() as connection:
        try:
            claimed = await connection.scalar(
                insert(IdempotentRequest)
                .values(conversation_id=conversation_id, key=key, fingerprint=print_)
                .returning(IdempotentRequest.id))
        except IntegrityError:  # the key is taken: by the first send, or a concurrent one
            await connection.rollback()
        else:
            assert claimed is not None  # noqa: S101 - RETURNING of an inserted row
            return Claim(id=claimed, key=key)
        found = (await connection.execute(
            select(IdempotentRequest.id, IdempotentRequest.fingerprint,
                   IdempotentRequest.status_code, IdempotentRequest.response,
                   IdempotentRequest.updated_at)
            .where(IdempotentRequest.conversation_id == conversation_id,
                   IdempotentRequest.key == key))).first()
        if found is None:  # released between our insert and our read: the retry may run
            return _in_progress()
        if found.fingerprint != print_:
            return JSONResponse(error_body(
                "idempotency_key_reused",
                "This Idempotency-Key was already used for a different request."), 422)
        if found.status_code is not None and found.response is not None:
            return Stored(found.status_code, found.response)
        if found.updated_at > utcnow() - STALE_AFTER:
            return _in_progress()
        # The process that claimed it died mid-request: take the claim over, exactly once.
        taken = await connection.execute(
            update(IdempotentRequest)
            .where(IdempotentRequest.id == found.id, IdempotentRequest.status_code.is_(None),
                   IdempotentRequest.updated_at == found.updated_at)
            .values(updated_at=utcnow()))
        if getattr(taken, "rowcount", 0) != 1:
            return _in_progress()
        return Claim(id=found.id, key=key)


async def finish(db: Database, held: Claim, status_code: int, body: dict[str, Any]) -> None:
    """Store the answer for retries to replay."""
    async with db.single_statement() as connection:
        await connection.execute(update(IdempotentRequest).where(IdempotentRequest.id == held.id)
                                 .values(status_code=status_code, response=body))


async def release(db: Database, held: Claim) -> None:
    """Forget the claim of a request that failed, so that its retry runs.

    Best effort: when the failure was the database itself, the claim stays until it is stale and
    the retry after that takes it over.
    """
    try:
        async with db.single_statement() as connection:
            await connection.execute(delete(IdempotentRequest).where(
                IdempotentRequest.id == held.id, IdempotentRequest.status_code.is_(None)))
    except Exception:  # noqa: BLE001 - the original failure is what the caller reports
        log.warning("could not release idempotency claim %s", held.id)


def answer(outcome: Stored | Response, *, streaming: bool) -> Response:
    """What a request that did not get the claim answers: the stored answer, or the refusal."""
    if not isinstance(outcome, Stored):
        return outcome
    if streaming and outcome.status_code == 200:
        # A replay has no deltas to send: the final events, as the first stream ended.
        body = [sse("events", outcome.body), sse("done", {})]
        return StreamingResponse(iter(body), media_type="text/event-stream",
                                 headers={**SSE_HEADERS, **REPLAYED})
    return JSONResponse(outcome.body, outcome.status_code, headers=REPLAYED)


def _in_progress() -> Response:
    return JSONResponse(error_body("request_in_progress",
                                   "The first request with this Idempotency-Key is still running; "
                                   "retry shortly."), 409, headers={"Retry-After": "1"})
