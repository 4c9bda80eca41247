"""The Chat Completions wire format, as far as the offline model speaks it.

This module only houses the request model (validated with pydantic, unknown fields allowed as the
OpenAI API allows them), the response body (`chat.completion` with `tool_calls` and `usage`), the
error body in OpenAI's shape, and the derivation of ids from a hash of the request, so that the
same request always gets byte-for-byte the same response. `created` is a fixed instant by default
for the same reason (`create_offline_app(clock=...)` takes a real clock).

The last line of defence against card numbers also lives here: text and string arguments of every
response go through `agent.redaction.redact` before they leave (the model never writes one, and
the shopper's are removed before they reach it, but this keeps it true whatever the rules do).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping, Sequence
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from agent.offline.decision import Decision, PlannedCall
from agent.redaction import redact

__all__ = [
    "ChatCompletionRequest",
    "completion_body",
    "completion_chunks",
    "error_body",
    "request_digest",
]

#: 2025-01-01T00:00:00Z: the `created` of every response unless a clock is given.
FIXED_CREATED = 1_735_689_600


class ChatMessage(BaseModel):
    """One message of the request; only what the offline model reads is typed."""

    model_config = ConfigDict(extra="allow")

    role: Literal["system", "developer", "user", "assistant", "tool", "function"]
    content: str | list[dict[str, Any]] | None = None
    name: str | None = None
    tool_calls: list[dict[str, Any]] | None = None
    tool_call_id: str | None = None


class ChatCompletionRequest(BaseModel):
    """The request body of POST /v1/chat/completions."""

    model_config = ConfigDict(extra="allow")

    model: str = Field(min_length=1)
    messages: list[ChatMessage] = Field(min_length=1)
    tools: list[dict[str, Any]] | None = None
    tool_choice: str | dict[str, Any] | None = None
    stream: bool | None = None
    n: int | None = Field(default=None, ge=1, le=1)

    def offered_tools(self) -> set[str]:
        names = set()
        for tool in self.tools or []:
            function = tool.get("function")
            if isinstance(function, Mapping) and isinstance(function.get("name"), str):
                names.add(function["name"])
        return names

    def message_dicts(self) -> list[dict[str, Any]]:
        return [message.model_dump(exclude_none=True) for message in self.messages]


def request_digest(body: Mapping[str, Any]) -> str:
    """SHA-256 of the parts of a request that decide its answer (canonical JSON)."""
    decisive = {key: body.get(key) for key in ("model", "messages", "tools", "tool_choice")}
    canonical = json.dumps(decisive, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                           default=str)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def _scrub(text: str) -> str:
    redaction = redact(text)
    return redaction.text if redaction.found_card else text


def _scrub_arguments(value: Any) -> Any:
    if isinstance(value, str):
        return _scrub(value)
    if isinstance(value, Mapping):
        return {key: _scrub_arguments(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_scrub_arguments(item) for item in value]
    return value


def tool_call_dicts(digest: str, calls: Sequence[PlannedCall]) -> list[dict[str, Any]]:
    """The `tool_calls` of the answer, ids derived from the request digest and the call."""
    result = []
    for index, planned in enumerate(calls):
        arguments = json.dumps(_scrub_arguments(dict(planned.arguments)), ensure_ascii=False,
                               separators=(",", ":"))
        seed = f"{digest}:{index}:{planned.name}:{arguments}".encode()
        result.append({"id": f"call_{hashlib.sha256(seed).hexdigest()[:24]}", "type": "function",
                       "function": {"name": planned.name, "arguments": arguments}})
    return result


def completion_body(*, digest: str, model: str, created: int, decision: Decision,
                    tool_calls: list[dict[str, Any]], usage: tuple[int, int]) -> dict[str, Any]:
    """A `chat.completion` body for a decision."""
    text = _scrub(decision.text) if decision.text else None
    message: dict[str, Any] = {"role": "assistant", "content": text, "refusal": None}
    if tool_calls:
        message["tool_calls"] = tool_calls
    prompt, completion = usage
    return {
        "id": f"chatcmpl-{digest[:24]}",
        "object": "chat.completion",
        "created": created,
        "model": model,
        "choices": [{"index": 0, "message": message, "logprobs": None,
                     "finish_reason": "tool_calls" if tool_calls else "stop"}],
        "usage": {"prompt_tokens": prompt, "completion_tokens": completion,
                  "total_tokens": prompt + completion},
        "system_fingerprint": "chatpay-offline",
    }


#: A streamed text piece: a word with its trailing space, or at most 12 characters of a text
#: without spaces (Japanese), as real models stream a token or a few at a time.
_PIECE = re.compile(r"\S{1,12}\s*|\s+")


def completion_chunks(body: dict[str, Any], *, include_usage: bool) -> list[dict[str, Any]]:
    """The `chat.completion.chunk` objects a streaming server would send for `body`.

    Same id, model and content as the plain answer: the role first, the text in word-sized pieces,
    each tool call in two pieces (id and name, then the arguments), then the finish reason and,
    when asked for, the usage in a chunk without choices (as OpenAI sends it).
    """
    choice = body["choices"][0]
    message = choice["message"]
    head = {"id": body["id"], "object": "chat.completion.chunk", "created": body["created"],
            "model": body["model"], "system_fingerprint": body.get("system_fingerprint")}

    def chunk(delta: dict[str, Any], finish_reason: str | None = None) -> dict[str, Any]:
        return {**head, "choices": [{"index": 0, "delta": delta, "logprobs": None,
                                     "finish_reason": finish_reason}]}

    chunks = [chunk({"role": "assistant", "content": ""})]
    chunks += [chunk({"content": piece}) for piece in _PIECE.findall(message.get("content") or "")]
    for index, call in enumerate(message.get("tool_calls") or []):
        function = call["function"]
        chunks.append(chunk({"tool_calls": [{"index": index, "id": call["id"], "type": "function",
                                             "function": {"name": function["name"],
                                                          "arguments": ""}}]}))
        chunks.append(chunk({"tool_calls": [{"index": index,
                                             "function": {"arguments": function["arguments"]}}]}))
    chunks.append(chunk({}, choice["finish_reason"]))
    if include_usage:
        chunks.append({**head, "choices": [], "usage": body["usage"]})
    return chunks


def error_body(message: str, *, param: str | None = None, code: str | None = None,
               error_type: str = "invalid_request_error") -> dict[str, Any]:
    """OpenAI's error shape: {"error": {"message", "type", "param", "code"}}."""
    return {"error": {"message": message, "type": error_type, "param": param, "code": code}}
