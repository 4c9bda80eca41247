"""Putting a streamed Chat Completions answer back together.

This module only houses `ChunkAccumulator`. A streamed answer arrives as `chat.completion.chunk`
objects: text in `delta.content` pieces, each tool call in pieces keyed by `index` (the id and name
usually in the first piece, the arguments spread over the rest), `finish_reason` near the end and,
when asked for with `stream_options.include_usage`, the usage in a last chunk with no choices.
`body()` rebuilds the non-streamed `chat.completion` body, so one parser judges both paths.

Lenient in the same places as the plain parser: a tool call without an id gets none here (the parser
names it), a name sent in pieces is joined, chunks for other choices than the first are ignored.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class _PartialCall:
    id: str | None = None
    name: str = ""
    arguments: str = ""


@dataclass
class ChunkAccumulator:
    """Feed it chunk dicts in order; it returns each chunk's new text and rebuilds the body."""

    _text: list[str] = field(default_factory=list)
    _refusal: list[str] = field(default_factory=list)
    _calls: dict[int, _PartialCall] = field(default_factory=dict)
    _finish_reason: str | None = None
    _usage: dict[str, Any] | None = None
    _model: str | None = None
    _saw_choice: bool = False

    def add(self, chunk: dict[str, Any]) -> str:
        """Take one chunk; return the assistant text it adds ("" when none)."""
        model = chunk.get("model")
        if isinstance(model, str) and model:
            self._model = model
        usage = chunk.get("usage")
        if isinstance(usage, dict):
            self._usage = usage
        choices = chunk.get("choices")
        if not isinstance(choices, list):
            return ""
        text = ""
        for choice in choices:
            if not isinstance(choice, dict) or choice.get("index", 0) != 0:
                continue
            self._saw_choice = True
            delta = choice.get("delta")
            if isinstance(delta, dict):
                content = delta.get("content")
                if isinstance(content, str):
                    text += content
                refusal = delta.get("refusal")
                if isinstance(refusal, str):
                    self._refusal.append(refusal)
                self._add_calls(delta.get("tool_calls"))
            finish = choice.get("finish_reason")
            if isinstance(finish, str) and finish:
                self._finish_reason = finish
        if text:
            self._text.append(text)
        return text

    def _add_calls(self, pieces: object) -> None:
        if not isinstance(pieces, list):
            return
        for position, piece in enumerate(pieces):
            if not isinstance(piece, dict):
                continue
            index = piece.get("index")
            key = index if isinstance(index, int) else position
            call = self._calls.setdefault(key, _PartialCall())
            if isinstance(piece.get("id"), str) and piece["id"]:
                call.id = piece["id"]
            function = piece.get("function")
            if isinstance(function, dict):
                if isinstance(function.get("name"), str):
                    call.name += function["name"]
                if isinstance(function.get("arguments"), str):
                    call.arguments += function["arguments"]

    def body(self, requested_model: str) -> dict[str, Any]:
        """The `chat.completion` body these chunks add up to (no choices if none came)."""
        if not self._saw_choice:
            # An empty stream is not an empty answer: the parser refuses a body without choices.
            return {"model": self._model or requested_model, "choices": []}
        message: dict[str, Any] = {"role": "assistant",
                                   "content": "".join(self._text) if self._text else None}
        if self._refusal:
            message["refusal"] = "".join(self._refusal)
        if self._calls:
            message["tool_calls"] = [
                {"id": call.id, "type": "function",
                 "function": {"name": call.name, "arguments": call.arguments}}
                for _, call in sorted(self._calls.items())
            ]
        body: dict[str, Any] = {
            "model": self._model or requested_model,
            "choices": [{"index": 0, "message": message, "finish_reason": self._finish_reason}],
        }
        if self._usage is not None:
            body["usage"] = self._usage
        return body
