"""Deterministic stand-ins for a language model, shipped with the library for tests and evals.

This module only houses the test models (`ScriptedModel`, `FunctionModel`, `FailingModel`), the
builders that make their answers short to write (`text`, `tool_call`, `tool_calls`,
`raw_tool_call`) and `check_request`, which every test model runs on what it is sent.

`check_request` applies the rules a real Chat Completions endpoint enforces with a 400 (each tool
result answers a tool call of the assistant message just before it, every tool call gets its
result, arguments are strings, `tool_calls` is never an empty list, tool names are valid and
unique). A test model that skipped them
would let a broken history pass every test and fail only against a real provider.

Running out of script raises `ScriptExhausted`, an `AssertionError` on purpose: were it a
`ModelError`, the turn loop would quietly fall back to guided mode and the test could still pass.
"""

from __future__ import annotations

import inspect
import json
import re
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from copy import deepcopy
from dataclasses import dataclass
from typing import Any

from agent.errors import ModelUnavailable
from agent.model import Message, ModelRequestSettings, ModelResponse, ToolCall, ToolSchema

ResponseFunction = Callable[
    [list[Message], list[ToolSchema]], ModelResponse | Awaitable[ModelResponse]
]
"""Decides one answer from the request: `fn(messages, tools) -> ModelResponse` (sync or async)."""

ScriptItem = ModelResponse | BaseException | ResponseFunction

_TOOL_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_ROLES = frozenset({"system", "developer", "user", "assistant", "tool"})


class ScriptExhausted(AssertionError):
    """A scripted model was asked for more answers than it was given."""


class InvalidModelRequest(AssertionError):
    """The request breaks a rule a real Chat Completions endpoint would refuse with HTTP 400."""


@dataclass(frozen=True, slots=True)
class ModelCall:
    """One request as a test model received it (deep copies: later mutation cannot rewrite it)."""

    messages: list[Message]
    tools: list[ToolSchema]
    settings: ModelRequestSettings | None

    @property
    def tool_names(self) -> list[str]:
        return [tool["function"]["name"] for tool in self.tools]

    @property
    def last_message(self) -> Message:
        return self.messages[-1]


# -- builders -----------------------------------------------------------------------------------


def text(content: str) -> ModelResponse:
    """A plain text answer."""
    return ModelResponse(content=content, finish_reason="stop", model_name="test")


def raw_tool_call(name: str, arguments_json: str, *, call_id: str | None = None) -> ToolCall:
    """A tool call with literal argument text, e.g. malformed JSON to test the agent's recovery."""
    return ToolCall.from_json(call_id or f"call_{name}", name, arguments_json)


def tool_calls(
    *calls: tuple[str, Mapping[str, Any]] | ToolCall, content: str | None = None
) -> ModelResponse:
    """An answer calling several tools at once: `tool_calls(("a", {...}), ("b", {...}))`.

    Tuples get the ids `call_1`, `call_2`, ... in order; `ToolCall`s keep theirs.
    """
    built: list[ToolCall] = []
    for position, call in enumerate(calls, start=1):
        if isinstance(call, ToolCall):
            built.append(call)
            continue
        name, arguments = call
        built.append(ToolCall(
            id=f"call_{position}", name=name, arguments=dict(arguments),
            arguments_json=json.dumps(arguments, ensure_ascii=False),
        ))
    return ModelResponse(
        content=content, tool_calls=built, finish_reason="tool_calls", model_name="test"
    )


def tool_call(name: str, /, **arguments: Any) -> ModelResponse:
    """An answer calling one tool: `tool_call("add_to_cart", sku="TEA-01", quantity=2)`."""
    return tool_calls((name, arguments))


# -- request checks ------------------------------------------------------------------------------


def check_request(messages: Sequence[Message], tools: Sequence[ToolSchema]) -> None:
    """Raise `InvalidModelRequest` if a real endpoint would refuse these messages and tools."""
    names: set[str] = set()
    for index, tool in enumerate(tools):
        function = tool.get("function")
        if tool.get("type") != "function" or not isinstance(function, dict):
            raise InvalidModelRequest(f"tools[{index}] is not a function tool: {tool!r}")
        name = function.get("name")
        if not isinstance(name, str) or not _TOOL_NAME.match(name):
            raise InvalidModelRequest(f"tools[{index}] has an invalid name: {name!r}")
        if name in names:
            raise InvalidModelRequest(f"tool {name!r} is declared twice")
        names.add(name)

    if not messages:
        raise InvalidModelRequest("no messages")
    pending: dict[str, str] = {}  # tool-call id -> tool name, awaiting its result
    for index, message in enumerate(messages):
        role = message.get("role")
        if role not in _ROLES:
            raise InvalidModelRequest(f"messages[{index}] has an unknown role: {role!r}")
        if role == "tool":
            call_id = message.get("tool_call_id")
            if call_id not in pending:
                raise InvalidModelRequest(
                    f"messages[{index}] answers tool call {call_id!r}, which the assistant message "
                    "before it did not make (or which was already answered)"
                )
            del pending[call_id]
            if not isinstance(message.get("content"), str):
                raise InvalidModelRequest(f"messages[{index}] (tool) content must be a string")
            continue
        if pending:
            raise InvalidModelRequest(
                f"messages[{index}] follows tool calls without results: {sorted(pending)}"
            )
        if role == "assistant":
            pending = _assistant_calls(index, message)
    if pending:
        raise InvalidModelRequest(f"history ends with unanswered tool calls: {sorted(pending)}")


def _assistant_calls(index: int, message: Message) -> dict[str, str]:
    if "tool_calls" in message and not message["tool_calls"]:
        # OpenAI answers 400 "empty_array": the key must be left out when there are no calls.
        raise InvalidModelRequest(f"messages[{index}] has an empty tool_calls list; omit the key")
    calls = message.get("tool_calls") or []
    if message.get("content") is None and not calls:
        raise InvalidModelRequest(f"messages[{index}] (assistant) has neither content nor calls")
    pending: dict[str, str] = {}
    for call in calls:
        function = call.get("function") if isinstance(call, dict) else None
        if not isinstance(function, dict) or not isinstance(call.get("id"), str):
            raise InvalidModelRequest(f"messages[{index}] has a malformed tool call: {call!r}")
        if not isinstance(function.get("arguments"), str):
            raise InvalidModelRequest(
                f"messages[{index}] tool call {call['id']!r}: arguments must be a JSON string"
            )
        if call["id"] in pending:
            raise InvalidModelRequest(f"messages[{index}] repeats tool call id {call['id']!r}")
        pending[call["id"]] = str(function.get("name"))
    return pending


# -- models -------------------------------------------------------------------------------------


class _RecordingModel:
    """Shared by the test models: records each request and checks it like an endpoint would."""

    def __init__(self, name: str, *, check: bool) -> None:
        self.name = name
        self.calls: list[ModelCall] = []
        self._check = check

    def _receive(
        self,
        messages: Sequence[Message],
        tools: Sequence[ToolSchema],
        settings: ModelRequestSettings | None,
    ) -> ModelCall:
        call = ModelCall(deepcopy(list(messages)), deepcopy(list(tools)), settings)
        self.calls.append(call)
        if self._check:
            check_request(call.messages, call.tools)
        return call


async def _answer(fn: ResponseFunction, call: ModelCall) -> ModelResponse:
    # The function gets its own copies, so it may mutate them without touching `.calls`.
    result = fn(deepcopy(call.messages), deepcopy(call.tools))
    return await result if inspect.isawaitable(result) else result


class ScriptedModel(_RecordingModel):
    """Answers with its script, in order: responses, exceptions to raise, or functions to call."""

    def __init__(
        self, responses: Iterable[ScriptItem], *, name: str = "scripted", check: bool = True
    ) -> None:
        super().__init__(name, check=check)
        self._script = list(responses)

    @property
    def remaining(self) -> int:
        """Scripted answers not used yet."""
        return len(self._script) - len(self.calls)

    async def request(
        self,
        messages: Sequence[Message],
        tools: Sequence[ToolSchema],
        *,
        settings: ModelRequestSettings | None = None,
    ) -> ModelResponse:
        position = len(self.calls)
        call = self._receive(messages, tools, settings)
        if position >= len(self._script):
            raise ScriptExhausted(
                f"{self.name}: request #{position + 1} but only {len(self._script)} scripted "
                f"answer(s); last message: {call.last_message!r}"
            )
        item = self._script[position]
        if isinstance(item, BaseException):
            raise item
        if isinstance(item, ModelResponse):
            return item
        return await _answer(item, call)

    def assert_complete(self) -> None:
        """Fail unless every scripted answer was used."""
        if self.remaining > 0:
            raise AssertionError(
                f"{self.name}: {self.remaining} of {len(self._script)} scripted answer(s) unused"
            )


class FunctionModel(_RecordingModel):
    """Answers each request by calling `fn(messages, tools)`, sync or async."""

    def __init__(self, fn: ResponseFunction, *, name: str = "function", check: bool = True) -> None:
        super().__init__(name, check=check)
        self._fn = fn

    async def request(
        self,
        messages: Sequence[Message],
        tools: Sequence[ToolSchema],
        *,
        settings: ModelRequestSettings | None = None,
    ) -> ModelResponse:
        return await _answer(self._fn, self._receive(messages, tools, settings))


class FailingModel(_RecordingModel):
    """Always raises `exc` (default: `ModelUnavailable`, as after exhausted retries)."""

    def __init__(self, exc: BaseException | None = None, *, name: str = "failing") -> None:
        # No request checks: an outage happens whatever the request looked like.
        super().__init__(name, check=False)
        self.exc = exc or ModelUnavailable(
            model_name=name, attempts=4, last_status_code=503, last_error="scripted outage"
        )

    async def request(
        self,
        messages: Sequence[Message],
        tools: Sequence[ToolSchema],
        *,
        settings: ModelRequestSettings | None = None,
    ) -> ModelResponse:
        self._receive(messages, tools, settings)
        raise self.exc
