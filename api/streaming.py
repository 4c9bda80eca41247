"""The shopper's reply as server-sent events (`Accept: text/event-stream` on messages).

This module only houses the plumbing between a running turn and an SSE response. The stream is:

    event: delta   data: {"step": 1, "text": "Here are "}     (zero or more; text as it is written)
    event: events  data: {"events": [...]}                  (exactly the JSON answer's events)
    event: done    data: {}

or, when the turn fails after the stream began, `event: error` with `{"error": {"code", "message"}}`
in place of `events`. The `events` are authoritative: deltas are a preview a client replaces, and a
later step's deltas replace an earlier step's (a model may write, call a tool, then write again).

Two rules keep nothing lost:
- The response starts only once the shopper's message is stored (`TurnListener.accepted`), so
  every refusal before that (rate limit, database down, bad conversation) is the ordinary 4xx/503
  JSON answer, and a 200 stream always means the message is safe.
- The turn runs in its own task: a shopper who closes the tab mid-reply does not cancel it, so the
  reply is stored and shows up on the next `GET` of the conversation.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator, Callable, Coroutine
from typing import Any

from fastapi.responses import StreamingResponse

from agent.turn import TurnResult
from api.errors import error_body, is_database_outage, unavailable_body
from tools.errors import DomainError

log = logging.getLogger(__name__)

#: Turns still running after their client went away; held so the event loop does not drop them.
_RUNNING: set[asyncio.Task[TurnResult]] = set()

_ACCEPTED = object()
_FINISHED = object()

SSE_HEADERS = {
    "Cache-Control": "no-cache",
    # Reverse proxies (nginx) buffer responses by default, which would hold every delta back.
    "X-Accel-Buffering": "no",
}


def sse(event: str, data: dict[str, Any]) -> str:
    """One server-sent event; JSON data is a single line, so it needs one `data:` field."""
    return f"event: {event}\ndata: {json.dumps(data, ensure_ascii=False, separators=(',', ':'))}\n\n"


class QueueListener:
    """A `TurnListener` that queues what it hears for the response to send."""

    def __init__(self) -> None:
        self.queue: asyncio.Queue[object] = asyncio.Queue()

    async def accepted(self) -> None:
        self.queue.put_nowait(_ACCEPTED)

    async def text(self, step: int, delta: str) -> None:
        self.queue.put_nowait(sse("delta", {"step": step, "text": delta}))


async def stream_turn(run: Callable[[QueueListener], Coroutine[Any, Any, TurnResult]],
                      locale: str) -> StreamingResponse:
    """Start the turn; answer with its SSE stream once the shopper's message is stored.

    A failure before that point is raised here, for the app's error handlers to answer.
    """
    listener = QueueListener()
    task: asyncio.Task[TurnResult] = asyncio.create_task(run(listener))
    _RUNNING.add(task)
    task.add_done_callback(_RUNNING.discard)
    task.add_done_callback(lambda _: listener.queue.put_nowait(_FINISHED))
    first = await listener.queue.get()
    if first is _FINISHED:
        # Done without ever storing the message: a refusal (or a fault) to answer as JSON.
        task.result()  # raises the turn's exception
        raise RuntimeError("turn ended without storing the message")  # pragma: no cover
    return StreamingResponse(_events(task, listener, locale), media_type="text/event-stream",
                             headers=SSE_HEADERS)


async def _events(task: asyncio.Task[TurnResult], listener: QueueListener,
                  locale: str) -> AsyncIterator[str]:
    while True:
        item = await listener.queue.get()
        if item is _FINISHED:
            break
        if isinstance(item, str):
            yield item
    exc = task.exception()
    if exc is None:
        yield sse("events", {"events": task.result().events})
    else:
        yield sse("error", _error_of(exc, locale))
    yield sse("done", {})


def _error_of(exc: BaseException, locale: str) -> dict[str, object]:
    if isinstance(exc, DomainError):
        return {"error": exc.to_dict("ja" if locale == "ja" else "en")}
    if is_database_outage(exc):  # the same rule as the JSON answers' 503 (api.errors)
        return unavailable_body()
    log.error("turn failed mid-stream: %s", type(exc).__name__, exc_info=exc)
    return error_body("internal", "The reply could not be completed; your message is saved.")
