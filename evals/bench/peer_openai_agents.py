"""The benchmark's purchase through the OpenAI Agents SDK (`openai-agents`, the `bench` extra).

This module only houses the peer's side of benchmark 1: the SDK's own `agents.testing.
ScriptedModel` answers instantly, tracing is off, the tools are async functions on an in-memory
`PeerShop` passed as the run context, and the conversation's history is carried from one turn to
the next with `RunResult.to_input_list()`, as the SDK documents for multi-turn chats.
"""

from __future__ import annotations

import json
import time
from typing import Any

from agents import (  # type: ignore[import-not-found, unused-ignore]
    Agent,
    RunConfig,
    RunContextWrapper,
    Runner,
    Tool,
    function_tool,
)
from agents.items import ToolCallOutputItem  # type: ignore[import-not-found, unused-ignore]
from agents.testing import (  # type: ignore[import-not-found, unused-ignore]
    ScriptedModel,
    assistant_message,
    function_call,
)

from evals.bench.peer_shop import PeerShop
from evals.bench.purchase import ScriptedTurn
from evals.bench.timing import TurnTimings

FRAMEWORK = "openai-agents"
_RUN_CONFIG = RunConfig(tracing_disabled=True)


def _json(result: dict[str, Any]) -> str:
    # The SDK would send a returned dict as its Python repr; an application sends JSON.
    return json.dumps(result, ensure_ascii=False, separators=(",", ":"))


async def search_products(ctx: RunContextWrapper[PeerShop], query: str,
                          limit: int = 5) -> str:
    """Search the catalogue by the shopper's words; shows product cards."""
    return _json(ctx.context.search_products(query, limit))


async def add_to_cart(ctx: RunContextWrapper[PeerShop], sku: str,
                      quantity: int = 1) -> str:
    """Add a product to the cart (adds to the quantity already there)."""
    return _json(ctx.context.add_to_cart(sku, quantity))


async def set_shipping_address(ctx: RunContextWrapper[PeerShop], name: str, postal_code: str,
                               line1: str, phone: str, email: str, prefecture: str = "",
                               city: str = "", line2: str = "") -> str:
    """Save the shipping address the shopper gave in the chat."""
    return _json(ctx.context.set_shipping_address({
        "name": name, "postal_code": postal_code, "prefecture": prefecture, "city": city,
        "line1": line1, "line2": line2, "phone": phone, "email": email}))


async def choose_payment_method(ctx: RunContextWrapper[PeerShop], method: str) -> str:
    """Record the payment method the shopper chose (card, after_delivery or konbini)."""
    return _json(ctx.context.choose_payment_method(method))


async def view_cart(ctx: RunContextWrapper[PeerShop]) -> str:
    """Show the cart with totals."""
    return _json(ctx.context.view_cart())


async def prepare_checkout(ctx: RunContextWrapper[PeerShop]) -> str:
    """Show the order confirmation with the final amount and a Pay button."""
    return _json(ctx.context.prepare_checkout())


# Schemas are built once, as an application would at import time.
TOOLS: list[Tool] = [function_tool(fn, strict_mode=False) for fn in (
    search_products, add_to_cart, set_shipping_address, choose_payment_method, view_cart,
    prepare_checkout)]


def _steps(turns: tuple[ScriptedTurn, ...]) -> list[list[Any]]:
    steps: list[list[Any]] = []
    for index, turn in enumerate(turns):
        steps += [[function_call(turn.tool, turn.arguments, call_id=f"call_{index + 1}")],
                  [assistant_message(turn.reply)]]
    return steps


async def run_conversation(instructions: str, turns: tuple[ScriptedTurn, ...],
                           timings: TurnTimings | None) -> None:
    """Play `turns` as one conversation, timing each `Runner.run` into `timings`."""
    model = ScriptedModel(_steps(turns))
    agent = Agent(name="shop", instructions=instructions, tools=TOOLS, model=model)
    shop = PeerShop()
    history: list[Any] = []
    for index, turn in enumerate(turns):
        started = time.perf_counter_ns()
        result = await Runner.run(agent, [*history, {"role": "user", "content": turn.shopper}],
                                  context=shop, max_turns=4, run_config=_RUN_CONFIG)
        history = result.to_input_list()
        elapsed = time.perf_counter_ns() - started
        outputs = [item.output for item in result.new_items
                   if isinstance(item, ToolCallOutputItem)]
        if (result.final_output != turn.reply or len(outputs) != 1
                or json.loads(outputs[0]).get("ok") is not True):
            raise AssertionError(f"{FRAMEWORK} turn {index + 1}: {result.final_output!r}, "
                                 f"tool outputs {outputs!r}")
        if timings is not None:
            timings.add(index, elapsed / 1000)
    model.assert_complete()
