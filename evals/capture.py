"""Capturing what a scenario's system emitted: every model request and every log record.

This module only houses the two recorders the leak check and the token figures read:

* `RecordingModel` wraps the agent's model and keeps each request (messages and tool schemas, as
  sent) with its answer and reported usage. It sits between the agent and the model client, so it
  sees exactly what would go over the wire to a provider.
* `LogCapture` is one handler on the root logger for the whole suite, at DEBUG. Each scenario run
  registers a list; a record goes to the list of the run whose asyncio task emitted it (a context
  variable). Records emitted on other threads (aiosqlite's worker thread logs every statement with
  its parameters) carry no context, so they go to every run active at that moment: a secret found
  there is blamed on the runs that could have produced it, never missed.
"""

from __future__ import annotations

import contextvars
import json
import logging
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from copy import deepcopy
from dataclasses import dataclass, field
from typing import Any

from agent.errors import ModelError
from agent.model import Message, Model, ModelRequestSettings, ModelResponse, ToolSchema
from evals.metrics import count_completion_tokens, count_prompt_tokens


@dataclass
class ModelExchange:
    """One model request as sent, and what came back."""

    messages: list[Message]
    tools: Sequence[ToolSchema]
    step: int | None = None  # the scenario step that caused it (None: not a scripted step)
    content: str | None = None
    tool_calls: list[dict[str, Any]] = field(default_factory=list)
    reported_prompt_tokens: int = 0
    reported_completion_tokens: int = 0
    error: str | None = None

    @property
    def tool_names(self) -> list[str]:
        return [str(call["function"]["name"]) for call in self.tool_calls]

    def request_json(self) -> str:
        """The request as an endpoint would receive it (for the leak check)."""
        return json.dumps({"messages": self.messages, "tools": list(self.tools)},
                          ensure_ascii=False, default=str)

    def answer_json(self) -> str:
        return json.dumps({"content": self.content, "tool_calls": self.tool_calls},
                          ensure_ascii=False, default=str)

    def tokens(self) -> tuple[int, int, bool]:
        """(prompt, completion, counted): reported usage, or an offline count when it is 0."""
        if self.reported_prompt_tokens or self.reported_completion_tokens:
            return self.reported_prompt_tokens, self.reported_completion_tokens, False
        prompt = count_prompt_tokens(self.messages, self.tools)
        completion = (0 if self.error else
                      count_completion_tokens(self.content, self.tool_calls))
        return prompt, completion, True


class RecordingModel:
    """A `Model` that records every request and answer of the model it wraps."""

    def __init__(self, inner: Model, step_of: Callable[[], int | None] = lambda: None) -> None:
        self.inner = inner
        self.name = inner.name
        self.exchanges: list[ModelExchange] = []
        self._step_of = step_of

    async def request(self, messages: Sequence[Message], tools: Sequence[ToolSchema], *,
                      settings: ModelRequestSettings | None = None) -> ModelResponse:
        # A deep copy: the agent may reuse and extend its lists after the call returns.
        exchange = ModelExchange(messages=deepcopy(list(messages)), tools=list(tools),
                                 step=self._step_of())
        self.exchanges.append(exchange)
        try:
            response = await self.inner.request(messages, tools, settings=settings)
        except ModelError as exc:
            exchange.error = type(exc).__name__
            raise
        exchange.content = response.content
        exchange.tool_calls = [call.to_message_part() for call in response.tool_calls]
        exchange.reported_prompt_tokens = response.usage.prompt_tokens
        exchange.reported_completion_tokens = response.usage.completion_tokens
        return response


_run_lines: contextvars.ContextVar[list[str] | None] = contextvars.ContextVar(
    "evals_run_log_lines", default=None)


def render_record(record: logging.LogRecord, formatter: logging.Formatter) -> str:
    """A record as a handler would write it: message, exception, stack and extra attributes."""
    try:
        message = record.getMessage()
    except Exception:  # noqa: BLE001 - a malformed record is still text that could leak
        message = f"{record.msg!r} % {record.args!r}"
    parts = [f"{record.name} {record.levelname} {message}"]
    if record.exc_info:
        parts.append(formatter.formatException(record.exc_info))
    if record.exc_text:
        parts.append(record.exc_text)
    if record.stack_info:
        parts.append(formatter.formatStack(record.stack_info))
    extras = {key: value for key, value in record.__dict__.items() if key not in _STANDARD}
    if extras:
        parts.append(repr(extras))
    return "\n".join(parts)


_STANDARD = frozenset(logging.LogRecord("", 0, "", 0, "", (), None).__dict__) | {
    "message", "asctime", "taskName"}


class LogCapture(logging.Handler):
    """Collects rendered log records per scenario run (see the module docstring)."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self._active: dict[int, list[str]] = {}
        self._active_lock = threading.Lock()
        self._formatter = logging.Formatter()

    def emit(self, record: logging.LogRecord) -> None:
        line = render_record(record, self._formatter)
        own = _run_lines.get()
        if own is not None:
            own.append(line)
            return
        with self._active_lock:
            targets = list(self._active.values())
        for lines in targets:
            lines.append(line)

    @contextmanager
    def installed(self) -> Iterator[LogCapture]:
        """Attach to the root logger at DEBUG for the duration; restore the level after."""
        root = logging.getLogger()
        level = root.level
        root.addHandler(self)
        root.setLevel(logging.DEBUG)
        try:
            yield self
        finally:
            root.removeHandler(self)
            root.setLevel(level)

    @contextmanager
    def run(self) -> Iterator[list[str]]:
        """Collect the records of the current task (and of threads while it is active)."""
        lines: list[str] = []
        token = _run_lines.set(lines)
        with self._active_lock:
            self._active[id(lines)] = lines
        try:
            yield lines
        finally:
            with self._active_lock:
                del self._active[id(lines)]
            _run_lines.reset(token)
