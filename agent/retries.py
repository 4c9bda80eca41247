"""Retrying model calls: which failures earn another attempt, and how long to wait before it.

This module only houses the retry policy and the tenacity loop around one model call. It is the only
retry layer: the openai SDK's own retries are turned off (`max_retries=0`), so attempts and waits
are counted here, once.

- Retried: HTTP 408, 409, 429 and 5xx, timeouts and connection errors (the same set the SDK retries,
  so turning the SDK's retries off changes who retries, not what), and a broken 2xx body once.
- Never retried: every other 4xx (400, 401, 403, 404, 422, ...), a 429 whose body says the account's
  quota is exhausted, and any response carrying `x-should-retry: false`.
- The wait honours `retry-after-ms` and `Retry-After` (seconds or HTTP date). A server asking for
  longer than `max_retry_after_s`, or for more than the time left, ends the call at once: an early
  retry would only earn another 429, and the shopper is better served by guided mode now.
- Otherwise the wait is exponential back-off with jitter, so concurrent turns do not retry in step.
- Bounded twice: at most `max_attempts` attempts and `max_total_s` seconds of wall time, waits and
  attempts together; each attempt's timeout is cut to the time left.
"""

from __future__ import annotations

import asyncio
import email.utils
import math
import random
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import TypeVar

import openai
from tenacity import AsyncRetrying, RetryCallState

from agent.errors import ModelResponseInvalid, ModelUnavailable, excerpt

T = TypeVar("T")

Clock = Callable[[], float]
"""Monotonic seconds (`time.monotonic`); injected so tests control time."""

Sleep = Callable[[float], Awaitable[None]]
"""`asyncio.sleep`; injected so tests never wait for real."""

# 408 request timeout, 409 lock conflict, 429 rate limit: transient by definition.
RETRYABLE_STATUS_CODES = frozenset({408, 409, 429})
# An OpenAI 429 with this code means the bill is unpaid, not that the server is busy.
NON_TRANSIENT_ERROR_CODES = frozenset({"insufficient_quota"})


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How hard to try before giving up and letting the turn fall back to guided mode."""

    max_attempts: int = 4
    max_total_s: float = 30.0
    backoff_initial_s: float = 0.5
    backoff_max_s: float = 8.0
    max_retry_after_s: float = 10.0
    # An attempt needs some time to be worth starting; below this the call gives up instead.
    min_attempt_s: float = 1.0
    # A broken 2xx body may be a proxy hiccup, worth one more try; a server that keeps sending
    # garbage will not be fixed by more.
    invalid_response_retries: int = 1
    # Uniform [0, 1) source for the back-off jitter; injected so tests get fixed waits.
    jitter: Callable[[], float] = random.random

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        if self.max_total_s <= 0 or self.min_attempt_s < 0:
            raise ValueError("max_total_s must be positive and min_attempt_s not negative")
        if self.backoff_initial_s < 0 or self.backoff_max_s < self.backoff_initial_s:
            raise ValueError("need 0 <= backoff_initial_s <= backoff_max_s")

    def backoff_s(self, attempt_number: int) -> float:
        """Wait after failed attempt `attempt_number` (1-based) when the server gave no hint."""
        base = min(self.backoff_max_s, self.backoff_initial_s * 2.0 ** (attempt_number - 1))
        # "Equal jitter": never less than half the base (no retry storms at ~0 s), spread above it.
        return base * (0.5 + 0.5 * self.jitter())


def retry_after_s(headers: Mapping[str, str], *, now: float | None = None) -> float | None:
    """Seconds the server asked us to wait, from `retry-after-ms` or `Retry-After`; None if absent.

    An HTTP-date `Retry-After` is measured against the response's own `Date` header when present,
    so a skewed local clock does not distort it; else against `now` (Unix time, default the clock).
    """
    milliseconds = _finite_float(headers.get("retry-after-ms"))
    if milliseconds is not None:
        return max(0.0, milliseconds / 1000)
    value = headers.get("retry-after")
    if value is None:
        return None
    seconds = _finite_float(value)
    if seconds is not None:
        return max(0.0, seconds)
    until = _http_date(value)
    if until is None:
        return None
    reference = _http_date(headers.get("date"))
    if reference is None:
        reference = time.time() if now is None else now
    return max(0.0, until - reference)


def _finite_float(value: str | None) -> float | None:
    if value is None:
        return None
    try:
        number = float(value)
    except ValueError:
        return None
    return number if math.isfinite(number) else None


def _http_date(value: str | None) -> float | None:
    if not value:
        return None
    try:
        return email.utils.parsedate_to_datetime(value).timestamp()
    except (TypeError, ValueError, IndexError, OverflowError):
        return None


@dataclass(frozen=True, slots=True)
class Failure:
    """What one failed attempt tells the retry loop."""

    retryable: bool
    status_code: int | None = None
    retry_after_s: float | None = None


def classify(exc: BaseException) -> Failure:
    """Whether `exc`, raised by one attempt, is worth another attempt."""
    if isinstance(exc, openai.APIStatusError):
        status, headers = exc.status_code, exc.response.headers
        if headers.get("x-should-retry") == "false" or exc.code in NON_TRANSIENT_ERROR_CODES:
            return Failure(retryable=False, status_code=status)
        transient = status in RETRYABLE_STATUS_CODES or status >= 500
        return Failure(retryable=transient, status_code=status,
                       retry_after_s=retry_after_s(headers) if transient else None)
    if isinstance(exc, openai.APIConnectionError):  # APITimeoutError is a subclass
        return Failure(retryable=True)
    if isinstance(exc, ModelResponseInvalid):
        return Failure(retryable=True, status_code=exc.status_code)
    return Failure(retryable=False)


def _failure_of(state: RetryCallState) -> BaseException | None:
    outcome = state.outcome
    return outcome.exception() if outcome is not None and outcome.failed else None


async def call_with_retries(
    call: Callable[[float], Awaitable[T]],
    policy: RetryPolicy,
    *,
    model_name: str,
    clock: Clock = time.monotonic,
    sleep: Sleep = asyncio.sleep,
) -> tuple[T, int]:
    """Run `call(seconds_left)` under `policy`; return its value and the number of attempts.

    `seconds_left` is what remains of the total budget, for the attempt's own timeout. Raises
    `ModelUnavailable` when transient failures outlast the budget, `ModelResponseInvalid` when broken
    bodies outlast theirs, and re-raises any other failure of `call` unchanged on the spot.
    """
    started = clock()
    attempts = 0
    invalid_bodies = 0
    give_up_note = ""

    def seconds_left() -> float:
        return policy.max_total_s - (clock() - started)

    def should_retry(state: RetryCallState) -> bool:
        nonlocal invalid_bodies
        exc = _failure_of(state)
        if exc is None:
            return False
        if isinstance(exc, ModelResponseInvalid):
            invalid_bodies += 1
            return invalid_bodies <= policy.invalid_response_retries
        return classify(exc).retryable

    def wait(state: RetryCallState) -> float:
        exc = _failure_of(state)
        hint = classify(exc).retry_after_s if exc is not None else None
        return hint if hint is not None else policy.backoff_s(state.attempt_number)

    def stop(state: RetryCallState) -> bool:
        # tenacity computes the wait before asking whether to stop, so the budget check can
        # include the wait that would come next.
        nonlocal give_up_note
        if state.attempt_number >= policy.max_attempts:
            return True
        exc = _failure_of(state)
        hint = classify(exc).retry_after_s if exc is not None else None
        if hint is not None and hint > policy.max_retry_after_s:
            give_up_note = (f"; server asked to wait {hint:g} s,"
                            f" over the {policy.max_retry_after_s:g} s cap")
            return True
        if state.upcoming_sleep + policy.min_attempt_s > seconds_left():
            give_up_note = f"; {policy.max_total_s:g} s time budget spent"
            return True
        return False

    async def attempt() -> T:
        nonlocal attempts
        attempts += 1
        return await call(seconds_left())

    retrying = AsyncRetrying(stop=stop, wait=wait, retry=should_retry, sleep=sleep, reraise=True)
    try:
        value: T = await retrying(attempt)
    except ModelResponseInvalid:
        raise
    except Exception as exc:
        failure = classify(exc)
        if not failure.retryable:
            raise
        raise ModelUnavailable(
            model_name=model_name,
            attempts=attempts,
            last_status_code=failure.status_code,
            last_error=excerpt(f"{type(exc).__name__}: {exc}") + give_up_note,
        ) from exc
    return value, attempts
