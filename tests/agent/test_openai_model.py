"""OpenAIChatModel against the real openai client, with the endpoint mocked by respx.

openai 3.x sends through httpx2 by default, which respx cannot see; the client here is given a
plain `httpx.AsyncClient` (which the SDK accepts), and the mock sits under that.
"""

from __future__ import annotations

import json
import sys
from collections.abc import AsyncIterator, Callable
from copy import deepcopy
from typing import Any

import httpcore
import httpx
import openai
import pytest
import respx

from agent.errors import (
    ModelConfigurationError,
    ModelHTTPError,
    ModelResponseInvalid,
    ModelUnavailable,
)
from agent.model import ModelRequestSettings
from agent.openai_model import OFFLINE_BASE_URL, OpenAIChatModel, create_model
from agent.retries import RetryPolicy
from agent.settings import AgentSettings
from agent.usage import UsageLog
from tests.agent.conftest import FakeTime

BASE_URL = "https://api.test/v1"
ENDPOINT = f"{BASE_URL}/chat/completions"

SYSTEM = {"role": "system", "content": "You are the shop assistant of Ocha-ya. 日本語も話します。"}
USER = {"role": "user", "content": "緑茶を2つカートに入れて"}
TOOLS: list[dict[str, Any]] = [
    {
        "type": "function",
        "function": {
            "name": "search_products",
            "description": "Search the catalogue by the shopper's words.",
            "parameters": {
                "type": "object",
                "properties": {
                    "query": {"type": "string", "minLength": 1},
                    "limit": {"type": "integer", "default": 5, "minimum": 1, "maximum": 10},
                },
                "required": ["query"],
                "additionalProperties": False,
            },
        },
    },
    {
        "type": "function",
        "function": {
            "name": "add_to_cart",
            "description": "Add a product to the cart.",
            "parameters": {
                "type": "object",
                "properties": {"sku": {"type": "string"}, "quantity": {"type": "integer"}},
                "required": ["sku"],
                "additionalProperties": False,
            },
        },
    },
]


def completion(
    content: str | None = "Hello!",
    *,
    tool_calls: list[dict[str, Any]] | None = None,
    finish_reason: str = "stop",
    usage: dict[str, Any] | None = None,
    model: str = "gpt-test-2025-01-01",
) -> dict[str, Any]:
    """A Chat Completions body as OpenAI sends it."""
    message: dict[str, Any] = {"role": "assistant", "content": content, "refusal": None}
    if tool_calls is not None:
        message["tool_calls"] = tool_calls
    return {
        "id": "chatcmpl-123",
        "object": "chat.completion",
        "created": 1_735_689_600,
        "model": model,
        "choices": [
            {"index": 0, "message": message, "logprobs": None, "finish_reason": finish_reason}
        ],
        "usage": usage or {"prompt_tokens": 12, "completion_tokens": 3, "total_tokens": 15},
        "system_fingerprint": "fp_test",
    }


def wire_call(call_id: str, name: str, arguments: str) -> dict[str, Any]:
    return {"id": call_id, "type": "function", "function": {"name": name, "arguments": arguments}}


def ok(body: dict[str, Any] | None = None, **headers: str) -> httpx.Response:
    return httpx.Response(200, json=body or completion(), headers=headers)


def error(status: int, message: str = "boom", code: str | None = None, **headers: str) -> httpx.Response:
    payload = {"error": {"message": message, "type": "server_error", "param": None, "code": code}}
    return httpx.Response(status, json=payload, headers=headers)


def sent_json(route: respx.Route, index: int = -1) -> dict[str, Any]:
    body: dict[str, Any] = json.loads(route.calls[index].request.content)
    return body


@pytest.fixture
async def mock_api() -> AsyncIterator[respx.MockRouter]:
    async with respx.mock(assert_all_called=False) as router:
        yield router


def sdk_client(max_retries: int = 0) -> openai.AsyncOpenAI:
    """The real SDK client on a plain httpx client (openai 3.x accepts it; its types say httpx2)."""
    http_client: Any = httpx.AsyncClient()
    return openai.AsyncOpenAI(
        base_url=BASE_URL, api_key="sk-test", max_retries=max_retries, http_client=http_client
    )


@pytest.fixture
async def openai_client() -> AsyncIterator[openai.AsyncOpenAI]:
    client = sdk_client()
    yield client
    await client.close()


@pytest.fixture
def make_model(
    openai_client: openai.AsyncOpenAI, fake_time: FakeTime
) -> Callable[..., OpenAIChatModel]:
    def make(**overrides: Any) -> OpenAIChatModel:
        options: dict[str, Any] = {
            "client": openai_client,
            # Jitter pinned to its midpoint so back-off waits are exact: 0.75 x base.
            "retry": RetryPolicy(jitter=lambda: 0.5),
            "clock": fake_time.clock,
            "sleep": fake_time.sleep,
        }
        options.update(overrides)
        return OpenAIChatModel("gpt-test", **options)

    return make


# -- answers -------------------------------------------------------------------------------------


async def test_plain_text_answer(
    mock_api: respx.MockRouter, make_model: Callable[..., OpenAIChatModel]
) -> None:
    mock_api.post(ENDPOINT).mock(return_value=ok(completion("いらっしゃいませ!")))

    response = await make_model().request([SYSTEM, USER], TOOLS)

    assert response.content == "いらっしゃいませ!"
    assert response.tool_calls == []
    assert response.finish_reason == "stop"
    assert response.model_name == "gpt-test-2025-01-01"  # the served snapshot, not the alias
    assert response.attempts == 1


async def test_one_tool_call_is_parsed(
    mock_api: respx.MockRouter, make_model: Callable[..., OpenAIChatModel]
) -> None:
    call = wire_call("call_abc", "add_to_cart", '{"sku": "TEA-01", "quantity": 2}')
    mock_api.post(ENDPOINT).mock(
        return_value=ok(completion(None, tool_calls=[call], finish_reason="tool_calls"))
    )

    response = await make_model().request([SYSTEM, USER], TOOLS)

    assert response.content is None
    assert response.finish_reason == "tool_calls"
    [tool_call] = response.tool_calls
    assert (tool_call.id, tool_call.name) == ("call_abc", "add_to_cart")
    assert tool_call.arguments == {"sku": "TEA-01", "quantity": 2}
    assert tool_call.arguments_json == '{"sku": "TEA-01", "quantity": 2}'
    assert tool_call.parse_error is None
    # The assistant message for history echoes the raw argument text, not a re-serialisation.
    assert response.to_message()["tool_calls"] == [call]


async def test_parallel_tool_calls_keep_their_order(
    mock_api: respx.MockRouter, make_model: Callable[..., OpenAIChatModel]
) -> None:
    calls = [
        wire_call("call_1", "search_products", '{"query": "sencha"}'),
        wire_call("call_2", "search_products", '{"query": "matcha", "limit": 3}'),
    ]
    mock_api.post(ENDPOINT).mock(
        return_value=ok(completion("Looking…", tool_calls=calls, finish_reason="tool_calls"))
    )

    response = await make_model().request([SYSTEM, USER], TOOLS)

    assert response.content == "Looking…"
    assert [(c.id, c.arguments) for c in response.tool_calls] == [
        ("call_1", {"query": "sencha"}),
        ("call_2", {"query": "matcha", "limit": 3}),
    ]


@pytest.mark.parametrize(
    ("arguments_json", "reason"),
    [
        ("sku=TEA-01", "not valid JSON"),
        ('["TEA-01", 2]', "must be a JSON object, got an array"),
        ('{"sku": "TEA-01", "quan', "not valid JSON"),  # cut off by max_tokens
        ('"TEA-01"', "must be a JSON object, got a string"),
    ],
    ids=["not-json", "json-array", "truncated", "json-string"],
)
async def test_malformed_tool_arguments_are_reported_not_raised(
    mock_api: respx.MockRouter,
    make_model: Callable[..., OpenAIChatModel],
    arguments_json: str,
    reason: str,
) -> None:
    call = wire_call("call_bad", "add_to_cart", arguments_json)
    mock_api.post(ENDPOINT).mock(
        return_value=ok(completion(None, tool_calls=[call], finish_reason="tool_calls"))
    )

    response = await make_model().request([SYSTEM, USER], TOOLS)

    [tool_call] = response.tool_calls
    assert tool_call.arguments is None
    assert tool_call.arguments_json == arguments_json
    assert tool_call.parse_error is not None and reason in tool_call.parse_error
    assert response.attempts == 1  # the model's mistake, not a transport failure: no retry


async def test_compatible_servers_small_deviations_are_accepted(
    mock_api: respx.MockRouter, make_model: Callable[..., OpenAIChatModel]
) -> None:
    body = completion(None, finish_reason="tool_calls")
    body["choices"][0]["message"]["tool_calls"] = [
        # Ollama: arguments as an object; llama.cpp: no id; "" for a call without arguments.
        {"id": "call_x", "function": {"name": "add_to_cart", "arguments": {"sku": "TEA-01"}}},
        {"type": "function", "function": {"name": "search_products", "arguments": ""}},
    ]
    del body["usage"]
    mock_api.post(ENDPOINT).mock(return_value=ok(body))

    response = await make_model().request([SYSTEM, USER], TOOLS)

    first, second = response.tool_calls
    assert (first.arguments, json.loads(first.arguments_json)) == ({"sku": "TEA-01"}, {"sku": "TEA-01"})
    assert (second.id, second.arguments, second.parse_error) == ("call_1", {}, None)
    assert (response.usage.prompt_tokens, response.usage.completion_tokens) == (0, 0)


async def test_usage_includes_cached_prompt_tokens_and_is_recorded(
    mock_api: respx.MockRouter, make_model: Callable[..., OpenAIChatModel]
) -> None:
    usage = {
        "prompt_tokens": 2006, "completion_tokens": 300, "total_tokens": 2306,
        "prompt_tokens_details": {"cached_tokens": 1920, "audio_tokens": 0},
        "completion_tokens_details": {"reasoning_tokens": 0},
    }
    mock_api.post(ENDPOINT).mock(return_value=ok(completion("ok", usage=usage)))
    log = UsageLog()

    response = await make_model(recorder=log).request([SYSTEM, USER], TOOLS)

    assert (response.usage.prompt_tokens, response.usage.completion_tokens) == (2006, 300)
    assert response.usage.cached_prompt_tokens == 1920
    [record] = log.records
    assert (record.outcome, record.usage, record.attempts) == ("ok", response.usage, 1)
    assert record.content is None  # no message content unless the operator asks for it


async def test_record_content_keeps_the_exchange_when_asked(
    mock_api: respx.MockRouter, make_model: Callable[..., OpenAIChatModel]
) -> None:
    mock_api.post(ENDPOINT).mock(return_value=ok(completion("ok")))
    log = UsageLog()

    await make_model(recorder=log, record_content=True).request([SYSTEM, USER], TOOLS)

    assert log.records[0].content == {
        "messages": [SYSTEM, USER],
        "response": {"role": "assistant", "content": "ok"},
    }


async def test_latency_covers_the_whole_call_including_back_off(
    mock_api: respx.MockRouter, make_model: Callable[..., OpenAIChatModel], fake_time: FakeTime
) -> None:
    answers = iter([error(503), ok()])

    def slow_then_ok(request: httpx.Request) -> httpx.Response:
        fake_time.advance(0.25)
        return next(answers)

    mock_api.post(ENDPOINT).mock(side_effect=slow_then_ok)

    response = await make_model().request([SYSTEM, USER], TOOLS)

    # two attempts of 250 ms plus a back-off of 0.75 x 0.5 s
    assert response.latency_ms == pytest.approx(250 + 375 + 250)
    assert response.attempts == 2


# -- the request on the wire -----------------------------------------------------------------------


async def test_messages_and_tools_are_sent_exactly_as_given(
    mock_api: respx.MockRouter, make_model: Callable[..., OpenAIChatModel]
) -> None:
    history: list[dict[str, Any]] = [
        SYSTEM,
        USER,
        {"role": "assistant", "content": None,
         "tool_calls": [wire_call("call_1", "search_products", '{"query":"緑茶"}')]},
        {"role": "tool", "tool_call_id": "call_1", "content": '{"ok":true,"products":[]}'},
        {"role": "user", "content": "[state] cart: empty; stage: browsing"},
    ]
    original_history, original_tools = deepcopy(history), deepcopy(TOOLS)
    route = mock_api.post(ENDPOINT).mock(return_value=ok())
    model = make_model()

    await model.request(history, TOOLS)
    await model.request(history, TOOLS)

    sent = sent_json(route)
    # Same content *and* same key order: the serialised prefix is what providers cache on.
    assert json.dumps(sent["messages"], ensure_ascii=False) == json.dumps(history, ensure_ascii=False)
    assert json.dumps(sent["tools"], ensure_ascii=False) == json.dumps(TOOLS, ensure_ascii=False)
    assert (sent["model"], sent["tool_choice"]) == ("gpt-test", "auto")
    assert route.calls[0].request.content == route.calls[1].request.content
    assert (history, TOOLS) == (original_history, original_tools)  # inputs not mutated


async def test_without_tools_no_tool_parameters_are_sent(
    mock_api: respx.MockRouter, make_model: Callable[..., OpenAIChatModel]
) -> None:
    route = mock_api.post(ENDPOINT).mock(return_value=ok())

    await make_model().request(
        [SYSTEM, USER], [], settings=ModelRequestSettings(parallel_tool_calls=False)
    )

    # vLLM and llama.cpp reject tool_choice / parallel_tool_calls without tools.
    assert set(sent_json(route)) == {"model", "messages"}


async def test_optional_settings_are_sent_only_when_set(
    mock_api: respx.MockRouter, make_model: Callable[..., OpenAIChatModel]
) -> None:
    route = mock_api.post(ENDPOINT).mock(return_value=ok())
    model = make_model()

    await model.request([SYSTEM, USER], TOOLS)
    await model.request([SYSTEM, USER], TOOLS, settings=ModelRequestSettings(
        temperature=0.2, max_tokens=400, parallel_tool_calls=False, timeout_s=7.5))

    assert set(sent_json(route, 0)) == {"model", "messages", "tools", "tool_choice"}
    second = sent_json(route, 1)
    assert (second["temperature"], second["max_tokens"], second["parallel_tool_calls"]) == (0.2, 400, False)
    assert route.calls[1].request.extensions["timeout"]["read"] == 7.5


# -- retries ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("headers", "expected_wait"),
    [
        ({"retry-after": "2"}, 2.0),
        ({"retry-after-ms": "1500", "retry-after": "9"}, 1.5),
        ({"retry-after": "Wed, 01 Jan 2025 00:00:03 GMT", "date": "Wed, 01 Jan 2025 00:00:00 GMT"}, 3.0),
    ],
    ids=["seconds", "milliseconds-preferred", "http-date"],
)
async def test_429_waits_as_told_then_succeeds(
    mock_api: respx.MockRouter,
    make_model: Callable[..., OpenAIChatModel],
    fake_time: FakeTime,
    headers: dict[str, str],
    expected_wait: float,
) -> None:
    route = mock_api.post(ENDPOINT).mock(
        side_effect=[error(429, "Rate limit reached", "rate_limit_exceeded", **headers), ok()]
    )

    response = await make_model().request([SYSTEM, USER], TOOLS)

    assert response.content == "Hello!"
    assert response.attempts == 2
    assert fake_time.sleeps == [expected_wait]
    assert route.call_count == 2


async def test_5xx_until_give_up_raises_model_unavailable(
    mock_api: respx.MockRouter, make_model: Callable[..., OpenAIChatModel], fake_time: FakeTime
) -> None:
    route = mock_api.post(ENDPOINT).mock(return_value=error(500, "The server had an error"))
    log = UsageLog()

    with pytest.raises(ModelUnavailable) as caught:
        await make_model(recorder=log).request([SYSTEM, USER], TOOLS)

    assert caught.value.attempts == 4 == route.call_count
    assert caught.value.last_status_code == 500
    assert "InternalServerError" in caught.value.last_error
    # Exponential back-off, jitter pinned at 0.75 x base: 0.5 s, 1 s, 2 s bases.
    assert fake_time.sleeps == pytest.approx([0.375, 0.75, 1.5])
    [record] = log.records
    assert (record.outcome, record.attempts, record.status_code) == ("unavailable", 4, 500)


async def test_a_client_with_sdk_retries_is_not_retried_twice(
    mock_api: respx.MockRouter, fake_time: FakeTime
) -> None:
    route = mock_api.post(ENDPOINT).mock(return_value=error(503))
    eager_client = sdk_client(max_retries=5)
    model = OpenAIChatModel("gpt-test", client=eager_client, retry=RetryPolicy(max_attempts=2),
                            clock=fake_time.clock, sleep=fake_time.sleep)

    with pytest.raises(ModelUnavailable):
        await model.request([SYSTEM, USER], TOOLS)

    assert route.call_count == 2  # our attempts only, not 2 x 6
    await eager_client.close()


async def test_total_time_bound_stops_retrying_early(
    mock_api: respx.MockRouter, make_model: Callable[..., OpenAIChatModel], fake_time: FakeTime
) -> None:
    def slow_failure(request: httpx.Request) -> httpx.Response:
        fake_time.advance(2.0)  # each attempt takes 2 s before the 503
        return error(503)

    route = mock_api.post(ENDPOINT).mock(side_effect=slow_failure)
    started = fake_time.now
    model = make_model(retry=RetryPolicy(max_attempts=10, max_total_s=6.0, jitter=lambda: 0.5))

    with pytest.raises(ModelUnavailable) as caught:
        await model.request([SYSTEM, USER], TOOLS)

    assert caught.value.attempts == route.call_count == 2
    assert fake_time.now - started <= 6.0
    assert "time budget" in caught.value.last_error
    # The second attempt's timeout was cut to what was left of the budget (6 - 2 - 0.375).
    assert route.calls[1].request.extensions["timeout"]["read"] == pytest.approx(3.625)


async def test_retry_after_beyond_the_cap_gives_up_at_once(
    mock_api: respx.MockRouter, make_model: Callable[..., OpenAIChatModel], fake_time: FakeTime
) -> None:
    mock_api.post(ENDPOINT).mock(return_value=error(429, "slow down", **{"retry-after": "120"}))

    with pytest.raises(ModelUnavailable) as caught:
        await make_model().request([SYSTEM, USER], TOOLS)

    assert (caught.value.attempts, caught.value.last_status_code) == (1, 429)
    assert fake_time.sleeps == []


async def test_timeout_then_success(
    mock_api: respx.MockRouter, make_model: Callable[..., OpenAIChatModel], fake_time: FakeTime
) -> None:
    mock_api.post(ENDPOINT).mock(side_effect=[httpx.ReadTimeout("read timed out"), ok()])

    response = await make_model().request([SYSTEM, USER], TOOLS)

    assert (response.content, response.attempts) == ("Hello!", 2)
    assert fake_time.sleeps == [0.375]


async def test_connection_errors_until_give_up(
    mock_api: respx.MockRouter, make_model: Callable[..., OpenAIChatModel]
) -> None:
    route = mock_api.post(ENDPOINT).mock(side_effect=httpx.ConnectError("connection refused"))

    with pytest.raises(ModelUnavailable) as caught:
        await make_model().request([SYSTEM, USER], TOOLS)

    assert caught.value.attempts == route.call_count == 4
    assert caught.value.last_status_code is None
    assert "APIConnectionError" in caught.value.last_error


@pytest.mark.parametrize("status", [400, 401, 403, 404, 422])
async def test_client_errors_are_not_retried(
    mock_api: respx.MockRouter,
    make_model: Callable[..., OpenAIChatModel],
    fake_time: FakeTime,
    status: int,
) -> None:
    route = mock_api.post(ENDPOINT).mock(
        return_value=error(status, "Invalid schema for function 'add_to_cart'", "invalid_schema")
    )
    log = UsageLog()

    with pytest.raises(ModelHTTPError) as caught:
        await make_model(recorder=log).request([SYSTEM, USER], TOOLS)

    assert (caught.value.status_code, caught.value.code) == (status, "invalid_schema")
    assert "Invalid schema" in caught.value.body
    assert route.call_count == 1
    assert fake_time.sleeps == []
    assert log.records[0].outcome == "refused"


async def test_exhausted_quota_is_not_retried(
    mock_api: respx.MockRouter, make_model: Callable[..., OpenAIChatModel]
) -> None:
    route = mock_api.post(ENDPOINT).mock(
        return_value=error(429, "You exceeded your current quota", "insufficient_quota")
    )

    with pytest.raises(ModelHTTPError) as caught:
        await make_model().request([SYSTEM, USER], TOOLS)

    assert (caught.value.status_code, caught.value.code) == (429, "insufficient_quota")
    assert route.call_count == 1


# -- broken bodies ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "bad",
    [
        httpx.Response(200, text="<html><body>502 Bad Gateway</body></html>"),
        httpx.Response(200, content=b'{"id": "chatcmpl-1", "choices": [',
                       headers={"content-type": "application/json"}),
        httpx.Response(200, json={"id": "chatcmpl-1", "object": "chat.completion"}),
        httpx.Response(200, json={"error": {"message": "model is loading"}}),
        httpx.Response(200, json={"choices": [{"index": 0, "message": {"content": 42}}]}),
    ],
    ids=["html", "truncated-json", "no-choices", "error-object", "content-not-text"],
)
async def test_a_broken_200_body_is_retried_once_then_raises(
    mock_api: respx.MockRouter,
    make_model: Callable[..., OpenAIChatModel],
    bad: httpx.Response,
) -> None:
    route = mock_api.post(ENDPOINT).mock(return_value=bad)
    log = UsageLog()

    with pytest.raises(ModelResponseInvalid) as caught:
        await make_model(recorder=log).request([SYSTEM, USER], TOOLS)

    assert route.call_count == 2
    assert caught.value.status_code == 200
    assert caught.value.body  # an excerpt, for the operator's log
    assert (log.records[0].outcome, log.records[0].attempts) == ("invalid", 2)


async def test_a_broken_body_then_a_good_one_succeeds(
    mock_api: respx.MockRouter, make_model: Callable[..., OpenAIChatModel]
) -> None:
    mock_api.post(ENDPOINT).mock(side_effect=[httpx.Response(200, text="oops"), ok()])

    response = await make_model().request([SYSTEM, USER], TOOLS)

    assert (response.content, response.attempts) == ("Hello!", 2)


# -- construction from settings ----------------------------------------------------------------------


async def test_create_model_offline_speaks_the_same_protocol_in_process() -> None:
    seen: list[httpx.Request] = []

    def offline_app(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json=completion("offline hello", model="offline"))

    model = create_model(AgentSettings(model="offline"), offline_transport=httpx.MockTransport(offline_app))

    response = await model.request([SYSTEM, USER], TOOLS)
    await model.aclose()

    assert response.content == "offline hello"
    assert str(seen[0].url) == f"{OFFLINE_BASE_URL}/chat/completions"
    assert seen[0].headers["authorization"] == "Bearer offline"
    assert json.loads(seen[0].content)["messages"] == [SYSTEM, USER]


def test_create_model_offline_without_the_offline_app_says_why(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "agent.offline.app", None)  # makes the import fail

    with pytest.raises(ModelConfigurationError, match=r"agent\.offline\.app"):
        create_model(AgentSettings(model="offline"))


async def test_create_model_for_a_real_endpoint_uses_key_base_url_and_limits(
    mock_api: respx.MockRouter,
) -> None:
    route = mock_api.post("http://vllm.internal:8000/v1/chat/completions").mock(return_value=ok())
    settings = AgentSettings(
        model="qwen2.5-7b-instruct", openai_api_key="sk-local", openai_base_url="http://vllm.internal:8000/v1",
        model_timeout_s=12, model_max_attempts=2,
    )
    model = create_model(settings, http_client=httpx.AsyncClient())

    await model.request([SYSTEM, USER], TOOLS)
    await model.aclose()

    request = route.calls[0].request
    assert request.headers["authorization"] == "Bearer sk-local"
    assert request.extensions["timeout"]["read"] == 12
    assert json.loads(request.content)["model"] == "qwen2.5-7b-instruct"


def test_settings_refuse_a_real_model_without_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "CHATPAY_OPENAI_API_KEY", "CHATPAY_OPENAI_BASE_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("CHATPAY_MODEL", "gpt-4o-mini")

    with pytest.raises(ValueError, match="needs OPENAI_API_KEY"):
        AgentSettings()
    with pytest.raises(ValueError, match="placeholder"):
        AgentSettings(openai_api_key="changethis")
    # A key-less local server is fine once its URL is given.
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:11434/v1")
    assert AgentSettings().openai_base_url == "http://127.0.0.1:11434/v1"


def test_settings_defaults_and_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("CHATPAY_MODEL", "CHATPAY_MODEL_TIMEOUT_S", "CHATPAY_PROMPT_DIR", "OPENAI_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    defaults = AgentSettings()
    assert (defaults.model, defaults.model_timeout_s, defaults.model_max_attempts) == ("offline", 20, 4)
    assert (defaults.model_max_retry_seconds, defaults.max_steps_per_turn) == (30, 4)
    assert defaults.history_turns == 8
    assert defaults.record_model_content is False
    assert (defaults.prompt_directory / "en" / "system.txt").is_file()  # the shipped prompts

    monkeypatch.setenv("CHATPAY_MODEL", "gpt-4o-mini")
    monkeypatch.setenv("CHATPAY_MODEL_TIMEOUT_S", "9")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-from-env")
    configured = AgentSettings()
    assert (configured.model, configured.model_timeout_s) == ("gpt-4o-mini", 9)
    assert configured.openai_api_key is not None
    assert configured.openai_api_key.get_secret_value() == "sk-from-env"
    assert "sk-from-env" not in repr(configured)


# -- no real network in tests ------------------------------------------------------------------------


async def test_an_unmocked_model_call_fails_the_test_instead_of_reaching_the_network() -> None:
    # The SDK's own default client (httpx2), exactly as production would build it.
    client = openai.AsyncOpenAI(base_url="https://api.openai.com/v1", api_key="sk-test", max_retries=0)
    model = OpenAIChatModel("gpt-test", client=client)

    with pytest.raises(pytest.fail.Exception, match="real network connection to api.openai.com"):
        await model.request([SYSTEM, USER], TOOLS)
    await client.close()


async def test_loopback_and_plain_httpx_are_guarded_differently() -> None:
    async with httpx.AsyncClient() as client:
        with pytest.raises(pytest.fail.Exception, match="example.com"):
            await client.get("https://example.com/")
        # Loopback is allowed through the guard (nothing listens here, so the connection fails).
        with pytest.raises(httpx.ConnectError):
            await client.get("http://127.0.0.1:9/")


@pytest.mark.allow_model_requests
def test_the_marker_lifts_the_guard() -> None:
    assert httpcore.AnyIOBackend.connect_tcp.__name__ == "connect_tcp"
