"""The benchmark code of `make bench` measures what it says, on tiny runs (no timing is asserted).

Each benchmark is run for real at a size of a few conversations: the scripted purchase through
chatpay's loop on a migrated SQLite file, the peers (when the `bench` extra is installed, else the
reason they are missing), the token capture over the offline model, the memory run and the
report's JSON. What is asserted is the measuring itself: the work done, the arithmetic, the keys.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from agent.testing import text, tool_call
from evals.bench import __main__ as bench_main
from evals.bench import memory, throughput, tokens, turn_overhead
from evals.bench.peers import available_peers
from evals.bench.purchase import PURCHASE, REPEATED_TURNS, ScriptedTurn
from evals.bench.report import judge
from evals.bench.timing import TurnTimings, percentile
from evals.metrics import count_text

# -- arithmetic -----------------------------------------------------------------------------------


def test_percentile_is_nearest_rank_over_measured_values() -> None:
    values = [5.0, 1.0, 4.0, 2.0, 3.0]
    assert percentile(values, 0.5) == 3.0
    assert percentile(values, 0.99) == 5.0
    assert percentile(values, 0.01) == 1.0
    assert percentile([], 0.5) != percentile([], 0.5)  # NaN: nothing was measured


def test_turn_timings_group_by_turn_index_and_compare_last_with_first() -> None:
    timings = TurnTimings("x")
    for first, last in [(100.0, 150.0), (120.0, 130.0), (110.0, 140.0)]:
        timings.add(0, first)
        timings.add(1, last)
    assert timings.conversations == 3
    assert timings.p50_by_index() == [110.0, 140.0]
    assert timings.growth() == pytest.approx(140 / 110)


# -- benchmark 1: chatpay's turn -----------------------------------------------------------------


async def test_the_scripted_purchase_runs_through_chatpays_loop_on_sqlite(tmp_path: Path) -> None:
    timings = TurnTimings("chatpay")
    async with turn_overhead.demo_database(tmp_path) as database:
        agent = turn_overhead.build_agent(database)
        await turn_overhead.run_conversation(agent, PURCHASE, timings)
        await turn_overhead.run_conversation(agent, PURCHASE, timings, recording=False)
        statements = await turn_overhead.statements_by_turn(agent, PURCHASE)
    assert timings.conversations == 2
    assert [len(turns) for turns in timings.by_index] == [2] * len(PURCHASE)
    assert all(value > 0 for value in timings.all)
    # Every turn reads and writes the database: its time includes SQLite.
    assert len(statements) == len(PURCHASE) and all(count > 5 for count in statements)


async def test_the_repeated_turn_compares_the_same_work_at_its_last_and_first_turn(
        tmp_path: Path) -> None:
    async with turn_overhead.demo_database(tmp_path) as database:
        agent = turn_overhead.build_agent(database)
        figures = await turn_overhead.repeated_turn_growth(agent, conversations=2)
    assert figures["repeated_turns"] == REPEATED_TURNS  # the add that sets the cart up is left out
    first, last = figures["repeated_turn_p50_us_first_last"]
    assert first > 0 and last > 0
    assert figures["repeated_turn_growth_last_over_first"] == pytest.approx(last / first, rel=1e-2)


async def test_a_turn_whose_tool_fails_breaks_the_benchmark(tmp_path: Path) -> None:
    broken = (ScriptedTurn("Add a unicorn", "add_to_cart", {"sku": "NO-SUCH-SKU"}, "Done."),)
    async with turn_overhead.demo_database(tmp_path) as database:
        agent = turn_overhead.build_agent(database)
        with pytest.raises(turn_overhead.ScriptBroken, match="add_to_cart"):
            await turn_overhead.run_conversation(agent, broken, None)


def test_each_scripted_turn_is_a_tool_call_then_text() -> None:
    responses = turn_overhead.script_responses(PURCHASE)
    assert len(responses) == 2 * len(PURCHASE)
    for turn, (call, reply) in zip(PURCHASE, zip(responses[::2], responses[1::2], strict=True),
                                   strict=True):
        assert [c.name for c in call.tool_calls] == [turn.tool] and call.content is None
        assert reply.content == turn.reply and not reply.tool_calls


# -- benchmark 1: the peers -----------------------------------------------------------------------


async def test_each_installed_peer_plays_the_purchase_and_a_missing_one_says_why() -> None:
    peers, missing = available_peers("You are a shop assistant.")
    assert {peer.key for peer in peers} | set(missing) == {"openai_agents", "pydantic_ai"}
    for reason in missing.values():
        assert "pip install -e '.[bench]'" in reason
    for peer in peers:
        timings = TurnTimings(peer.key)
        await peer.play(timings)
        assert [len(turns) for turns in timings.by_index] == [1] * len(PURCHASE)


def test_a_peer_that_is_not_installed_is_reported_not_raised(
        monkeypatch: pytest.MonkeyPatch) -> None:
    import evals.bench

    for name in ("agents", "pydantic_ai", "evals.bench.peer_openai_agents",
                 "evals.bench.peer_pydantic_ai"):
        monkeypatch.setitem(sys.modules, name, None)  # None: "import fails" to the import system
        monkeypatch.delattr(evals.bench, name.rpartition(".")[2], raising=False)
    peers, missing = available_peers("x")
    assert peers == []
    assert set(missing) == {"openai_agents", "pydantic_ai"}


# -- benchmarks 3 and 4: tokens and model calls ---------------------------------------------------


class _Echo:
    name = "echo"

    async def request(self, messages: object, tools: object, *, settings: object = None) -> object:
        return text("ok")


async def test_the_stable_prefix_is_what_two_consecutive_requests_share() -> None:
    model = tokens.CapturingModel(_Echo())  # type: ignore[arg-type]
    system = {"role": "system", "content": "You sell tea. " * 20}
    tools = [{"type": "function", "function": {"name": "view_cart", "parameters": {}}}]
    first = [system, {"role": "user", "content": "hello"}]
    second = [*first, {"role": "assistant", "content": "hi"}, {"role": "user", "content": "tea?"}]
    await model.request(first, tools)
    await model.request(second, tools)
    opening, repeat = model.requests
    assert opening.stable_tokens is None
    # The second request begins with everything the first one held.
    assert repeat.stable_tokens == count_text(tokens.render(first, tools))
    assert opening.static_tokens == repeat.static_tokens == count_text(
        tokens.render([system], tools))
    shares = tokens.prefix_shares([model])
    assert shares["stable_prefix_share"] == round(
        repeat.stable_tokens / repeat.rendered_tokens, 4)


async def test_suite_costs_count_every_model_call_of_the_suite() -> None:
    costs = await tokens.suite_costs(limit=1)
    assert costs["scenarios"] == costs["passed"] == 1
    assert costs["model_calls"] > 0
    assert costs["prompt_tokens_per_call"] == round(
        costs["prompt_tokens"] / costs["model_calls"], 1)
    assert 0 < costs["stable_prefix_share"] <= 1


async def test_widget_actions_never_reach_the_model_in_a_long_chat() -> None:
    long = await tokens.long_conversation(messages=6)
    assert len(long["prompt_tokens_by_turn"]) == 6
    assert long["prompt_tokens_turn6"] == long["prompt_tokens_by_turn"][-1]
    assert long["model_calls_for_2_widget_actions"] == 0


# -- benchmark 5: memory --------------------------------------------------------------------------


async def test_memory_reads_this_process_rss_around_the_conversations() -> None:
    result = await memory.measure(3, warmup=1)
    assert result["conversations"] == 3 and not result["stopped_by_budget"]
    assert result["rss_mb_before"] > 0 and result["rss_mb_after"] > 0


async def test_memory_stops_at_its_time_budget() -> None:
    result = await memory.measure(1000, warmup=0, budget_s=0.0)
    assert result["conversations"] == 0 and result["stopped_by_budget"]


def test_rss_is_read_from_a_proc_status_file(tmp_path: Path) -> None:
    status = tmp_path / "status"
    status.write_text("Name:\tpython\nVmRSS:\t  204800 kB\n")
    assert memory.rss_mb(status) == 200.0
    assert memory.rss_mb(tmp_path / "missing") is None


# -- benchmark 2 and the report -------------------------------------------------------------------


def test_throughput_without_postgresql_is_null_with_its_reason() -> None:
    figures = throughput.measure(None, shoppers=1, concurrency=1)
    assert all(figures[key] is None for key in throughput.KEYS)
    assert "PostgreSQL" in figures["skipped"]


def test_throughput_without_the_load_generator_is_null_with_its_reason(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "evals.load", None)
    figures = throughput.measure("postgresql+asyncpg://u@127.0.0.1/x", shoppers=1, concurrency=1)
    assert figures["turns_per_s"] is None and "load generator" in figures["skipped"]


def test_targets_are_met_not_met_or_not_measured() -> None:
    report = {"turn_overhead": {"chatpay_p50_us": 900.0, "growth_last_over_first": 1.3},
              "throughput": {"turns_per_s": 400.0, "errors": 2},
              "tokens": {"prompt_tokens_per_call": 1400.0}, "model_calls_per_message": None}
    met = {row["target"]: row["met"] for row in judge(report)}
    assert met["chatpay turn p50 (µs)"] is True
    assert met["turn 6 / turn 1"] is False
    assert met["throughput (turns/s)"] is False  # fast, but not without errors
    assert met["prompt tokens per call"] is True
    assert met["model calls per message"] is None
    assert met["stable prefix share"] is None


def test_the_json_report_holds_every_key_the_issue_asks_for(tmp_path: Path) -> None:
    path = tmp_path / "bench.json"
    assert bench_main.main(["--only", "throughput", "--json", str(path)]) == 0
    report = json.loads(path.read_text(encoding="utf-8"))
    assert set(throughput.KEYS) <= set(report["throughput"])
    for key in ("rss_mb_after_10k_conversations", "model_calls_per_message", "targets"):
        assert key in report
    assert report["machine"]["cpu_count"] and report["machine"]["python"]


def test_tool_call_builder_matches_the_script_shape() -> None:
    # The script's arguments go to the model verbatim: the tool sees exactly these.
    call = tool_call("add_to_cart", sku="TEA-SENCHA", quantity=2).tool_calls[0]
    assert call.arguments == PURCHASE[1].arguments
