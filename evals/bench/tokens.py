"""Token cost and model calls: what the eval suite and a long conversation send to the model.

This module only houses benchmarks 3 and 4. `CapturingModel` sits between the agent and the
offline model and keeps, for every request, its prompt tokens (o200k through `bpe-openai`, counted
as `evals.metrics` counts them) and its rendering: the tool schemas, then each message, as JSON,
in the order a provider renders a prompt. Consecutive requests of one conversation are compared
byte by byte: the common beginning is what a provider's prompt cache can serve (the stable prefix).
"""

from __future__ import annotations

import json
import os.path
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agent.model import Message, Model, ModelRequestSettings, ModelResponse, ToolSchema
from agent.settings import OFFLINE_MODEL
from evals.metrics import count_prompt_tokens, count_text, tokenizer_name
from evals.runner import RunResult, SuiteConfig, Variant
from evals.scenario import load_scenarios
from evals.suite import ModelByName, run_suite

SCENARIO_DIR = Path(__file__).resolve().parent.parent / "scenarios"


def render(messages: Sequence[Message], tools: Sequence[ToolSchema]) -> str:
    """The request as a provider lays out its prompt: tool schemas first, then the messages."""
    parts = [json.dumps(list(tools), ensure_ascii=False, separators=(",", ":"))]
    parts += [json.dumps(message, ensure_ascii=False, separators=(",", ":"))
              for message in messages]
    return "\n".join(parts)


@dataclass(frozen=True)
class RequestCost:
    """One model request: its prompt tokens and how much of it repeats the previous request."""

    prompt_tokens: int
    rendered_tokens: int
    static_tokens: int  # tool schemas and the system prompt: the same in every request
    stable_tokens: int | None  # the beginning shared with the previous request (None: first)


@dataclass
class CapturingModel:
    """A `Model` that keeps the cost of each request it passes on to `inner`."""

    inner: Model
    requests: list[RequestCost] = field(default_factory=list)
    name: str = field(init=False)
    _previous: str | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        self.name = self.inner.name

    async def request(self, messages: Sequence[Message], tools: Sequence[ToolSchema], *,
                      settings: ModelRequestSettings | None = None) -> ModelResponse:
        rendered = render(messages, tools)
        system = [m for m in messages[:1] if m.get("role") == "system"]
        stable = None
        if self._previous is not None:
            stable = count_text(os.path.commonprefix([self._previous, rendered]))
        self._previous = rendered
        self.requests.append(RequestCost(
            prompt_tokens=count_prompt_tokens(messages, tools),
            rendered_tokens=count_text(rendered), static_tokens=count_text(render(system, tools)),
            stable_tokens=stable))
        return await self.inner.request(messages, tools, settings=settings)

    async def aclose(self) -> None:
        aclose = getattr(self.inner, "aclose", None)
        if aclose is not None:
            await aclose()


def offline_model() -> CapturingModel:
    return CapturingModel(ModelByName(OFFLINE_MODEL)())


def prefix_shares(models: Sequence[CapturingModel]) -> dict[str, float | None]:
    """Token-weighted shares: of repeat calls, the stable prefix; of all calls, the static part."""
    repeats = [r for m in models for r in m.requests if r.stable_tokens is not None]
    every = [r for m in models for r in m.requests]
    stable = sum(r.stable_tokens or 0 for r in repeats)
    return {
        "stable_prefix_share": (round(stable / sum(r.rendered_tokens for r in repeats), 4)
                                if repeats else None),
        "static_prefix_share": (round(sum(r.static_tokens for r in every)
                                      / sum(r.rendered_tokens for r in every), 4)
                                if every else None),
    }


def free_text_messages(run: RunResult) -> int:
    """The shopper's typed messages in a run (widget actions, cards and 3-D Secure excluded)."""
    return sum(1 for entry in run.transcript
               if entry.get("role") == "shopper" and entry.get("type") == "message")


async def suite_costs(limit: int | None = None) -> dict[str, Any]:
    """Run the eval suite (or its first `limit` scenarios) with the offline model; its costs."""
    scenarios = load_scenarios([SCENARIO_DIR])
    scenarios = scenarios[:limit] if limit else scenarios
    models: list[CapturingModel] = []

    def factory() -> Model:
        model = offline_model()
        models.append(model)
        return model

    config = SuiteConfig(model_name=OFFLINE_MODEL, model_factory=factory,
                         variants=[Variant.of("default", None)], jobs=1)
    suite = await run_suite(scenarios, config)
    runs = suite.runs
    calls = sum(len(m.requests) for m in models)
    prompt = sum(r.prompt_tokens for m in models for r in m.requests)
    messages = sum(free_text_messages(run) for run in runs)
    purchases = [run for run in runs if run.completed]
    return {
        "scenarios": len(runs), "passed": sum(run.passed for run in runs),
        "tokenizer": tokenizer_name(), "model_calls": calls, "prompt_tokens": prompt,
        "prompt_tokens_per_call": round(prompt / calls, 1) if calls else None,
        "completed_purchases": len(purchases),
        "prompt_tokens_per_purchase": (round(sum(r.prompt_tokens for r in purchases)
                                             / len(purchases), 1) if purchases else None),
        "model_calls_per_purchase": (round(sum(r.model_calls for r in purchases)
                                           / len(purchases), 2) if purchases else None),
        "free_text_messages": messages,
        "model_calls_per_message": round(calls / messages, 3) if messages else None,
        **prefix_shares(models),
    }


#: A shopper who keeps chatting: browsing, asking, changing the cart (one cycle of ten messages).
CHATTY_SHOPPER: tuple[str, ...] = (
    "do you have green tea?",
    "tell me about the gyokuro",
    "add one sencha please",
    "do you have mugs?",
    "add the first mug",
    "show my cart",
    "remove the mug",
    "how much is shipping?",
    "do you have coffee?",
    "what's in my cart?",
)


async def long_conversation(messages: int = 60) -> dict[str, Any]:
    """Prompt tokens of the first request of each turn over `messages` shopper messages."""
    from evals.browser import Browser
    from evals.shop import DatabaseTemplate, open_shop
    from tools.catalog.loader import load_demo_entries

    model = offline_model()
    first_request: list[int] = []  # prompt tokens of each turn's first request
    async with DatabaseTemplate.create() as template, \
            open_shop(template, load_demo_entries(), model, None) as shop:
        browser = Browser(shop, locale="en")
        await browser.start()
        for index in range(messages):
            before = len(model.requests)
            await browser.say(CHATTY_SHOPPER[index % len(CHATTY_SHOPPER)])
            if len(model.requests) > before:
                first_request.append(model.requests[before].prompt_tokens)
        calls = len(model.requests)
        # Widget actions go straight to the shop: they must not reach the model.
        await browser.act({"type": "choose_payment_method", "method": "konbini"})
        await browser.act({"type": "quick_reply", "value": "view_cart"})
        action_calls = len(model.requests) - calls
        await model.aclose()
    turn5, last = first_request[4], first_request[-1]
    return {"messages": messages, "model_calls": calls,
            "prompt_tokens_turn5": turn5, f"prompt_tokens_turn{messages}": last,
            "turn60_over_turn5": round(last / turn5, 3),
            "prompt_tokens_by_turn": first_request,
            "model_calls_for_2_widget_actions": action_calls}
