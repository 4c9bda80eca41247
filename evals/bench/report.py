"""The bench's report: machine facts, the targets of issue 8 judged, the JSON and the table.

This module only houses presentation. Each target names the figure it reads from the JSON and
its bound; a figure that was not measured (a peer not installed, no PostgreSQL for the load run)
is judged `None` ("not measured"), never met.
"""

from __future__ import annotations

import os
import platform
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import metadata
from typing import Any

from rich.console import Console
from rich.table import Table


def machine() -> dict[str, Any]:
    """What the figures were measured on; the load average shows how shared the machine was."""
    versions: dict[str, str | None] = {}
    for package in ("openai-agents", "pydantic-ai-slim", "sqlalchemy", "aiosqlite"):
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            versions[package] = None
    return {"cpu_count": os.cpu_count(), "python": platform.python_version(),
            "platform": platform.platform(), "date": datetime.now(UTC).isoformat(timespec="seconds"),
            "load_average_1m": round(os.getloadavg()[0], 2), "packages": versions}


@dataclass(frozen=True)
class Target:
    name: str
    path: tuple[str, ...]  # where the figure is in the report
    bound: str  # as the issue states it
    holds: Callable[[float], bool]


TARGETS = (
    Target("chatpay turn p50 (µs)", ("turn_overhead", "chatpay_p50_us"), "≤ 1,000",
           lambda v: v <= 1000),
    Target("turn 6 / turn 1", ("turn_overhead", "growth_last_over_first"), "≤ 1.1",
           lambda v: v <= 1.1),
    Target("throughput (turns/s)", ("throughput", "turns_per_s"), "≥ 300, 0 errors",
           lambda v: v >= 300),
    Target("prompt tokens per call", ("tokens", "prompt_tokens_per_call"), "≤ 1,500",
           lambda v: v <= 1500),
    Target("stable prefix share", ("tokens", "stable_prefix_share"), "≥ 0.70",
           lambda v: v >= 0.70),
    Target("turn-60 / turn-5 prompt", ("tokens", "turn60_over_turn5"), "≤ 1.2",
           lambda v: v <= 1.2),
    Target("model calls per message", ("model_calls_per_message",), "≤ 1.2",
           lambda v: v <= 1.2),
)


def lookup(report: dict[str, Any], path: tuple[str, ...]) -> Any:
    value: Any = report
    for key in path:
        value = value.get(key) if isinstance(value, dict) else None
    return value


def judge(report: dict[str, Any]) -> list[dict[str, Any]]:
    """Each target with its measured figure and whether it is met (None: not measured)."""
    judged = []
    for target in TARGETS:
        value = lookup(report, target.path)
        met = target.holds(float(value)) if isinstance(value, int | float) else None
        if met and target.path == ("throughput", "turns_per_s"):
            met = lookup(report, ("throughput", "errors")) == 0
        judged.append({"target": target.name, "bound": target.bound, "measured": value,
                       "met": met})
    return judged


def _cell(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:,.3f}" if abs(value) < 10 else f"{value:,.1f}"
    return f"{value:,}" if isinstance(value, int) else str(value)


def table(report: dict[str, Any]) -> Table:
    """Every figure of the report, one row each, with the target it is held to."""
    over = report.get("turn_overhead") or {}
    rows: list[tuple[str, Any, str]] = [
        ("turn overhead: chatpay p50 / p99 µs",
         f"{_cell(over.get('chatpay_p50_us'))} / {_cell(over.get('chatpay_p99_us'))}", "≤ 1,000"),
        ("  chatpay p50 µs by turn 1..6",
         " ".join(_cell(v) for v in over.get("chatpay_p50_us_by_turn") or []), ""),
        ("  turn 6 / turn 1", over.get("growth_last_over_first"), "≤ 1.1"),
        ("  same view_cart turn: last / first of 24 (history only)",
         over.get("repeated_turn_growth_last_over_first"), ""),
        ("  chatpay SQL statements by turn 1..6",
         " ".join(_cell(v) for v in over.get("chatpay_sql_statements_by_turn") or []), ""),
        ("  chatpay p50 µs, model double that keeps nothing",
         over.get("chatpay_replay_model_p50_us"), ""),
        ("  openai-agents p50 µs (ratio chatpay/peer)",
         f"{_cell(over.get('openai_agents_p50_us'))} "
         f"({_cell(over.get('ratio_vs_openai_agents'))}×)", ""),
        ("  pydantic-ai p50 µs (ratio chatpay/peer)",
         f"{_cell(over.get('pydantic_ai_p50_us'))} ({_cell(over.get('ratio_vs_pydantic_ai'))}×)",
         ""),
    ]
    throughput = report.get("throughput") or {}
    rows += [
        ("throughput: turns/s, purchases/s",
         f"{_cell(throughput.get('turns_per_s'))}, {_cell(throughput.get('purchases_per_s'))}",
         "≥ 300 turns/s"),
        ("  message p99 ms, errors, server RSS MB",
         f"{_cell(throughput.get('p99_ms'))}, {_cell(throughput.get('errors'))}, "
         f"{_cell(throughput.get('server_rss_mb'))}", "0 errors"),
    ]
    if throughput.get("skipped"):
        rows.append(("  not measured", throughput["skipped"], ""))
    tokens = report.get("tokens") or {}
    rows += [
        ("tokens: prompt tokens per call", tokens.get("prompt_tokens_per_call"), "≤ 1,500"),
        ("  prompt tokens per completed purchase", tokens.get("prompt_tokens_per_purchase"), ""),
        ("  stable prefix share (vs previous call)", tokens.get("stable_prefix_share"), "≥ 0.70"),
        ("  system prompt + tool schemas share", tokens.get("static_prefix_share"), ""),
        ("  prompt at turn 5 → turn 60",
         f"{_cell(tokens.get('prompt_tokens_turn5'))} → {_cell(tokens.get('prompt_tokens_turn60'))}"
         f" ({_cell(tokens.get('turn60_over_turn5'))}×)", "≤ 1.2×"),
        ("model calls per free-text message", report.get("model_calls_per_message"), "≤ 1.2"),
        ("  model calls per widget action", report.get("model_calls_per_widget_action"), "0"),
        ("  model calls per completed purchase", tokens.get("model_calls_per_purchase"), ""),
    ]
    memory = report.get("memory") or {}
    rows += [
        ("memory: RSS MB after 10k conversations", report.get("rss_mb_after_10k_conversations"),
         ""),
        ("  RSS MB before → after (conversations)",
         f"{_cell(memory.get('rss_mb_before'))} → {_cell(memory.get('rss_mb_after'))} "
         f"({_cell(memory.get('conversations'))})", ""),
    ]
    info = report.get("machine") or {}
    grid = Table(title=f"chatpay bench · {info.get('cpu_count')} CPUs · Python "
                       f"{info.get('python')} · load {info.get('load_average_1m')} · "
                       f"{info.get('date')}")
    grid.add_column("figure")
    grid.add_column("measured", justify="right")
    grid.add_column("target")
    for name, value, bound in rows:
        grid.add_row(name, value if isinstance(value, str) else _cell(value), bound)
    return grid


def targets_table(judged: list[dict[str, Any]]) -> Table:
    grid = Table(title="issue 8 targets")
    for column in ("target", "bound", "measured", "met"):
        grid.add_column(column)
    for row in judged:
        met = {True: "[green]yes[/green]", False: "[red]no[/red]", None: "not measured"}
        grid.add_row(row["target"], row["bound"], _cell(row["measured"]), met[row["met"]])
    return grid


def print_report(report: dict[str, Any], console: Console | None = None) -> None:
    console = console or Console()
    console.print(table(report))
    console.print(targets_table(report.get("targets") or []))
