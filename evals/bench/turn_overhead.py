"""Turn overhead of chatpay's agent loop: the scripted purchase against a migrated SQLite file.

This module only houses chatpay's side of benchmark 1. The model answers instantly from a script
(`agent.testing.ScriptedModel`), so what is timed is everything chatpay adds around the model:
redaction, the transcript, the state block, tool dispatch and validation, the tool's own queries,
and the SQLite writes of every turn (the real engine, WAL, BEGIN IMMEDIATE, as in production).
"""

from __future__ import annotations

import json
import math
import time
import uuid
from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import event

from agent.model import Message, ModelRequestSettings, ModelResponse, ToolSchema
from agent.testing import ScriptedModel, text, tool_call
from agent.turn import ConversationAgent
from agent.widgets import CardFormConfig
from evals.bench.peers import available_peers
from evals.bench.purchase import PURCHASE, REPEATED, ScriptedTurn
from evals.bench.timing import TurnTimings
from prompts import load_prompts
from tools.catalog.loader import load_catalog, load_demo_entries
from tools.settings import CommerceSettings
from tools.store.db import Database
from tools.store.migrate import upgrade
from tools.store.models import Conversation

CARD_FORM = CardFormConfig(gateway_url="http://127.0.0.1:8001",
                           merchant_origin="http://127.0.0.1:8000")


class ReplayModel:
    """Plays scripted answers in order and keeps nothing: chatpay's cost without a test double's.

    `agent.testing.ScriptedModel` deep-copies every request it receives (messages and the 14 tool
    schemas) and checks it as an endpoint would; that is the double's cost, not chatpay's.
    """

    name = "replay"

    def __init__(self, responses: Iterable[ModelResponse]) -> None:
        self._responses = iter(responses)

    async def request(self, messages: Sequence[Message], tools: Sequence[ToolSchema], *,
                      settings: ModelRequestSettings | None = None) -> ModelResponse:
        return next(self._responses)


class ScriptBroken(AssertionError):
    """The conversation did not do the scripted work (the timing would measure something else)."""


@asynccontextmanager
async def demo_database(directory: Path) -> AsyncIterator[Database]:
    """A migrated SQLite file with the demo catalogue, as `make run` prepares one."""
    path = directory / f"bench-{uuid.uuid4().hex[:8]}.db"
    database = Database(f"sqlite+aiosqlite:///{path}")
    try:
        await upgrade(database.engine)
        async with database.session() as session:
            await load_catalog(session, load_demo_entries())
            await session.commit()
        yield database
    finally:
        await database.dispose()
        for leftover in (path, path.with_name(path.name + "-wal"),
                         path.with_name(path.name + "-shm")):
            leftover.unlink(missing_ok=True)


def build_agent(database: Database) -> ConversationAgent:
    """The agent as `api.app.create_app` builds it, with a model to be set per conversation."""
    return ConversationAgent(db=database, model=ScriptedModel([]), commerce=CommerceSettings(),
                             card_form=CARD_FORM, prompts=load_prompts())


def script_responses(turns: tuple[ScriptedTurn, ...]) -> list[ModelResponse]:
    """The model's answers for `turns`: the tool call, then the closing text, per turn."""
    responses: list[ModelResponse] = []
    for turn in turns:
        responses += [tool_call(turn.tool, **turn.arguments), text(turn.reply)]
    return responses


async def new_conversation(database: Database, locale: str = "en") -> str:
    async with database.session() as session:
        conversation = Conversation(id=str(uuid.uuid4()), locale=locale)
        session.add(conversation)
        await session.commit()
    return conversation.id


def _check(model: ScriptedModel, turns: tuple[ScriptedTurn, ...]) -> None:
    """Every turn took exactly its two calls and its tool succeeded (checked after the timing)."""
    model.assert_complete()
    for index, turn in enumerate(turns):
        answered = model.calls[2 * index + 1].messages
        results = [json.loads(m["content"]) for m in answered if m["role"] == "tool"]
        if len(results) != 1 or results[0].get("ok") is not True:
            raise ScriptBroken(f"turn {index + 1} ({turn.tool}) did not succeed: {results}")


async def run_conversation(agent: ConversationAgent, turns: tuple[ScriptedTurn, ...],
                           timings: TurnTimings | None, *, recording: bool = True) -> None:
    """Play `turns` in a new conversation, timing each `respond` call into `timings`.

    With `recording`, the model is `agent.testing.ScriptedModel` and every tool result is checked
    afterwards; without, a `ReplayModel` (the turn's calls and tools are still checked).
    """
    responses = script_responses(turns)
    model = ScriptedModel(responses) if recording else None
    agent.model = model if model is not None else ReplayModel(responses)
    conversation_id = await new_conversation(agent.db)
    for index, turn in enumerate(turns):
        started = time.perf_counter_ns()
        result = await agent.respond(conversation_id, turn.shopper)
        elapsed = time.perf_counter_ns() - started
        if result.model_calls != 2 or result.tool_calls != [turn.tool]:
            raise ScriptBroken(f"turn {index + 1}: {result.model_calls} model calls, "
                               f"tools {result.tool_calls}, source {result.source}")
        if timings is not None:
            timings.add(index, elapsed / 1000)
    if model is not None:
        _check(model, turns)


async def statements_by_turn(agent: ConversationAgent,
                             turns: tuple[ScriptedTurn, ...]) -> list[int]:
    """SQL statements each turn of one conversation sends (BEGIN and SAVEPOINTs included).

    Counted on a conversation of its own, after the timed ones, so the counting costs nothing
    that is timed; it shows what a turn's time is made of.
    """
    counts: list[int] = []

    def count(*_args: object) -> None:
        counts[-1] += 1

    agent.model = ReplayModel(script_responses(turns))
    conversation_id = await new_conversation(agent.db)
    engine = agent.db.engine.sync_engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        for turn in turns:
            counts.append(0)
            await agent.respond(conversation_id, turn.shopper)
    finally:
        event.remove(engine, "before_cursor_execute", count)
    return counts


def _ratio(mine: float, theirs: float | None) -> float | None:
    return round(mine / theirs, 2) if theirs and not math.isnan(theirs) else None


async def repeated_turn_growth(agent: ConversationAgent, conversations: int) -> dict[str, Any]:
    """The same view_cart turn 24 times over (after one add): its p50 at the last vs the first.

    The purchase's six turns each do different checkout work, so their times differ for that
    reason alone; here only the history changes from turn to turn.
    """
    timings = TurnTimings("chatpay_repeated")
    for _ in range(conversations):
        await run_conversation(agent, REPEATED, timings, recording=False)
    medians = timings.p50_by_index()[1:]  # the add that sets the cart up is not compared
    return {"repeated_turns": len(medians),
            "repeated_turn_p50_us_first_last": [round(medians[0], 1), round(medians[-1], 1)],
            "repeated_turn_growth_last_over_first": round(medians[-1] / medians[0], 3)}


async def measure(conversations: int, warmup: int, directory: Path) -> dict[str, Any]:
    """Benchmark 1: chatpay and the installed peers, one conversation each in turn.

    Interleaving puts every framework under the same load at the same moments, which matters on
    a machine shared with other work: the ratios stay meaningful when the absolute times do not.
    """
    chatpay, bare = TurnTimings("chatpay"), TurnTimings("chatpay_replay_model")
    async with demo_database(directory) as database:
        agent = build_agent(database)
        peers, missing = available_peers(agent.system_prompt("en"))
        peer_timings = {peer.key: TurnTimings(peer.key) for peer in peers}
        for round_ in range(warmup + conversations):
            measured = round_ >= warmup
            await run_conversation(agent, PURCHASE, chatpay if measured else None)
            await run_conversation(agent, PURCHASE, bare if measured else None, recording=False)
            for peer in peers:
                await peer.play(peer_timings[peer.key] if measured else None)
        statements = await statements_by_turn(agent, PURCHASE)
        repeated = await repeated_turn_growth(agent, max(conversations // 4, 3))
    figures: dict[str, Any] = {
        "conversations": conversations, "warmup_conversations": warmup,
        "turns_per_conversation": len(PURCHASE), "model_calls_per_turn": 2,
        "chatpay_p50_us": round(chatpay.p50(), 1), "chatpay_p99_us": round(chatpay.p99(), 1),
        "chatpay_p50_us_by_turn": chatpay.summary()["p50_us_by_turn"],
        "growth_last_over_first": round(chatpay.growth(), 3),
        "chatpay_sql_statements_by_turn": statements,
        # The same conversations with a model double that copies and checks nothing.
        "chatpay_replay_model_p50_us": round(bare.p50(), 1),
        "chatpay_replay_model_p99_us": round(bare.p99(), 1),
    }
    for key in ("openai_agents", "pydantic_ai"):
        timings = peer_timings.get(key)
        p50 = round(timings.p50(), 1) if timings else None
        figures[f"{key}_p50_us"] = p50
        figures[f"{key}_p99_us"] = round(timings.p99(), 1) if timings else None
        figures[f"{key}_p50_us_by_turn"] = timings.summary()["p50_us_by_turn"] if timings else None
        figures[f"ratio_vs_{key}"] = _ratio(chatpay.p50(), p50)
    figures.update(repeated)
    figures["peers_missing"] = missing
    return figures
