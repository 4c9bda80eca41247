"""The offline model over the wire: the real `openai` client against the in-process ASGI app."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import openai
import pytest

from agent.offline import create_offline_app, tokens
from agent.tool_schemas import openai_tools
from tests.agent.offline.factories import SENCHA, build_messages, line, state

BASE_URL = "http://offline.chatpay.invalid/v1"


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=create_offline_app())
    async with httpx.AsyncClient(transport=transport, base_url=BASE_URL) as client:
        yield client


@pytest.fixture
async def client() -> AsyncIterator[openai.AsyncOpenAI]:
    http_client = httpx.AsyncClient(transport=httpx.ASGITransport(app=create_offline_app()))
    sdk = openai.AsyncOpenAI(api_key="offline", base_url=BASE_URL, max_retries=0,
                             http_client=http_client)  # type: ignore[arg-type]
    yield sdk
    await sdk.close()


async def test_tool_calls_and_text_parse_through_the_sdk(client: openai.AsyncOpenAI) -> None:
    messages = build_messages("add two sencha", block=state(recent=[SENCHA]))
    response = await client.chat.completions.create(
        model="offline", messages=messages,  # type: ignore[arg-type]
        tools=list(openai_tools()))  # type: ignore[arg-type]
    choice = response.choices[0]
    assert response.object == "chat.completion" and response.model == "offline"
    assert choice.finish_reason == "tool_calls"
    assert choice.message.content == ("Added 2 × Sencha green tea 100 g to your cart. Anything "
                                      "else, or would you like to check out?")
    calls = choice.message.tool_calls or []
    assert len(calls) == 1 and calls[0].type == "function"
    function = calls[0].function
    assert function.name == "add_to_cart"
    assert json.loads(function.arguments) == {"sku": "TEA-SENCHA", "quantity": 2}
    assert calls[0].id.startswith("call_")


async def test_usage_counts_prompt_and_answer(client: openai.AsyncOpenAI) -> None:
    messages = build_messages("こんにちは", block=state(locale="ja"))
    tools = list(openai_tools())
    response = await client.chat.completions.create(
        model="offline", messages=messages, tools=tools)  # type: ignore[arg-type]
    usage = response.usage
    assert usage is not None
    assert usage.prompt_tokens == tokens.prompt_tokens(messages, tools)
    assert usage.completion_tokens == tokens.count_text(response.choices[0].message.content or "")
    assert usage.total_tokens == usage.prompt_tokens + usage.completion_tokens
    assert response.choices[0].finish_reason == "stop"
    # The system prompt and the tool schemas alone are well over a thousand tokens.
    assert usage.prompt_tokens > 1000 and usage.completion_tokens > 10


async def test_same_request_same_response(http: httpx.AsyncClient) -> None:
    body = {"model": "offline", "messages": build_messages("add two sencha and a mug"),
            "tools": list(openai_tools())}
    first = await http.post("/chat/completions", json=body)
    second = await http.post("/chat/completions", json=body)
    assert first.status_code == 200
    assert first.content == second.content
    calls = first.json()["choices"][0]["message"]["tool_calls"]
    assert len({call["id"] for call in calls}) == 2


async def test_a_different_request_gets_different_ids(http: httpx.AsyncClient) -> None:
    tools = list(openai_tools())
    one = await http.post("/chat/completions", json={
        "model": "offline", "messages": build_messages("hi"), "tools": tools})
    two = await http.post("/chat/completions", json={
        "model": "offline", "messages": build_messages("hello"), "tools": tools})
    assert one.json()["id"] != two.json()["id"]


async def test_no_tool_calls_when_tools_are_not_offered(http: httpx.AsyncClient) -> None:
    messages = build_messages("add two sencha", block=state(recent=[SENCHA]))
    response = await http.post("/chat/completions", json={"model": "offline",
                                                           "messages": messages})
    message = response.json()["choices"][0]["message"]
    assert "tool_calls" not in message and message["content"]
    assert response.json()["choices"][0]["finish_reason"] == "stop"


async def test_tool_choice_none_keeps_the_text(http: httpx.AsyncClient) -> None:
    messages = build_messages("checkout", block=state(cart=[line(SENCHA)]))
    response = await http.post("/chat/completions", json={
        "model": "offline", "messages": messages, "tools": list(openai_tools()),
        "tool_choice": "none"})
    message = response.json()["choices"][0]["message"]
    assert "tool_calls" not in message
    assert "deliver" in message["content"]


@pytest.mark.parametrize(("body", "param"), [
    ({"model": "offline"}, "messages"),
    ({"model": "offline", "messages": []}, "messages"),
    ({"model": "offline", "messages": [{"role": "wizard", "content": "hi"}]}, "messages.0.role"),
    ({"messages": [{"role": "user", "content": "hi"}]}, "model"),
])
async def test_bad_bodies_get_openai_style_400s(http: httpx.AsyncClient, body: dict[str, Any],
                                                param: str) -> None:
    response = await http.post("/chat/completions", json=body)
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["type"] == "invalid_request_error" and error["param"] == param
    assert error["message"]


async def test_a_streamed_answer_adds_up_to_the_plain_one(client: openai.AsyncOpenAI) -> None:
    """Streaming changes the delivery, not the answer: same text, same tool calls, same usage."""
    pieces_per_answer = []
    tools: Any = list(openai_tools())
    for text in ("hello, what can you do?", "I want a mug"):
        messages: Any = [{"role": "user", "content": text}]
        plain = await client.chat.completions.create(model="offline", messages=messages,
                                                     tools=tools)
        stream = await client.chat.completions.create(
            model="offline", messages=messages, tools=tools,
            stream=True, stream_options={"include_usage": True})
        pieces: list[str] = []
        calls: dict[int, dict[str, str]] = {}
        usage = None
        finish = None
        async for chunk in stream:
            usage = chunk.usage or usage
            for choice in chunk.choices:
                finish = choice.finish_reason or finish
                pieces.append(choice.delta.content or "")
                for call in choice.delta.tool_calls or []:
                    entry = calls.setdefault(call.index, {"name": "", "arguments": ""})
                    entry["name"] += (call.function.name or "") if call.function else ""
                    entry["arguments"] += (call.function.arguments or "") if call.function else ""
        message = plain.choices[0].message
        assert "".join(pieces) == (message.content or "")
        assert [c["name"] for c in calls.values()] == [
            c.function.name for c in message.tool_calls or []]  # type: ignore[union-attr]
        assert [c["arguments"] for c in calls.values()] == [
            c.function.arguments for c in message.tool_calls or []]  # type: ignore[union-attr]
        assert finish == plain.choices[0].finish_reason
        assert usage is not None and plain.usage is not None
        assert usage.prompt_tokens == plain.usage.prompt_tokens
        pieces_per_answer.append(len([p for p in pieces if p]))
    assert pieces_per_answer[0] > 10  # the text comes word by word ...
    assert pieces_per_answer[1] == 0  # ... and the mug answer is a tool call without text


async def test_a_body_that_is_not_json_is_a_400(http: httpx.AsyncClient) -> None:
    response = await http.post("/chat/completions", content=b"{not json",
                               headers={"content-type": "application/json"})
    assert response.status_code == 400
    assert response.json()["error"]["type"] == "invalid_request_error"


async def test_the_sdk_raises_bad_request_for_a_400(client: openai.AsyncOpenAI) -> None:
    with pytest.raises(openai.BadRequestError):
        await client.chat.completions.create(model="offline", messages=[])


async def test_models_are_listed(client: openai.AsyncOpenAI, http: httpx.AsyncClient) -> None:
    models = await client.models.list()
    assert [model.id for model in models.data] == ["offline"]
    assert (await http.get("/models/offline")).json()["id"] == "offline"
    missing = await http.get("/models/gpt-9")
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "model_not_found"


async def test_unknown_paths_answer_in_the_error_shape(http: httpx.AsyncClient) -> None:
    response = await http.get("/completions")
    assert response.status_code == 404 and "error" in response.json()
    wrong_method = await http.get("/chat/completions")
    assert wrong_method.status_code == 405 and "error" in wrong_method.json()


async def test_a_real_clock_can_be_given() -> None:
    transport = httpx.ASGITransport(app=create_offline_app(clock=lambda: 1_800_000_000.5))
    async with httpx.AsyncClient(transport=transport, base_url=BASE_URL) as http:
        response = await http.post("/chat/completions", json={
            "model": "offline", "messages": build_messages("hi")})
    assert response.json()["created"] == 1_800_000_000


async def test_the_agent_model_wrapper_reaches_it_in_process() -> None:
    from agent.openai_model import OFFLINE_API_KEY, OFFLINE_BASE_URL, OpenAIChatModel

    transport = httpx.ASGITransport(app=create_offline_app())
    model = OpenAIChatModel("offline", api_key=OFFLINE_API_KEY, base_url=OFFLINE_BASE_URL,
                            http_client=httpx.AsyncClient(transport=transport))
    try:
        response = await model.request(build_messages("レジへ", block=state(
            locale="ja", cart=[line(SENCHA)])), list(openai_tools()))
    finally:
        await model.aclose()
    assert [call.name for call in response.tool_calls] == ["show_address_form"]
    assert response.content and "お届け先" in response.content
    assert response.usage.prompt_tokens > 0
