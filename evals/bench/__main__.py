"""`python -m evals.bench`: every benchmark of issue 8, a table on the terminal and a JSON file.

This module only houses the command line and the order of the runs: turn overhead (chatpay and
the peers, interleaved, alone), token cost and model calls (the eval suite and a 60-message
conversation with the offline model) while memory runs in a process of its own, and throughput
(the load generator's hook, with PostgreSQL). `make bench` runs it with `--json var/bench.json`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from evals.bench import throughput
from evals.bench.report import judge, machine, print_report

SECTIONS = ("turn_overhead", "tokens", "memory", "throughput")
TEN_THOUSAND = 10_000


@dataclass(frozen=True)
class Sizes:
    """How much each benchmark does; `--quick` is for trying the bench, not for its figures."""

    conversations: int = 200
    warmup: int = 20
    scenarios: int | None = None  # the whole eval suite
    long_messages: int = 60
    memory_conversations: int = TEN_THOUSAND
    memory_budget_s: float = 300.0  # runs beside the token benchmark
    shoppers: int = 200
    concurrency: int = 20


QUICK = Sizes(conversations=20, warmup=3, scenarios=10, memory_conversations=1000,
              memory_budget_s=60.0, shoppers=20, concurrency=5)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m evals.bench", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--json", type=Path, help="write the report here (e.g. var/bench.json)")
    parser.add_argument("--quick", action="store_true", help="small runs, to try the bench")
    parser.add_argument("--only", help=f"comma-separated sections of {', '.join(SECTIONS)}")
    parser.add_argument("--conversations", type=int, help="turn overhead: measured "
                        "conversations per framework (default 200, --quick 20)")
    parser.add_argument("--database-url", default=os.environ.get("CHATPAY_TEST_DATABASE_URL"),
                        help="PostgreSQL server for the throughput run (a throw-away database "
                        "is made on it); default $CHATPAY_TEST_DATABASE_URL")
    return parser


def _start_memory(sizes: Sizes) -> subprocess.Popen[str]:
    """Benchmark 5 in a fresh interpreter, so only the server's own memory is counted.

    It measures memory, not time, so it runs beside the token benchmark (also untimed) on the
    second core; the timed benchmarks run alone.
    """
    command = [sys.executable, "-m", "evals.bench.memory",
               "--conversations", str(sizes.memory_conversations),
               "--budget-s", str(sizes.memory_budget_s)]
    return subprocess.Popen(command, stdout=subprocess.PIPE,  # noqa: S603
                            stderr=subprocess.PIPE, text=True)


def _finish_memory(process: subprocess.Popen[str], sizes: Sizes) -> dict[str, Any]:
    try:
        out, err = process.communicate(timeout=sizes.memory_budget_s + 300)
    except subprocess.TimeoutExpired:
        process.kill()
        process.communicate()
        return {"error": "the memory run did not finish"}
    if process.returncode:
        return {"error": f"exit {process.returncode}: {err.strip()[-2000:]}"}
    result: dict[str, Any] = json.loads(out.strip().splitlines()[-1])
    return result


def run(sizes: Sizes, sections: set[str], database_url: str | None) -> dict[str, Any]:
    """Every asked-for benchmark; the report as `var/bench.json` holds it."""
    from evals.bench import tokens, turn_overhead

    report: dict[str, Any] = {"machine": machine(), "sizes": sizes.__dict__,
                              "command": " ".join(["python -m evals.bench", *sys.argv[1:]])}
    started = time.perf_counter()
    if "turn_overhead" in sections:
        with tempfile.TemporaryDirectory(prefix="chatpay-bench-") as directory:
            report["turn_overhead"] = asyncio.run(turn_overhead.measure(
                sizes.conversations, sizes.warmup, Path(directory)))
    memory_run = _start_memory(sizes) if "memory" in sections else None
    if "tokens" in sections:
        suite = asyncio.run(tokens.suite_costs(sizes.scenarios))
        long = asyncio.run(tokens.long_conversation(sizes.long_messages))
        report["tokens"] = {**suite, **{k: v for k, v in long.items() if k != "model_calls"},
                            "long_conversation_model_calls": long["model_calls"]}
        report["model_calls_per_message"] = suite["model_calls_per_message"]
        report["model_calls_per_widget_action"] = long["model_calls_for_2_widget_actions"] / 2
    if memory_run is not None:
        memory = report["memory"] = _finish_memory(memory_run, sizes)
        report["rss_mb_after_10k_conversations"] = (
            memory.get("rss_mb_after") if memory.get("conversations") == TEN_THOUSAND else None)
    report["throughput"] = (throughput.measure(database_url, shoppers=sizes.shoppers,
                                               concurrency=sizes.concurrency)
                            if "throughput" in sections else throughput.skipped("not asked for"))
    report.setdefault("rss_mb_after_10k_conversations", None)
    report.setdefault("model_calls_per_message", None)
    report["machine"]["load_average_1m_at_end"] = round(os.getloadavg()[0], 2)
    report["seconds"] = round(time.perf_counter() - started, 1)
    report["targets"] = judge(report)
    return report


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    sections = set(args.only.split(",")) if args.only else set(SECTIONS)
    unknown = sections - set(SECTIONS)
    if unknown:
        _parser().error(f"unknown sections: {', '.join(sorted(unknown))}")
    sizes = QUICK if args.quick else Sizes()
    if args.conversations:
        sizes = Sizes(**{**sizes.__dict__, "conversations": args.conversations})
    report = run(sizes, sections, args.database_url)
    print_report(report)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n",
                             encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
