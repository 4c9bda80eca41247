"""A model endpoint that misbehaves, seen through the HTTP API with the real `openai` client.

Every storm (429s, 5xx, timeouts, dropped connections, bodies that are not Chat Completions, tool
calls that cannot be read) must end the same way for the shopper: their message is stored exactly
once, a normal assistant reply comes back (guided mode once the retries are spent), the number of
requests is bounded by the retry policy, and the next message is answered by the model again as
soon as it recovers. Time is a fake clock advanced by the injected sleep, so no test waits.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
import respx
from sqlalchemy import select

from agent.openai_model import OpenAIChatModel
from agent.retries import RetryPolicy
from agent.texts import say
from tests.api.conftest import Chat, chat_factory, texts, widget  # noqa: F401 - fixture
from tools.store.models import ModelCall

API = "https://api.test/v1"
COMPLETIONS = f"{API}/chat/completions"
POLICY = RetryPolicy(max_attempts=4, max_total_s=30.0, backoff_initial_s=0.5, backoff_max_s=8.0,
                     max_retry_after_s=10.0, jitter=lambda: 0.0)
INVALID_BODY_ATTEMPTS = 1 + POLICY.invalid_response_retries
GUIDED_INTRO = say("guided_intro", "en")


@dataclass
class FakeTime:
    """Monotonic time that moves only when the retry loop sleeps."""

    now: float = 0.0
    sleeps: list[float] = field(default_factory=list)

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def completion(content: str | None, message: dict[str, Any] | None = None) -> httpx.Response:
    body = message or {"role": "assistant", "content": content}
    return httpx.Response(200, json={
        "id": "chatcmpl-1", "object": "chat.completion", "created": 1, "model": "gpt-test",
        "choices": [{"index": 0, "message": body, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 900, "completion_tokens": 20, "total_tokens": 920}})


Fault = Callable[[httpx.Request, int], httpx.Response]


def rate_limited(request: httpx.Request, n: int) -> httpx.Response:
    return httpx.Response(429, headers={"Retry-After": "1"},
                          json={"error": {"message": "Rate limit reached", "type": "requests"}})


def server_errors(request: httpx.Request, n: int) -> httpx.Response:
    status = (500, 502, 503, 504)[n % 4]
    return httpx.Response(status, text=f"<html><h1>{status}</h1></html>",
                          headers={"content-type": "text/html"})


def timeouts(request: httpx.Request, n: int) -> httpx.Response:
    raise httpx.ReadTimeout("The read operation timed out", request=request)


def dropped(request: httpx.Request, n: int) -> httpx.Response:
    raise httpx.RemoteProtocolError("Server disconnected without sending a response.",
                                    request=request)


def mixed(request: httpx.Request, n: int) -> httpx.Response:
    return (rate_limited, server_errors, timeouts, dropped)[n % 4](request, n)


def not_json(request: httpx.Request, n: int) -> httpx.Response:
    return httpx.Response(200, text="<html>upstream proxy error</html>",
                          headers={"content-type": "text/html"})


def no_choices(request: httpx.Request, n: int) -> httpx.Response:
    return httpx.Response(200, json={"id": "chatcmpl-1", "object": "chat.completion",
                                     "choices": []})


def error_in_200(request: httpx.Request, n: int) -> httpx.Response:
    return httpx.Response(200, json={"error": {"message": "model overloaded"}})


def tool_calls_not_a_list(request: httpx.Request, n: int) -> httpx.Response:
    return completion(None, {"role": "assistant", "content": None,
                             "tool_calls": {"name": "search_products"}})


def tool_call_without_function(request: httpx.Request, n: int) -> httpx.Response:
    return completion(None, {"role": "assistant", "content": None,
                             "tool_calls": [{"id": "call_1", "type": "function"}]})


def unreadable_arguments(request: httpx.Request, n: int) -> httpx.Response:
    # Parseable Chat Completions whose tool call cannot be run: the error goes back to the model,
    # which keeps sending the same thing until the turn runs out of steps.
    return completion(None, {"role": "assistant", "content": None, "tool_calls": [
        {"id": f"call_{n}", "type": "function",
         "function": {"name": "search_products", "arguments": "{\"query\": \"tea\""}}]})


# (fault, model requests one shopper message may cost, the outcome recorded for the turn)
TRANSIENT = POLICY.max_attempts
STORMS: dict[str, tuple[Fault, int, str]] = {
    "429 storm": (rate_limited, TRANSIENT, "unavailable"),
    "5xx storm": (server_errors, TRANSIENT, "unavailable"),
    "read timeouts": (timeouts, TRANSIENT, "unavailable"),
    "dropped connections": (dropped, TRANSIENT, "unavailable"),
    "mixed transient": (mixed, TRANSIENT, "unavailable"),
    "body not JSON": (not_json, INVALID_BODY_ATTEMPTS, "invalid"),
    "no choices": (no_choices, INVALID_BODY_ATTEMPTS, "invalid"),
    "error object in a 200": (error_in_200, INVALID_BODY_ATTEMPTS, "invalid"),
    "tool_calls not a list": (tool_calls_not_a_list, INVALID_BODY_ATTEMPTS, "invalid"),
    "tool call without function": (tool_call_without_function, INVALID_BODY_ATTEMPTS, "invalid"),
}


class Endpoint:
    """The mocked endpoint: broken while `broken` is set, then a healthy model."""

    def __init__(self, fault: Fault) -> None:
        self.fault = fault
        self.broken = True
        self.storm_requests = 0
        self.reply = "We have Sencha green tea and a Hasami mug. Which one would you like?"

    def __call__(self, request: httpx.Request) -> httpx.Response:
        if not self.broken:
            return completion(self.reply)
        self.storm_requests += 1
        return self.fault(request, self.storm_requests - 1)


def model_for(time: FakeTime, policy: RetryPolicy = POLICY) -> OpenAIChatModel:
    return OpenAIChatModel("gpt-test", api_key="sk-test", base_url=API,
                           http_client=httpx.AsyncClient(), retry=policy, clock=time.clock,
                           sleep=time.sleep)


async def user_messages(chat: Chat) -> list[str]:
    response = await chat.client.get(f"/api/conversations/{chat.id}", headers=chat.auth)
    assert response.status_code == 200, response.text
    return [e["text"] for e in response.json()["transcript"]
            if e["type"] == "message" and e["role"] == "user"]


async def turn_rows(chat: Chat) -> list[ModelCall]:
    async with chat.shop.db.session() as session:
        rows = await session.scalars(select(ModelCall).where(ModelCall.conversation_id == chat.id)
                                     .order_by(ModelCall.id))
        return list(rows)


# Every storm on SQLite; on PostgreSQL one transient and one malformed storm, since what the database
# sees (a message, a guided reply, a usage row) is the same for all of them.
ON_POSTGRES = ("mixed transient", "body not JSON")
BACKEND_AND_STORM = [*[("sqlite", storm) for storm in STORMS],
                     *[pytest.param("postgres", storm, marks=pytest.mark.postgres)
                       for storm in ON_POSTGRES]]
SQLITE_ONLY = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


@pytest.mark.parametrize(("database_url", "storm"), BACKEND_AND_STORM, indirect=["database_url"])
async def test_model_storm_falls_back_to_guided_then_recovers(chat_factory: Any,  # noqa: F811
                                                              storm: str) -> None:
    fault, budget, outcome = STORMS[storm]
    time = FakeTime()
    endpoint = Endpoint(fault)
    with respx.mock(assert_all_called=True) as router:
        route = router.post(COMPLETIONS).mock(side_effect=endpoint)
        chat: Chat = chat_factory(model_for(time))
        await chat.start()

        guided = await chat.say("any green tea?")

        # A normal reply: guided mode's apology, the products the words name, quick replies.
        assert texts(guided).startswith(GUIDED_INTRO)
        assert "TEA-SENCHA" in [p["sku"] for p in widget(guided, "product_list")["products"]]
        assert widget(guided, "quick_replies")
        # Bounded: one model call per turn, retried at most `budget` times, within the time budget.
        assert route.call_count == endpoint.storm_requests == budget
        assert time.now <= POLICY.max_total_s
        assert await user_messages(chat) == ["any green tea?"]
        failed = await turn_rows(chat)
        assert [(r.outcome, r.step) for r in failed] == [(outcome, 1)]
        if outcome == "unavailable":
            assert failed[0].attempts == budget  # what an operator reads back about the storm

        endpoint.broken = False
        answered = await chat.say("thanks, which mug do you have?")

        assert texts(answered) == endpoint.reply
        assert route.call_count == budget + 1
        assert await user_messages(chat) == ["any green tea?", "thanks, which mug do you have?"]
        # The recovered model sees the whole conversation once: both messages and the guided reply.
        sent = json.loads(route.calls.last.request.content)["messages"]
        users = [m["content"] for m in sent if m["role"] == "user"]
        assert users == ["any green tea?", "thanks, which mug do you have?"]
        assert any(GUIDED_INTRO in (m["content"] or "") for m in sent if m["role"] == "assistant")
        assert [r.outcome for r in await turn_rows(chat)] == [outcome, "ok"]


@SQLITE_ONLY  # retry policy and turn logic only
async def test_retry_after_longer_than_the_budget_gives_up_early(chat_factory: Any  # noqa: F811
                                                                  ) -> None:
    """A server asking for 8 s each time: a 20 s budget allows three requests, not ten."""
    time = FakeTime()
    policy = RetryPolicy(max_attempts=10, max_total_s=20.0, max_retry_after_s=10.0,
                         jitter=lambda: 0.0)

    def slow_down(request: httpx.Request, n: int) -> httpx.Response:
        return httpx.Response(429, headers={"Retry-After": "8"}, json={"error": {"message": "wait"}})

    with respx.mock() as router:
        route = router.post(COMPLETIONS).mock(side_effect=Endpoint(slow_down))
        chat: Chat = chat_factory(model_for(time, policy))
        await chat.start()
        guided = await chat.say("any green tea?")
    assert texts(guided).startswith(GUIDED_INTRO)
    # 0 s, 8 s, 16 s: a fourth request would start at 24 s, past the 20 s budget.
    assert route.call_count == 3 and time.sleeps == [8.0, 8.0]
    assert await user_messages(chat) == ["any green tea?"]


@SQLITE_ONLY  # retry policy and turn logic only
async def test_retry_after_over_the_cap_goes_guided_at_once(chat_factory: Any  # noqa: F811
                                                             ) -> None:
    time = FakeTime()

    def come_back_later(request: httpx.Request, n: int) -> httpx.Response:
        return httpx.Response(503, headers={"Retry-After": "120"}, text="maintenance")

    with respx.mock() as router:
        route = router.post(COMPLETIONS).mock(side_effect=Endpoint(come_back_later))
        chat: Chat = chat_factory(model_for(time))
        await chat.start()
        guided = await chat.say("any green tea?")
    assert texts(guided).startswith(GUIDED_INTRO)
    assert route.call_count == 1 and time.sleeps == []


@SQLITE_ONLY  # retry policy and turn logic only
async def test_unreadable_tool_arguments_every_step_end_in_guided_mode(chat_factory: Any  # noqa: F811
                                                                        ) -> None:
    """A model that keeps sending tool calls nobody can run: the shopper never sees the error text
    meant for the model, and the turn gives up at the second such answer, like at two empty ones."""
    time = FakeTime()
    endpoint = Endpoint(unreadable_arguments)
    with respx.mock() as router:
        route = router.post(COMPLETIONS).mock(side_effect=endpoint)
        chat: Chat = chat_factory(model_for(time))
        await chat.start()
        reply = await chat.say("any green tea?")
        assert route.call_count == 2
        assert texts(reply).startswith(GUIDED_INTRO), texts(reply)
        # The model was told what was wrong the first time (the error is for it, as a tool result).
        second = json.loads(route.calls[1].request.content)["messages"]
        assert "invalid_arguments" in [json.loads(m["content"])["error"]["code"]
                                       for m in second if m["role"] == "tool"]
        assert "JSON" not in texts(reply) and "argument" not in texts(reply).lower()
        assert await user_messages(chat) == ["any green tea?"]
        endpoint.broken = False
        assert texts(await chat.say("and mugs?")) == endpoint.reply
