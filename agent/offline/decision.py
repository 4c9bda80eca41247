"""The offline model's answer (`Decision`) and what one decision is made from (`Turn`).

This module only houses these value types, shared by the policy modules: a decision is some text
and/or tool calls, exactly what one Chat Completions response carries; a turn bundles the read
conversation with the reading of the shopper's latest message, and answers "did this turn already
do X?" so that a second step continues the work instead of repeating it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from agent.offline.conversation import Conversation, ToolExchange
from agent.offline.intents import Understanding
from agent.offline.language import Lang
from agent.offline.replies import join_sentences

__all__ = ["Decision", "PlannedCall", "Turn", "call", "respond"]


@dataclass(frozen=True, slots=True)
class PlannedCall:
    """A tool call the model makes: name and JSON arguments."""

    name: str
    arguments: Mapping[str, Any] = field(default_factory=dict)

    @property
    def key(self) -> str:
        """Identity of the call (name + canonical arguments), to avoid repeating it in a turn."""
        return json.dumps([self.name, dict(self.arguments)], sort_keys=True, ensure_ascii=False)


@dataclass(frozen=True, slots=True)
class Decision:
    """One response: text for the shopper, tool calls, or both."""

    text: str | None
    calls: tuple[PlannedCall, ...] = ()


def call(tool: str, /, **arguments: Any) -> PlannedCall:
    """A planned call; positional-only, so an argument may be called `name` (the address's)."""
    return PlannedCall(tool, arguments)


def respond(lang: Lang, parts: Sequence[str], calls: Sequence[PlannedCall] = ()) -> Decision:
    """A decision whose text is the given sentences joined (None when there are none)."""
    text = join_sentences([part for part in parts if part], lang)
    return Decision(text or None, tuple(calls))


@dataclass(frozen=True)
class Turn:
    """The conversation plus what the latest shopper message says."""

    conv: Conversation
    said: Understanding

    @property
    def lang(self) -> Lang:
        return self.said.lang

    def done(self, name: str) -> ToolExchange | None:
        """The latest successful call of this tool in the current turn."""
        for exchange in reversed(self.conv.exchanges):
            if exchange.name == name and exchange.ok:
                return exchange
        return None

    def searched(self, query: str) -> ToolExchange | None:
        """This turn's search for exactly this query, or add by these words (whatever came back)."""
        for exchange in reversed(self.conv.exchanges):
            if exchange.name == "search_products" and exchange.arguments.get("query") == query:
                return exchange
            if exchange.words == query:
                return exchange
        return None

    def executed(self) -> set[str]:
        """Keys of every call made so far in this turn."""
        return {PlannedCall(e.name, dict(e.arguments)).key for e in self.conv.exchanges}
