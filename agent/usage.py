"""Token usage and latency of model calls.

This module only houses the usage figures (`Usage`), the per-call record (`UsageRecord`), the
recorder callback type and an in-memory recorder (`UsageLog`) for evals and tests. A record describes
one `Model.request` call as a whole (all retries included), failed calls too. It carries no message
content unless the operator turned on `record_model_content`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Usage:
    """Token counts of one model answer; 0 when the endpoint did not report them."""

    prompt_tokens: int = 0
    completion_tokens: int = 0
    # The part of `prompt_tokens` served from the provider's prompt cache: the reason the prompt
    # prefix is kept byte-identical. Counted within `prompt_tokens`, not in addition to it.
    cached_prompt_tokens: int = 0

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens

    def __add__(self, other: Usage) -> Usage:
        return Usage(
            prompt_tokens=self.prompt_tokens + other.prompt_tokens,
            completion_tokens=self.completion_tokens + other.completion_tokens,
            cached_prompt_tokens=self.cached_prompt_tokens + other.cached_prompt_tokens,
        )


Outcome = Literal["ok", "unavailable", "refused", "invalid"]


@dataclass(frozen=True, slots=True)
class UsageRecord:
    """One `Model.request` call: what it cost, how long it took, how it ended."""

    model_name: str
    outcome: Outcome
    usage: Usage
    latency_ms: float  # wall time of the whole call, retries and back-off waits included
    attempts: int
    finish_reason: str | None = None
    tool_names: tuple[str, ...] = ()  # which tools the model called; names only, never arguments
    status_code: int | None = None  # last HTTP status of a failed call
    # Only with `record_model_content`: the (already redacted) request messages and the answer.
    content: dict[str, Any] | None = None


UsageRecorder = Callable[[UsageRecord], None]
"""Receives one record per model call. Runs inline, so it should be quick (append, increment)."""


def deliver(recorder: UsageRecorder | None, record: UsageRecord) -> None:
    """Hand `record` to `recorder`; a failing recorder is logged, never allowed to fail the turn."""
    if recorder is None:
        return
    try:
        recorder(record)
    except Exception:
        # Metrics are observability: a broken sink must not turn a good answer into guided mode.
        logger.exception("usage recorder failed for model %s", record.model_name)


@dataclass
class UsageLog:
    """An in-memory recorder: pass `log.record` (or the log itself) as the usage recorder."""

    records: list[UsageRecord] = field(default_factory=list)

    def record(self, record: UsageRecord) -> None:
        self.records.append(record)

    __call__ = record

    @property
    def usage(self) -> Usage:
        """Tokens summed over every recorded call."""
        total = Usage()
        for record in self.records:
            total = total + record.usage
        return total
