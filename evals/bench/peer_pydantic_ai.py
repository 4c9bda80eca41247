"""The benchmark's purchase through Pydantic AI (`pydantic-ai-slim`, the `bench` extra).

This module only houses the peer's side of benchmark 1: Pydantic AI's `FunctionModel` answers
instantly (a tool call for a new shopper message, the scripted text once the tool's result is
back), the tools are async functions on an in-memory `PeerShop` passed as the run's deps, and the
history is carried between turns with `message_history=result.all_messages()`.
"""

from __future__ import annotations

import time
from typing import Any

from pydantic_ai import Agent, RunContext, Tool  # type: ignore[import-not-found, unused-ignore]
from pydantic_ai.messages import (  # type: ignore[import-not-found, unused-ignore]
    ModelMessage,
    ModelRequest,
    ModelResponse,
    TextPart,
    ToolCallPart,
    ToolReturnPart,
    UserPromptPart,
)
from pydantic_ai.models.function import (  # type: ignore[import-not-found, unused-ignore]
    AgentInfo,
    FunctionModel,
)

from evals.bench.peer_shop import PeerShop
from evals.bench.purchase import ScriptedTurn
from evals.bench.timing import TurnTimings

FRAMEWORK = "pydantic-ai"


def _shop(ctx: RunContext[PeerShop]) -> PeerShop:
    shop: PeerShop = ctx.deps
    return shop


async def search_products(ctx: RunContext[PeerShop], query: str, limit: int = 5) -> dict[str, Any]:
    """Search the catalogue by the shopper's words; shows product cards."""
    return _shop(ctx).search_products(query, limit)


async def add_to_cart(ctx: RunContext[PeerShop], sku: str, quantity: int = 1) -> dict[str, Any]:
    """Add a product to the cart (adds to the quantity already there)."""
    return _shop(ctx).add_to_cart(sku, quantity)


async def set_shipping_address(ctx: RunContext[PeerShop], name: str, postal_code: str,
                               line1: str, phone: str, email: str, prefecture: str = "",
                               city: str = "", line2: str = "") -> dict[str, Any]:
    """Save the shipping address the shopper gave in the chat."""
    return _shop(ctx).set_shipping_address({
        "name": name, "postal_code": postal_code, "prefecture": prefecture, "city": city,
        "line1": line1, "line2": line2, "phone": phone, "email": email})


async def choose_payment_method(ctx: RunContext[PeerShop], method: str) -> dict[str, Any]:
    """Record the payment method the shopper chose (card, after_delivery or konbini)."""
    return _shop(ctx).choose_payment_method(method)


async def view_cart(ctx: RunContext[PeerShop]) -> dict[str, Any]:
    """Show the cart with totals."""
    return _shop(ctx).view_cart()


async def prepare_checkout(ctx: RunContext[PeerShop]) -> dict[str, Any]:
    """Show the order confirmation with the final amount and a Pay button."""
    return _shop(ctx).prepare_checkout()


TOOLS: list[Tool[PeerShop]] = [Tool(fn, takes_ctx=True) for fn in (
    search_products, add_to_cart, set_shipping_address, choose_payment_method, view_cart,
    prepare_checkout)]


def scripted(turns: tuple[ScriptedTurn, ...]) -> FunctionModel:
    """A model playing `turns`: which turn it is follows from the user prompts seen so far."""

    def answer(messages: list[ModelMessage], _info: AgentInfo) -> ModelResponse:
        parts = [part for message in messages if isinstance(message, ModelRequest)
                 for part in message.parts]
        index = sum(isinstance(part, UserPromptPart) for part in parts) - 1
        turn = turns[index]
        if isinstance(parts[-1], ToolReturnPart):
            return ModelResponse(parts=[TextPart(turn.reply)])
        return ModelResponse(parts=[ToolCallPart(turn.tool, dict(turn.arguments),
                                                 tool_call_id=f"call_{index + 1}")])

    return FunctionModel(answer)


def build_agent(instructions: str, turns: tuple[ScriptedTurn, ...]) -> Agent[PeerShop, str]:
    """One agent for every conversation, as an application builds it once."""
    return Agent(scripted(turns), deps_type=PeerShop, instructions=instructions, tools=TOOLS)


async def run_conversation(agent: Agent[PeerShop, str], turns: tuple[ScriptedTurn, ...],
                           timings: TurnTimings | None) -> None:
    """Play `turns` as one conversation, timing each `agent.run` into `timings`."""
    shop = PeerShop()
    history: list[ModelMessage] = []
    for index, turn in enumerate(turns):
        started = time.perf_counter_ns()
        result = await agent.run(turn.shopper, message_history=history, deps=shop)
        history = result.all_messages()
        elapsed = time.perf_counter_ns() - started
        returns = [part.content for message in result.new_messages()
                   if isinstance(message, ModelRequest) for part in message.parts
                   if isinstance(part, ToolReturnPart)]
        if (result.output != turn.reply or len(returns) != 1
                or not isinstance(returns[0], dict) or returns[0].get("ok") is not True):
            raise AssertionError(f"{FRAMEWORK} turn {index + 1}: {result.output!r}, "
                                 f"tool results {returns!r}")
        if timings is not None:
            timings.add(index, elapsed / 1000)
