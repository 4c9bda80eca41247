"""`OpenAIChatModel.request_stream` against the real openai client, the endpoint mocked by respx.

The mocked endpoint answers with server-sent events as OpenAI sends them: text pieces, tool calls in
pieces keyed by index, a usage chunk without choices, then `[DONE]`.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import respx

from agent.errors import ModelResponseInvalid, ModelUnavailable
from agent.model import StreamingModel
from agent.openai_model import OpenAIChatModel
from agent.retries import RetryPolicy
from agent.usage import UsageLog
from tests.agent.conftest import FakeTime

BASE_URL = "https://api.test/v1"
ENDPOINT = f"{BASE_URL}/chat/completions"
MESSAGES = [{"role": "user", "content": "any green tea?"}]
TOOLS: list[dict[str, Any]] = [{"type": "function", "function": {
    "name": "search_products", "description": "Search.",
    "parameters": {"type": "object", "properties": {"query": {"type": "string"}}}}}]


def chunk(delta: dict[str, Any] | None = None, finish: str | None = None,
          usage: dict[str, int] | None = None) -> str:
    body: dict[str, Any] = {"id": "c1", "object": "chat.completion.chunk", "created": 1,
                            "model": "gpt-test-2026",
                            "choices": [] if delta is None else [
                                {"index": 0, "delta": delta, "finish_reason": finish}]}
    if usage is not None:
        body["usage"] = usage
    return f"data: {json.dumps(body)}\n\n"


def sse(*events: str, done: bool = True) -> httpx.Response:
    text = "".join(events) + ("data: [DONE]\n\n" if done else "")
    return httpx.Response(200, headers={"content-type": "text/event-stream"},
                          content=text.encode())


class _Breaking(httpx.AsyncByteStream):
    """Sends `first`, then the connection drops."""

    def __init__(self, first: str) -> None:
        self.first = first

    async def __aiter__(self) -> AsyncIterator[bytes]:
        yield self.first.encode()
        raise httpx.ReadError("connection reset by peer")


def model(fake_time: FakeTime, log: UsageLog | None = None) -> OpenAIChatModel:
    return OpenAIChatModel("gpt-test", api_key="sk-test", base_url=BASE_URL,
                           http_client=httpx.AsyncClient(), retry=RetryPolicy(max_attempts=3),
                           clock=fake_time.clock, sleep=fake_time.sleep, recorder=log)


async def collect(m: OpenAIChatModel) -> tuple[list[str], Any]:
    pieces: list[str] = []

    async def on_text(delta: str) -> None:
        pieces.append(delta)

    response = await m.request_stream(MESSAGES, TOOLS, on_text=on_text)
    return pieces, response


def test_the_openai_model_can_stream() -> None:
    assert isinstance(OpenAIChatModel("m", api_key="k"), StreamingModel)


async def test_text_arrives_in_pieces_and_adds_up(fake_time: FakeTime) -> None:
    log = UsageLog()
    with respx.mock() as router:
        route = router.post(ENDPOINT).mock(return_value=sse(
            chunk({"role": "assistant", "content": ""}),
            chunk({"content": "We have "}), chunk({"content": "three green "}),
            chunk({"content": "teas."}), chunk({}, "stop"),
            chunk(usage={"prompt_tokens": 900, "completion_tokens": 5, "total_tokens": 905})))
        pieces, response = await collect(model(fake_time, log))
    assert pieces == ["We have ", "three green ", "teas."]
    assert response.content == "We have three green teas."
    assert response.finish_reason == "stop" and response.tool_calls == []
    assert response.usage.prompt_tokens == 900 and response.usage.completion_tokens == 5
    assert response.model_name == "gpt-test-2026"
    sent = json.loads(route.calls[0].request.content)
    assert sent["stream"] is True and sent["stream_options"] == {"include_usage": True}
    assert sent["tools"] == TOOLS
    assert [r.outcome for r in log.records] == ["ok"]


async def test_tool_calls_in_pieces_are_put_back_together(fake_time: FakeTime) -> None:
    with respx.mock() as router:
        router.post(ENDPOINT).mock(return_value=sse(
            chunk({"role": "assistant", "content": None, "tool_calls": [
                {"index": 0, "id": "call_a", "type": "function",
                 "function": {"name": "search_products", "arguments": ""}}]}),
            chunk({"tool_calls": [{"index": 0, "function": {"arguments": '{"que'}}]}),
            chunk({"tool_calls": [{"index": 1, "id": "call_b", "type": "function",
                                   "function": {"name": "search_products",
                                                "arguments": '{"query":"mug"}'}}]}),
            chunk({"tool_calls": [{"index": 0, "function": {"arguments": 'ry":"tea"}'}}]}),
            chunk({}, "tool_calls")))
        pieces, response = await collect(model(fake_time))
    assert pieces == []
    assert [(c.id, c.name, c.arguments) for c in response.tool_calls] == [
        ("call_a", "search_products", {"query": "tea"}),
        ("call_b", "search_products", {"query": "mug"})]
    assert response.finish_reason == "tool_calls"


async def test_a_429_before_any_text_is_retried(fake_time: FakeTime) -> None:
    with respx.mock() as router:
        route = router.post(ENDPOINT).mock(side_effect=[
            httpx.Response(429, headers={"Retry-After": "1"},
                           json={"error": {"message": "slow down", "type": "rate_limit"}}),
            sse(chunk({"content": "Hello"}), chunk({}, "stop"))])
        pieces, response = await collect(model(fake_time))
    assert route.call_count == 2 and fake_time.sleeps == [1.0]
    assert pieces == ["Hello"] and response.attempts == 2


async def test_a_stream_that_breaks_before_any_text_is_retried(fake_time: FakeTime) -> None:
    with respx.mock() as router:
        route = router.post(ENDPOINT).mock(side_effect=[
            httpx.Response(200, headers={"content-type": "text/event-stream"},
                           stream=_Breaking(chunk({"role": "assistant", "content": ""}))),
            sse(chunk({"content": "Hello"}), chunk({}, "stop"))])
        pieces, response = await collect(model(fake_time))
    assert route.call_count == 2
    assert pieces == ["Hello"] and response.content == "Hello"


async def test_a_stream_that_breaks_after_text_is_not_retried(fake_time: FakeTime) -> None:
    """A retry could say something else than the words already on the shopper's screen."""
    log = UsageLog()
    with respx.mock() as router:
        route = router.post(ENDPOINT).mock(side_effect=[
            httpx.Response(200, headers={"content-type": "text/event-stream"},
                           stream=_Breaking(chunk({"content": "We have "}))),
            sse(chunk({"content": "never sent"}), chunk({}, "stop"))])
        pieces: list[str] = []

        async def on_text(delta: str) -> None:
            pieces.append(delta)

        with pytest.raises(ModelUnavailable, match="after text was shown"):
            await model(fake_time, log).request_stream(MESSAGES, TOOLS, on_text=on_text)
    assert route.call_count == 1 and pieces == ["We have "]
    assert [r.outcome for r in log.records] == ["unavailable"]


async def test_an_empty_stream_is_an_invalid_answer(fake_time: FakeTime) -> None:
    with respx.mock() as router:
        route = router.post(ENDPOINT).mock(return_value=sse())
        with pytest.raises(ModelResponseInvalid, match="no choices"):
            await collect(model(fake_time))
    assert route.call_count == 2  # a broken body earns one more attempt, as a plain one does
