"""`chatpay funnel`: the conversion funnel as tables in the terminal.

This module only houses the command's function; `api.cli` registers it with
`app.command("funnel")(funnel)`. The figures are those of `GET /api/operator/funnel`
(`tools.funnel.report`).
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from api.cli_database import UrlOption, command_database
from tools.funnel import Period, funnel_report

console = Console()


class Breakdown(StrEnum):
    DAY = "day"
    LOCALE = "locale"
    PAYMENT_METHOD = "payment_method"
    PROMPT_VARIANT = "prompt_variant"


def _percent(value: float | None) -> str:
    return "-" if value is None else f"{value * 100:.1f}%"


def _number(value: float | None, unit: str = "") -> str:
    return "-" if value is None else f"{value:g}{unit}"


def stages_table(report: dict[str, Any]) -> Table:
    table = Table(title=f"Funnel {report['period']['since']} .. {report['period']['until']}")
    for column in ("stage", "count", "share of started", "drop-off", "stopped here"):
        table.add_column(column, justify="left" if column == "stage" else "right")
    for row in report["stages"]:
        stopped = report["stopped_at"].get(row["stage"])
        table.add_row(row["stage"], str(row["count"]), _percent(row["share_of_started"]),
                      _percent(row["drop_off_from_previous"]),
                      "-" if stopped is None else str(stopped))
    return table


def breakdown_table(report: dict[str, Any], by: str) -> Table:
    table = Table(title=f"By {by.replace('_', ' ')}")
    stage_names = [row["stage"] for row in report["stages"]]
    table.add_column(by)  # may share its name with a stage column (payment_method)
    for column in ("conversations", "purchases", "conversion", *stage_names[1:-1]):
        table.add_column(column, justify="right")
    for key, group in report["by"][by].items():
        counts = [str(row["count"]) for row in group["stages"][1:-1]]
        table.add_row(key, str(group["conversations"]), str(group["purchases"]),
                      _percent(group["conversion"]), *counts)
    return table


def variants_table(report: dict[str, Any]) -> Table:
    table = Table(title="Prompt variants (two-proportion z-test against the control)")
    for column in ("variant", "conversations", "purchases", "conversion", "z", "p", "significant"):
        table.add_column(column, justify="left" if column == "variant" else "right")
    for row in report["variants"]:
        control = row["variant"] == row["control"]
        table.add_row(row["variant"] + (" (control)" if control else ""), str(row["conversations"]),
                      str(row["purchases"]), _percent(row["conversion"]),
                      "-" if row["z"] is None else f"{row['z']:.3f}",
                      "-" if row["p_value"] is None else f"{row['p_value']:.4f}",
                      "yes" if row["significant"] else "no")
    return table


def purchase_table(report: dict[str, Any]) -> Table:
    purchase = report["purchase"]
    table = Table(title="Purchases")
    table.add_column("figure")
    table.add_column("value", justify="right")
    table.add_row("awaiting store payment", str(report["awaiting_store_payment"]))
    table.add_row("median time to purchase", _number(purchase["median_seconds"], " s"))
    table.add_row("median user turns to purchase", _number(purchase["median_user_turns"]))
    table.add_row("model calls per purchase", _number(purchase["model_calls_per_purchase"]))
    table.add_row("tokens per purchase", _number(purchase["tokens_per_purchase"]))
    return table


def funnel(
    days: Annotated[int, typer.Option("--days", min=1, help="Days back from --until.")] = 30,
    since: Annotated[datetime | None, typer.Option(
        "--since", formats=["%Y-%m-%d"], help="First UTC date (inclusive).")] = None,
    until: Annotated[datetime | None, typer.Option(
        "--until", formats=["%Y-%m-%d"], help="Last UTC date (inclusive, default today).")] = None,
    by: Annotated[list[Breakdown] | None, typer.Option(
        "--by", help="Breakdowns to show (repeatable; default all).")] = None,
    url: UrlOption = None,
) -> None:
    """Conversion funnel: stages, drop-off, breakdowns, purchase medians and the prompt A/B test."""
    try:
        period = Period.resolve(days=days, since=since.date() if since else None,
                                until=until.date() if until else None)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from exc

    async def run() -> dict[str, Any]:
        database = command_database(url)
        try:
            async with database.session() as session:
                return await funnel_report(session, period)
        finally:
            await database.dispose()

    report = asyncio.run(run())
    console.print(stages_table(report))
    for breakdown in by or list(Breakdown):
        console.print(breakdown_table(report, breakdown.value))
    console.print(purchase_table(report))
    console.print(variants_table(report))
