"""The test models shipped in agent.testing behave like a strict, predictable endpoint."""

from __future__ import annotations

import json
from typing import Any

import pytest

from agent.errors import ModelError, ModelUnavailable
from agent.model import Message, Model, ModelResponse, ToolSchema
from agent.testing import (
    FailingModel,
    FunctionModel,
    InvalidModelRequest,
    ScriptedModel,
    ScriptExhausted,
    check_request,
    raw_tool_call,
    text,
    tool_call,
    tool_calls,
)

SYSTEM: Message = {"role": "system", "content": "You are the shop assistant."}
USER: Message = {"role": "user", "content": "two sencha please"}
TOOLS: list[ToolSchema] = [
    {"type": "function", "function": {"name": "add_to_cart", "description": "Add.",
                                      "parameters": {"type": "object", "properties": {}}}},
    {"type": "function", "function": {"name": "view_cart", "description": "Show.",
                                      "parameters": {"type": "object", "properties": {}}}},
]


def tool_result(call_id: str, payload: dict[str, Any]) -> Message:
    return {"role": "tool", "tool_call_id": call_id, "content": json.dumps(payload)}


# -- builders ------------------------------------------------------------------------------------


def test_builders_make_well_formed_responses() -> None:
    assert text("hi") == ModelResponse(content="hi", finish_reason="stop", model_name="test")

    single = tool_call("add_to_cart", sku="TEA-01", quantity=2)
    [call] = single.tool_calls
    assert (call.id, call.name, call.arguments) == ("call_1", "add_to_cart", {"sku": "TEA-01", "quantity": 2})
    assert json.loads(call.arguments_json) == call.arguments
    assert single.finish_reason == "tool_calls"

    several = tool_calls(("add_to_cart", {"sku": "A"}), ("view_cart", {}), content="On it.")
    assert [(c.id, c.name) for c in several.tool_calls] == [
        ("call_1", "add_to_cart"), ("call_2", "view_cart")]
    assert several.content == "On it."


def test_raw_tool_call_scripts_malformed_arguments() -> None:
    broken = raw_tool_call("add_to_cart", '{"sku": ', call_id="call_9")
    assert (broken.id, broken.arguments) == ("call_9", None)
    assert broken.parse_error is not None and "not valid JSON" in broken.parse_error
    response = tool_calls(broken, ("view_cart", {}))
    assert [c.id for c in response.tool_calls] == ["call_9", "call_2"]


# -- ScriptedModel -------------------------------------------------------------------------------


async def test_scripted_model_answers_in_order_and_records_each_request() -> None:
    model = ScriptedModel([tool_call("add_to_cart", sku="TEA-01"), text("Added.")])
    assert isinstance(model, Model)
    messages = [SYSTEM, USER]

    first = await model.request(messages, TOOLS)
    messages += [first.to_message(), tool_result(first.tool_calls[0].id, {"ok": True})]
    second = await model.request(messages, TOOLS)

    assert second.content == "Added."
    assert len(model.calls) == 2
    assert model.calls[0].messages == [SYSTEM, USER]  # a copy: the later append is not in it
    assert model.calls[1].last_message["role"] == "tool"
    assert model.calls[1].tool_names == ["add_to_cart", "view_cart"]
    model.assert_complete()


async def test_recorded_calls_are_deep_copies() -> None:
    model = ScriptedModel([text("ok")])
    user = {"role": "user", "content": "original"}

    await model.request([SYSTEM, user], TOOLS)
    user["content"] = "mutated afterwards"

    assert model.calls[0].messages[1]["content"] == "original"


async def test_scripted_exceptions_and_functions() -> None:
    outage = ModelUnavailable(model_name="m", attempts=4, last_status_code=503, last_error="down")
    model = ScriptedModel([
        outage,
        lambda messages, tools: text(f"{len(messages)} messages, {len(tools)} tools"),
    ])

    with pytest.raises(ModelUnavailable) as caught:
        await model.request([SYSTEM, USER], TOOLS)
    answer = await model.request([SYSTEM, USER], TOOLS)

    assert caught.value is outage
    assert answer.content == "2 messages, 2 tools"


async def test_running_out_of_script_fails_the_test_rather_than_looking_like_an_outage() -> None:
    model = ScriptedModel([text("only one")])
    await model.request([SYSTEM, USER], TOOLS)

    with pytest.raises(ScriptExhausted, match="request #2 but only 1") as caught:
        await model.request([SYSTEM, USER], TOOLS)

    # The turn loop catches ModelError for guided mode; this must not be one.
    assert not isinstance(caught.value, ModelError)
    assert isinstance(caught.value, AssertionError)


def test_assert_complete_reports_unused_answers() -> None:
    model = ScriptedModel([text("a"), text("b")])
    with pytest.raises(AssertionError, match="2 of 2 scripted answer"):
        model.assert_complete()


# -- FunctionModel and FailingModel ----------------------------------------------------------------


async def test_function_model_accepts_sync_and_async_functions() -> None:
    def echo(messages: list[Message], tools: list[ToolSchema]) -> ModelResponse:
        return text(f"you said: {messages[-1]['content']}")

    async def count(messages: list[Message], tools: list[ToolSchema]) -> ModelResponse:
        return text(str(len(tools)))

    assert (await FunctionModel(echo).request([SYSTEM, USER], TOOLS)).content == "you said: two sencha please"
    counted = FunctionModel(count)
    assert (await counted.request([SYSTEM, USER], TOOLS)).content == "2"
    assert len(counted.calls) == 1


async def test_function_model_cannot_rewrite_recorded_calls() -> None:
    def vandal(messages: list[Message], tools: list[ToolSchema]) -> ModelResponse:
        messages.clear()
        return text("done")

    model = FunctionModel(vandal)
    await model.request([SYSTEM, USER], TOOLS)

    assert model.calls[0].messages == [SYSTEM, USER]


async def test_failing_model_always_raises() -> None:
    default = FailingModel()
    custom = FailingModel(TimeoutError("boom"))

    for _ in range(2):
        with pytest.raises(ModelUnavailable):
            await default.request([SYSTEM, USER], TOOLS)
    with pytest.raises(TimeoutError):
        await custom.request([SYSTEM, USER], TOOLS)

    assert len(default.calls) == 2


# -- request checks --------------------------------------------------------------------------------


def test_a_well_formed_tool_round_trip_passes() -> None:
    response = tool_calls(("add_to_cart", {"sku": "A"}), ("view_cart", {}))
    history = [SYSTEM, USER, response.to_message(),
               tool_result("call_1", {"ok": True}), tool_result("call_2", {"ok": True})]
    check_request(history, TOOLS)


@pytest.mark.parametrize(
    ("history", "problem"),
    [
        ([SYSTEM, USER, tool_result("call_1", {})], "did not make"),
        ([SYSTEM, USER, tool_call("add_to_cart").to_message(), USER], "without results"),
        ([SYSTEM, USER, tool_call("add_to_cart").to_message()], "unanswered"),
        ([SYSTEM, USER, {"role": "assistant", "content": None, "tool_calls": [
            {"id": "c", "type": "function", "function": {"name": "view_cart", "arguments": {}}}]}],
         "JSON string"),
        ([SYSTEM, {"role": "shopper", "content": "hi"}], "unknown role"),
        ([SYSTEM, USER, {"role": "assistant", "content": None}], "neither content nor calls"),
        ([SYSTEM, USER, {"role": "assistant", "content": "Hi", "tool_calls": []}], "empty tool_calls"),
    ],
    ids=["orphan-result", "missing-result", "ends-unanswered", "object-arguments", "bad-role",
         "empty-assistant", "empty-tool-calls"],
)
async def test_test_models_refuse_what_a_real_endpoint_would(history: list[Message], problem: str) -> None:
    model = ScriptedModel([text("never")])

    with pytest.raises(InvalidModelRequest, match=problem):
        await model.request(history, TOOLS)


def test_tool_declarations_are_checked() -> None:
    with pytest.raises(InvalidModelRequest, match="declared twice"):
        check_request([USER], [TOOLS[0], TOOLS[0]])
    bad_name = {"type": "function", "function": {"name": "add to cart", "parameters": {}}}
    with pytest.raises(InvalidModelRequest, match="invalid name"):
        check_request([USER], [bad_name])
