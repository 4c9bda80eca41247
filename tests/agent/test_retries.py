"""The retry policy on its own: Retry-After parsing, classification, back-off, the budget."""

from __future__ import annotations

from typing import Any

import httpx
import openai
import pytest

from agent.errors import ModelResponseInvalid, ModelUnavailable
from agent.retries import RetryPolicy, call_with_retries, classify, retry_after_s
from tests.agent.conftest import FakeTime

# openai 3.x annotates its exceptions with httpx2 types but builds them from whichever client sent
# the request; the legacy httpx objects here are what a call through an httpx client produces.
REQUEST: Any = httpx.Request("POST", "https://api.test/v1/chat/completions")


def status_error(status: int, *, code: str | None = None, **headers: str) -> openai.APIStatusError:
    body = {"message": "x", "code": code}
    response: Any = httpx.Response(status, json={"error": body}, headers=headers, request=REQUEST)
    # The SDK's own factory, so the exception classes match what a real call raises.
    client = openai.AsyncOpenAI(api_key="sk-test", base_url="https://api.test/v1")
    return client._make_status_error_from_response(response)


def invalid_body() -> ModelResponseInvalid:
    return ModelResponseInvalid(model_name="m", reason="body is not JSON", body="<html>")


# -- Retry-After ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({}, None),
        ({"retry-after": "3"}, 3.0),
        ({"retry-after": "0.5"}, 0.5),
        ({"retry-after-ms": "250"}, 0.25),
        ({"retry-after-ms": "250", "retry-after": "7"}, 0.25),
        ({"retry-after-ms": "soon", "retry-after": "7"}, 7.0),
        ({"retry-after": "-4"}, 0.0),
        ({"retry-after": "inf"}, None),
        ({"retry-after": "whenever"}, None),
        ({"retry-after": "Wed, 01 Jan 2025 00:01:00 GMT", "date": "Wed, 01 Jan 2025 00:00:00 GMT"}, 60.0),
        ({"retry-after": "Wed, 01 Jan 2025 00:00:00 GMT", "date": "Wed, 01 Jan 2025 00:00:30 GMT"}, 0.0),
    ],
)
def test_retry_after_forms(headers: dict[str, str], expected: float | None) -> None:
    assert retry_after_s(httpx.Headers(headers)) == expected


def test_http_date_without_a_date_header_uses_the_given_now() -> None:
    headers = httpx.Headers({"retry-after": "Wed, 01 Jan 2025 00:00:10 GMT"})
    assert retry_after_s(headers, now=1_735_689_600.0) == 10.0  # 2025-01-01T00:00:00Z


# -- classification -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "retryable"),
    [(408, True), (409, True), (429, True), (500, True), (502, True), (503, True), (504, True),
     (400, False), (401, False), (403, False), (404, False), (422, False)],
)
def test_which_statuses_are_retried(status: int, retryable: bool) -> None:
    failure = classify(status_error(status))
    assert (failure.retryable, failure.status_code) == (retryable, status)


def test_servers_veto_and_quota_exhaustion_are_final() -> None:
    assert not classify(status_error(503, **{"x-should-retry": "false"})).retryable
    assert not classify(status_error(429, code="insufficient_quota")).retryable
    rate_limited = status_error(429, code="rate_limit_exceeded", **{"retry-after": "2"})
    assert classify(rate_limited).retry_after_s == 2.0


def test_transport_failures_are_retried_and_bugs_are_not() -> None:
    assert classify(openai.APITimeoutError(request=REQUEST)).retryable
    assert classify(openai.APIConnectionError(request=REQUEST)).retryable
    assert not classify(KeyError("choices")).retryable


# -- back-off ------------------------------------------------------------------------------------


def test_back_off_doubles_up_to_the_cap_and_jitter_stays_within_half_to_full() -> None:
    low = RetryPolicy(backoff_initial_s=0.5, backoff_max_s=4.0, jitter=lambda: 0.0)
    high = RetryPolicy(backoff_initial_s=0.5, backoff_max_s=4.0, jitter=lambda: 0.999999)
    assert [low.backoff_s(n) for n in range(1, 6)] == [0.25, 0.5, 1.0, 2.0, 2.0]
    assert [round(high.backoff_s(n), 3) for n in range(1, 6)] == [0.5, 1.0, 2.0, 4.0, 4.0]


def test_policy_refuses_nonsense() -> None:
    with pytest.raises(ValueError, match="max_attempts"):
        RetryPolicy(max_attempts=0)
    with pytest.raises(ValueError, match="backoff"):
        RetryPolicy(backoff_initial_s=5, backoff_max_s=1)


# -- the loop ------------------------------------------------------------------------------------


async def test_success_after_failures_reports_attempts_and_shrinking_budget(fake_time: FakeTime) -> None:
    budgets: list[float] = []
    failures = [status_error(502), openai.APITimeoutError(request=REQUEST)]

    async def call(seconds_left: float) -> str:
        budgets.append(seconds_left)
        if failures:
            raise failures.pop(0)
        return "answer"

    policy = RetryPolicy(max_total_s=30, jitter=lambda: 0.0)
    value, attempts = await call_with_retries(
        call, policy, model_name="m", clock=fake_time.clock, sleep=fake_time.sleep
    )

    assert (value, attempts) == ("answer", 3)
    assert fake_time.sleeps == [0.25, 0.5]
    assert budgets == [30.0, 29.75, 29.25]


async def test_non_retryable_failures_pass_through_unchanged(fake_time: FakeTime) -> None:
    bug = KeyError("choices")

    async def call(seconds_left: float) -> str:
        raise bug

    with pytest.raises(KeyError) as caught:
        await call_with_retries(call, RetryPolicy(), model_name="m", clock=fake_time.clock,
                                sleep=fake_time.sleep)

    assert caught.value is bug
    assert fake_time.sleeps == []


async def test_invalid_bodies_get_one_retry_inside_the_attempt_budget(fake_time: FakeTime) -> None:
    attempts = 0

    async def call(seconds_left: float) -> str:
        nonlocal attempts
        attempts += 1
        raise invalid_body()

    with pytest.raises(ModelResponseInvalid):
        await call_with_retries(call, RetryPolicy(), model_name="m", clock=fake_time.clock,
                                sleep=fake_time.sleep)

    assert attempts == 2


async def test_give_up_names_the_last_failure(fake_time: FakeTime) -> None:
    async def call(seconds_left: float) -> str:
        raise status_error(503)

    with pytest.raises(ModelUnavailable) as caught:
        await call_with_retries(call, RetryPolicy(max_attempts=3), model_name="gpt-x",
                                clock=fake_time.clock, sleep=fake_time.sleep)

    assert (caught.value.attempts, caught.value.last_status_code) == (3, 503)
    assert caught.value.model_name == "gpt-x"
    assert isinstance(caught.value.__cause__, openai.InternalServerError)
    assert "gpt-x" in str(caught.value) and "HTTP 503" in str(caught.value)
