"""Token counts for the offline model's `usage`, as an OpenAI model would report them.

This module only houses counting. Text is encoded with the o200k_base vocabulary (the GPT-4o family)
by the `bpe-openai` package, which ships the vocabulary inside the wheel and so works offline
(tiktoken downloads its vocabularies on first use). Chat framing is added the way OpenAI documents
for its chat models: 3 tokens per message plus 1 for a name, 3 to prime the reply; tool schemas
are counted as their canonical JSON. The counts are close to, not exactly, what OpenAI bills: the
exact framing of tools and tool calls is not published.

If the package cannot be loaded, counts fall back to an estimate: one token per 4 ASCII characters
plus one per other character (a kanji or kana is about one token in o200k_base), never zero for
non-empty text. `TOKENIZER` says which method is in use.
"""

from __future__ import annotations

import importlib
import json
import math
import threading
import warnings
from collections.abc import Mapping, Sequence
from functools import lru_cache
from typing import Any, Protocol

__all__ = ["ESTIMATE", "TOKENIZER", "completion_tokens", "count_text", "estimate_tokens",
           "is_loaded", "prompt_tokens", "tokenizer_name"]

_PER_MESSAGE = 3
_PER_NAME = 1
_REPLY_PRIMING = 3
_PER_TOOL_CALL = 3


class _Encoding(Protocol):
    def encode_ordinary(self, text: str) -> list[int]: ...


_lock = threading.Lock()
_encoding: _Encoding | None = None
_loaded = False
TOKENIZER = "bpe-openai:o200k_base"
ESTIMATE = "estimate:ascii/4+other"


def _load() -> _Encoding | None:
    """The o200k_base encoding, loaded once (about half a second); None if unavailable."""
    global _encoding, _loaded
    with _lock:
        if not _loaded:
            try:
                with warnings.catch_warnings():
                    # bpe-openai 0.1 reads its vocabulary with a deprecated importlib call.
                    warnings.simplefilter("ignore", DeprecationWarning)
                    module: Any = importlib.import_module("bpe_openai")
                    _encoding = module.get_encoding("o200k_base")
            except Exception:  # noqa: BLE001 - any failure to load means "estimate instead"
                _encoding = None
            _loaded = True
    return _encoding


def is_loaded() -> bool:
    """Whether loading was already attempted (successfully or not)."""
    return _loaded


def tokenizer_name() -> str:
    """Which counting method is in use (loads the tokenizer if it is not loaded yet)."""
    return TOKENIZER if _load() is not None else ESTIMATE


def estimate_tokens(text: str) -> int:
    """The fallback count: one token per 4 ASCII characters plus one per other character."""
    ascii_chars = sum(1 for ch in text if ch.isascii())
    return math.ceil(ascii_chars / 4) + (len(text) - ascii_chars)


# The prompt prefix (system prompt, tool schemas) repeats byte for byte from call to call.
@lru_cache(maxsize=512)
def count_text(text: str) -> int:
    """Tokens of a text (special-token markers in it are counted as plain text)."""
    if not text:
        return 0
    encoding = _load()
    if encoding is None:
        return estimate_tokens(text)
    return len(encoding.encode_ordinary(text))


def _content_text(content: object) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(str(part.get("text", "")) for part in content if isinstance(part, Mapping))
    return ""


def _tool_calls_tokens(tool_calls: object) -> int:
    total = 0
    for tool_call in tool_calls if isinstance(tool_calls, list) else []:
        function = tool_call.get("function") if isinstance(tool_call, Mapping) else None
        if isinstance(function, Mapping):
            arguments = function.get("arguments")
            if not isinstance(arguments, str):
                arguments = json.dumps(arguments, ensure_ascii=False)
            total += _PER_TOOL_CALL + count_text(str(function.get("name", ""))) \
                + count_text(arguments)
    return total


def prompt_tokens(messages: Sequence[Mapping[str, Any]],
                  tools: Sequence[Mapping[str, Any]] | None) -> int:
    """Tokens of a request: the messages with their chat framing, plus the tool schemas."""
    total = _REPLY_PRIMING
    for message in messages:
        total += _PER_MESSAGE + count_text(str(message.get("role", "")))
        total += count_text(_content_text(message.get("content")))
        if message.get("name"):
            total += _PER_NAME + count_text(str(message["name"]))
        total += _tool_calls_tokens(message.get("tool_calls"))
    if tools:
        total += count_text(json.dumps(list(tools), sort_keys=True, separators=(",", ":"),
                                       ensure_ascii=False))
    return total


def completion_tokens(text: str | None, tool_calls: Sequence[Mapping[str, Any]]) -> int:
    """Tokens of an answer: its text and its tool calls."""
    return count_text(text or "") + _tool_calls_tokens(list(tool_calls))
