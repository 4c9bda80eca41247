"""`chatpay eval`: run scenario suites and write their reports (a typer sub-app).

This module only houses the command line: reading options, building the models, showing progress
and the summary table, writing the reports and choosing the exit status (0 every scenario passed,
1 any failed or a report problem, 2 bad usage or invalid scenario files).

Mount it with `app.add_typer(evals.cli.app, name="eval")`, or run it alone:
`python -c "from evals.cli import app; app()" run evals/scenarios`.
"""

from __future__ import annotations

import asyncio
import os
import string
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text

from agent.settings import OFFLINE_MODEL

if TYPE_CHECKING:
    from evals.runner import RunResult, SuiteResult, Variant

# The runner pulls in the whole service (FastAPI, SQLAlchemy, the model client); it is imported
# when a command runs, so that mounting this sub-app keeps `chatpay --help` quick.

app = typer.Typer(help="Scenario evals: completion, cost and safety of the shopping chat.",
                  no_args_is_help=True)
# CI logs are no terminal: rich would assume 80 columns there and fold every scenario name.
console = Console(stderr=True, width=None if sys.stderr.isatty() else 140)
DEFAULT_JOBS = min(4, os.cpu_count() or 1)


@app.callback()
def main() -> None:
    """Scenario evals: completion, cost and safety of the shopping chat."""
    # A callback keeps `run` a named sub-command even while it is the only one.


def _variants(prompt_dirs: list[Path]) -> list[Variant]:
    from evals.runner import Variant

    if not prompt_dirs:
        return [Variant.of("default", None)]
    if len(prompt_dirs) == 1:
        return [Variant.of(prompt_dirs[0].name or "prompts", prompt_dirs[0])]
    labels = string.ascii_uppercase
    return [Variant.of(labels[index], directory) for index, directory in enumerate(prompt_dirs)]


def _registered(variants: list[Variant], registry_url: str) -> list[Variant]:
    """The variants labelled with their production names (`chatpay prompts`), matched by hash.

    By hash, not path: a copy of a registered directory is the same prompts, and a registered
    directory edited since is not what its conversations were served. Unmatched or ambiguous
    variants keep their labels, so labels stay unique.
    """
    from dataclasses import replace

    from prompts.variants import names_by_hash
    from tools.store.db import Database

    async def read() -> dict[str, list[str]]:
        database = Database(registry_url)
        try:
            async with database.session() as session:
                return await names_by_hash(session)
        finally:
            await database.dispose()

    from sqlalchemy.exc import SQLAlchemyError

    try:
        names = asyncio.run(read())
    except (SQLAlchemyError, OSError) as exc:
        raise ValueError(f"cannot read the prompt-variant registry: {exc}") from None
    labels = ["/".join(names[v.prompt_hash]) if v.prompt_hash in names else v.label
              for v in variants]
    if len(set(labels)) < len(labels):
        return variants
    return [replace(v, label=label) for v, label in zip(variants, labels, strict=True)]


def _table(suite: SuiteResult) -> Table:
    several = len(suite.config.variants) > 1
    table = Table(title="chatpay evals", expand=True)
    table.add_column("scenario", overflow="fold", ratio=3, min_width=16)
    if several:
        table.add_column("variant", no_wrap=True)
    for column in ("result", "turns", "calls", "tokens"):
        table.add_column(column, no_wrap=True, justify="right" if column != "result" else "left")
    table.add_column("first failure", overflow="fold", ratio=4)
    groups: dict[tuple[str, str], list[RunResult]] = {}
    for run in suite.runs:
        groups.setdefault((run.variant, run.scenario), []).append(run)
    for (variant, name), runs in groups.items():
        passes = sum(r.passed for r in runs)
        result = f"[green]pass[/green] {passes}/{len(runs)}" if passes == len(runs) else \
            f"[red]FAIL[/red] {passes}/{len(runs)}"
        failure = next((f for r in runs for f in r.failures), "")
        cells: list[str | Text] = [Text(name), *([Text(variant)] if several else []), result,
                 str(sum(r.user_turns for r in runs)), str(sum(r.model_calls for r in runs)),
                 str(sum(r.prompt_tokens + r.completion_tokens for r in runs)),
                 Text(failure[:200])]
        table.add_row(*cells)
    return table


@app.command("run")
def run(
    paths: Annotated[list[Path], typer.Argument(help="Scenario files or folders.")],
    model: Annotated[str, typer.Option(help='Model name; "offline" (default) is the embedded '
                                       "model, anything else uses OPENAI_API_KEY / "
                                       "OPENAI_BASE_URL.")] = OFFLINE_MODEL,
    prompt_dir: Annotated[list[Path] | None, typer.Option(
        "--prompt-dir", help="Prompt directory; give it twice to compare two variants (A/B).")
    ] = None,
    repeat: Annotated[int, typer.Option(min=1, max=100, help="Runs per scenario (pass^k for "
                                        "k = 1..K).")] = 1,
    report: Annotated[Path | None, typer.Option("--report", help="Write the JSON report here.")
                      ] = None,
    html_path: Annotated[Path | None, typer.Option("--html", help="Write the HTML report here.")
                         ] = None,
    jobs: Annotated[int, typer.Option(min=1, max=64, help="Worker processes running scenarios "
                                      "at the same time (default: the CPU count, at most 4).")
                    ] = DEFAULT_JOBS,
    user_model: Annotated[str | None, typer.Option(
        "--user-model", help="Let this OpenAI-compatible model write the simulated shopper's "
                             "messages (goal scenarios).")] = None,
    registry_url: Annotated[str | None, typer.Option(
        "--registry-url", help="Name each prompt directory after the production variant with "
                               "the same prompts, from this database's registry.")] = None,
) -> None:
    """Run scenarios against the chat; exit 0 only if every scenario passed."""
    from evals.report import all_secrets, seal, write_reports
    from evals.runner import SuiteConfig
    from evals.scenario import ScenarioError, load_scenarios
    from evals.suite import ModelByName, run_suite

    try:
        scenarios = load_scenarios(paths)
    except ScenarioError as exc:
        console.print(Text(str(exc), style="red"), soft_wrap=True)
        raise typer.Exit(code=2) from None
    try:
        variants = _variants(prompt_dir or [])
        if registry_url:
            variants = _registered(variants, registry_url)
        factory = ModelByName(model)
        factory.check()
        shopper = ModelByName(user_model) if user_model else None
        if shopper is not None:
            shopper.check()
    except (FileNotFoundError, ValidationError, ValueError) as exc:
        console.print(Text(f"cannot start: {exc}", style="red"), soft_wrap=True)
        raise typer.Exit(code=2) from None
    config = SuiteConfig(model_name=model, model_factory=factory, variants=variants,
                         repeat=repeat, jobs=jobs, shopper_model_factory=shopper)
    total = len(scenarios) * len(variants) * repeat
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                  TimeElapsedColumn(), console=console, transient=True) as progress:
        task = progress.add_task("running", total=total)
        failed = 0

        def advance(result: RunResult) -> None:
            nonlocal failed
            failed += not result.passed
            progress.update(task, advance=1,
                            description=f"{result.scenario[:28]:<28} ({failed} failed)")

        suite = asyncio.run(run_suite(scenarios, config, on_result=advance))
    sealed = seal(suite)
    problems = write_reports(sealed, all_secrets(suite.runs), report, html_path)
    console.print(_table(suite))
    summary = sealed["summary"]
    completion = summary["completion_rate"]
    console.print(
        f"{summary['passed']}/{summary['scenarios']} scenarios passed · pass^k "
        f"{summary['pass_hat_k']} · completion {'n/a' if completion is None else completion} · "
        f"{summary['user_turns']} turns · {summary['model_calls']} model calls · "
        f"{summary['prompt_tokens']}+{summary['completion_tokens']} tokens · "
        f"{summary['leaks']} leaks · {summary['wall_s']} s · model {summary['model']}",
        soft_wrap=True, markup=False)
    for problem in problems:
        console.print(Text(f"report problem: {problem}", style="red"), soft_wrap=True)
    if summary["failed"] or problems:
        raise typer.Exit(code=1)


@app.command("from-conversation")
def from_conversation(
    conversation_id: Annotated[str, typer.Argument(metavar="ID", help="The conversation's id.")],
    url: Annotated[str | None, typer.Option("--url", help="Database URL (default: "
                                            "CHATPAY_DATABASE_URL).")] = None,
    out: Annotated[Path | None, typer.Option("--out", help="Write the scenario here (default: "
                                             "print it).")] = None,
) -> None:
    """Turn a stored conversation into a scenario that replays it to the same order."""
    from evals.from_conversation import (
        ConversationNotFound,
        scenario_from_conversation,
        scenario_yaml,
    )
    from tools.settings import get_commerce_settings
    from tools.store.db import Database

    async def export() -> str:
        database = Database(url or get_commerce_settings().database_url)
        try:
            async with database.session() as session:
                return scenario_yaml(await scenario_from_conversation(session, conversation_id))
        finally:
            await database.dispose()

    try:
        text = asyncio.run(export())
    except ConversationNotFound:
        console.print(Text(f"no conversation {conversation_id}", style="red"), soft_wrap=True)
        raise typer.Exit(code=2) from None
    if out is None:
        sys.stdout.write(text)
        return
    out.write_text(text, encoding="utf-8")
    console.print(f"scenario written to {out}", markup=False)


if __name__ == "__main__":
    app()
