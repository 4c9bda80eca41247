"""Suite figures: pass^k (as in tau-bench) and token counts for models that report none.

This module only houses arithmetic. pass^k is the chance that k independent runs of a scenario all
pass, estimated without bias from n runs with c passes as C(c, k) / C(n, k), then averaged over the
scenarios; it falls as k grows unless the agent is reliable, which is what it is for (pass@k, the
chance that one of k runs passes, would rise instead).

Token counts: when an endpoint reports `usage`, those numbers are used. When it reports none (0),
the request and the answer are counted offline with the o200k_base vocabulary (the GPT-4o family)
through `bpe-openai`, which ships the vocabulary in its wheel (tiktoken downloads it and fails
without network). Chat framing follows OpenAI's published rule (3 tokens per message, 3 to prime
the answer), and the tool schemas are counted as their JSON: close to, not exactly, what a provider
bills. Without the package, counts are estimated (1 token per 4 ASCII characters, 1 per other
character) and `tokenizer_name()` says so.
"""

from __future__ import annotations

import importlib
import json
import math
import warnings
from collections.abc import Mapping, Sequence
from functools import lru_cache
from typing import Any, Protocol

O200K = "bpe-openai:o200k_base"
ESTIMATE = "estimate"
_PER_MESSAGE = 3
_REPLY_PRIMING = 3
_PER_TOOL_CALL = 3


def pass_hat_k(outcomes: Sequence[tuple[int, int]], k: int) -> float:
    """Mean over scenarios of C(c, k) / C(n, k), given `(n runs, c passes)` per scenario.

    Scenarios with fewer than k runs cannot say anything about k runs and are refused.
    """
    if k < 1:
        raise ValueError("k must be at least 1")
    if not outcomes:
        return 0.0
    total = 0.0
    for runs, passes in outcomes:
        if not 0 <= passes <= runs:
            raise ValueError(f"passes ({passes}) must be between 0 and runs ({runs})")
        if runs < k:
            raise ValueError(f"pass^{k} needs at least {k} runs per scenario, got {runs}")
        total += math.comb(passes, k) / math.comb(runs, k)
    return total / len(outcomes)


def pass_hat_ks(outcomes: Sequence[tuple[int, int]], max_k: int) -> dict[str, float]:
    """`{"1": pass^1, ..., "K": pass^K}`, rounded to 4 places (JSON object keys are strings)."""
    return {str(k): round(pass_hat_k(outcomes, k), 4) for k in range(1, max_k + 1)}


# -- tokens -------------------------------------------------------------------------------------


class _Encoding(Protocol):
    def encode_ordinary(self, text: str) -> list[int]: ...


@lru_cache(maxsize=1)
def _encoding() -> _Encoding | None:
    try:
        module: Any = importlib.import_module("bpe_openai")
        with warnings.catch_warnings():
            # bpe-openai 0.1 reads its vocabulary with a deprecated importlib.resources call.
            warnings.simplefilter("ignore", DeprecationWarning)
            encoding: _Encoding = module.get_encoding("o200k_base")
    except Exception:  # noqa: BLE001 - any failure to load means "estimate instead"
        return None
    return encoding


def tokenizer_name() -> str:
    """Which counting method `count_text` uses."""
    return O200K if _encoding() is not None else ESTIMATE


@lru_cache(maxsize=1024)
def count_text(text: str) -> int:
    """Tokens of a text (cached: the system prompt and tool schemas repeat on every call)."""
    if not text:
        return 0
    encoding = _encoding()
    if encoding is None:
        ascii_chars = sum(1 for ch in text if ch.isascii())
        return math.ceil(ascii_chars / 4) + (len(text) - ascii_chars)
    return len(encoding.encode_ordinary(text))


def _content(content: object) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(str(part.get("text", "")) for part in content if isinstance(part, Mapping))
    return ""


def _calls(tool_calls: object) -> int:
    total = 0
    for call in tool_calls if isinstance(tool_calls, list) else []:
        function = call.get("function") if isinstance(call, Mapping) else None
        if isinstance(function, Mapping):
            arguments = function.get("arguments")
            text = arguments if isinstance(arguments, str) else json.dumps(arguments)
            total += _PER_TOOL_CALL + count_text(str(function.get("name", ""))) + count_text(text)
    return total


def count_prompt_tokens(messages: Sequence[Mapping[str, Any]],
                        tools: Sequence[Mapping[str, Any]]) -> int:
    """Tokens of one request: messages with chat framing, plus the tool schemas as JSON."""
    total = _REPLY_PRIMING
    for message in messages:
        total += _PER_MESSAGE + count_text(str(message.get("role", "")))
        total += count_text(_content(message.get("content"))) + _calls(message.get("tool_calls"))
    if tools:
        total += count_text(json.dumps(list(tools), sort_keys=True, separators=(",", ":"),
                                       ensure_ascii=False))
    return total


def count_completion_tokens(content: str | None, tool_calls: Sequence[Mapping[str, Any]]) -> int:
    """Tokens of one answer: its text and its tool calls."""
    return count_text(content or "") + _calls(list(tool_calls))
