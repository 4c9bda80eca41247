"""The peer frameworks of benchmark 1, found if the `bench` extra is installed.

This module only houses `available_peers`: a player per installed peer (one scripted purchase per
call, timed into the `TurnTimings` it is given) and, for each one missing, why. The peers are an
optional extra (`pip install -e '.[bench]'`), so their absence is a reason in the report, never an
import error.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from evals.bench.purchase import PURCHASE
from evals.bench.timing import TurnTimings

INSTALL_HINT = "pip install -e '.[bench]'"

Play = Callable[[TurnTimings | None], Awaitable[None]]


@dataclass(frozen=True)
class Peer:
    key: str  # as in the JSON report: openai_agents, pydantic_ai
    name: str  # the package
    play: Play


def available_peers(instructions: str) -> tuple[list[Peer], dict[str, str]]:
    """The installed peers, each playing `PURCHASE` with `instructions` as its system prompt."""
    peers: list[Peer] = []
    missing: dict[str, str] = {}
    try:
        from evals.bench import peer_openai_agents
    except ImportError as exc:
        missing["openai_agents"] = f"openai-agents not installed ({exc.name}): {INSTALL_HINT}"
    else:
        def play_openai_agents(timings: TurnTimings | None) -> Awaitable[None]:
            return peer_openai_agents.run_conversation(instructions, PURCHASE, timings)

        peers.append(Peer("openai_agents", "openai-agents", play_openai_agents))
    try:
        from evals.bench import peer_pydantic_ai
    except ImportError as exc:
        missing["pydantic_ai"] = f"pydantic-ai-slim not installed ({exc.name}): {INSTALL_HINT}"
    else:
        agent = peer_pydantic_ai.build_agent(instructions, PURCHASE)

        def play_pydantic_ai(timings: TurnTimings | None) -> Awaitable[None]:
            return peer_pydantic_ai.run_conversation(agent, PURCHASE, timings)

        peers.append(Peer("pydantic_ai", "pydantic-ai-slim", play_pydantic_ai))
    return peers, missing
