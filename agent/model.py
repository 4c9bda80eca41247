"""The model interface: what the turn loop sends to a language model and what it gets back.

This module only houses the `Model` protocol and its value types (`ModelRequestSettings`,
`ModelResponse`, `ToolCall`). Messages and tools are OpenAI Chat Completions dicts built by the
agent; a model passes them through unchanged, so the prompt prefix (system prompt + tool schemas)
stays byte-identical between calls and providers' prompt caches hit.

A model that can stream also implements `StreamingModel.request_stream`: the same answer, with each
piece of text handed to a callback as it arrives, so a shopper sees a real model's first words at
once. The turn loop uses it only when somebody listens (the SSE endpoint).

Malformed tool arguments are not an exception: `ToolCall.parse_error` says what is wrong with the
raw text and the agent sends a structured error back to the model, which usually corrects itself.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from agent.usage import Usage

Message = dict[str, Any]
"""One Chat Completions message: system / user / assistant (optional `tool_calls`) / tool."""

ToolSchema = dict[str, Any]
"""One OpenAI tool: `{"type": "function", "function": {"name", "description", "parameters"?}}`."""


@dataclass(frozen=True, slots=True)
class ModelRequestSettings:
    """Per-request knobs; `None` means "not sent", so endpoints that reject a parameter never see it."""

    temperature: float | None = None
    max_tokens: int | None = None
    parallel_tool_calls: bool | None = None
    timeout_s: float | None = None  # per attempt; the retry budget may shorten it further


def parse_tool_arguments(arguments_json: str) -> tuple[dict[str, Any] | None, str | None]:
    """`(arguments, None)` for a JSON object, `(None, reason)` for anything else."""
    if not arguments_json.strip():
        # Several OpenAI-compatible servers send "" for a tool called without arguments.
        return {}, None
    try:
        value = json.loads(arguments_json)
    except (ValueError, RecursionError) as exc:  # RecursionError: absurdly deep nesting
        return None, f"arguments are not valid JSON: {exc}"
    if not isinstance(value, dict):
        return None, f"arguments must be a JSON object, got {_json_kind(value)}"
    return value, None


def _json_kind(value: object) -> str:
    kinds: list[tuple[type, str]] = [
        (list, "an array"), (str, "a string"), (bool, "a boolean"),
        (int, "a number"), (float, "a number"),
    ]
    for kind, name in kinds:
        if isinstance(value, kind):
            return name
    return "null" if value is None else type(value).__name__


@dataclass(frozen=True, slots=True)
class ToolCall:
    """A tool call requested by the model, with its raw argument text and the parsed object."""

    id: str
    name: str
    arguments_json: str  # exactly as the model wrote it, echoed back verbatim in history
    arguments: dict[str, Any] | None  # the parsed JSON object, None when `parse_error` is set
    parse_error: str | None = None

    @classmethod
    def from_json(cls, id: str, name: str, arguments_json: str) -> ToolCall:
        """A tool call whose arguments are parsed from `arguments_json`."""
        arguments, parse_error = parse_tool_arguments(arguments_json)
        return cls(id=id, name=name, arguments_json=arguments_json, arguments=arguments,
                   parse_error=parse_error)

    def to_message_part(self) -> dict[str, Any]:
        """The Chat Completions `tool_calls[]` entry for this call."""
        return {
            "id": self.id,
            "type": "function",
            "function": {"name": self.name, "arguments": self.arguments_json},
        }


@dataclass(frozen=True, slots=True)
class ModelResponse:
    """One model answer: text and/or tool calls, plus what it cost."""

    content: str | None
    tool_calls: list[ToolCall] = field(default_factory=list)
    finish_reason: str | None = None
    usage: Usage = field(default_factory=Usage)
    latency_ms: float = 0.0  # the whole request() call, retries and back-off included
    model_name: str = ""  # as reported by the endpoint (e.g. a dated snapshot), else as requested
    attempts: int = 1

    def to_message(self) -> Message:
        """The assistant message to append to history before the tool results."""
        message: Message = {"role": "assistant", "content": self.content}
        if self.tool_calls:
            message["tool_calls"] = [call.to_message_part() for call in self.tool_calls]
        return message


@runtime_checkable
class Model(Protocol):
    """Anything that answers a Chat Completions request: the OpenAI client, the test models."""

    name: str

    async def request(
        self,
        messages: Sequence[Message],
        tools: Sequence[ToolSchema],
        *,
        settings: ModelRequestSettings | None = None,
    ) -> ModelResponse:
        """Answer `messages` with `tools` available.

        Raises `agent.errors.ModelError` when no usable answer could be obtained.
        """
        ...


TextSink = Callable[[str], Awaitable[None]]
"""Receives each piece of assistant text as a streaming model produces it."""


@runtime_checkable
class StreamingModel(Model, Protocol):
    """A model that can also hand over its text while it is still writing."""

    async def request_stream(
        self,
        messages: Sequence[Message],
        tools: Sequence[ToolSchema],
        *,
        on_text: TextSink,
        settings: ModelRequestSettings | None = None,
    ) -> ModelResponse:
        """Answer as `request` does, calling `on_text` with each text delta on the way.

        Failures before the first delta are retried as `request` retries them; a failure after
        text was handed over is not (the shopper has seen it) and raises `ModelUnavailable`.
        """
        ...
