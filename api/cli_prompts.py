"""`chatpay prompts list|add|weights`: the prompt variants served to new conversations.

This module only houses the commands; `api.cli` mounts them with
`app.add_typer(prompts_app, name="prompts")`. The registry's rules (sticky variants, weights,
what happens with none registered) are in `prompts.variants`. Exit status 2 for a request the
registry refuses (bad directory, unknown name, negative weight), with the reason on stderr.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Annotated, TypeVar

import typer
from rich.console import Console
from rich.table import Table
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from api.cli_database import UrlOption, command_database
from prompts import load_prompts
from prompts.variants import VariantError, add_variant, list_variants, set_weights
from tools.store.models import Conversation, PromptVariant

prompts_app = typer.Typer(help="Prompt variants for A/B tests in production.",
                          no_args_is_help=True)
console = Console()
errors = Console(stderr=True)
T = TypeVar("T")


def _run(url: str | None, work: Callable[[AsyncSession], Awaitable[T]]) -> T:
    """Run `work` in one transaction, committed when it succeeds; refusals exit with status 2."""

    async def go() -> T:
        database = command_database(url)
        try:
            async with database.session() as session:
                result = await work(session)
                await session.commit()
                return result
        finally:
            await database.dispose()

    try:
        return asyncio.run(go())
    except VariantError as exc:
        errors.print(f"[red]{exc}[/red]", soft_wrap=True, highlight=False)
        raise typer.Exit(code=2) from None


def _current_hash(directory: str) -> str | None:
    try:
        return load_prompts(Path(directory)).hash
    except (FileNotFoundError, UnicodeDecodeError):
        return None


def _table(variants: list[PromptVariant], conversations: dict[str, int]) -> Table:
    total = sum(v.weight for v in variants)
    table = Table(title="prompt variants")
    for column in ("name", "weight", "share", "conversations", "hash", "directory"):
        table.add_column(column, justify="right" if column in ("weight", "share",
                                                               "conversations") else "left")
    for v in variants:
        now = _current_hash(v.directory)
        # Files edited after registration change what the variant's conversations are served.
        state = "" if now == v.prompt_hash else " (missing)" if now is None else " (changed)"
        table.add_row(v.name, str(v.weight),
                      f"{v.weight / total:.0%}" if total else "-",
                      str(conversations.get(v.name, 0)), v.prompt_hash[:12] + state, v.directory)
    return table


async def _registry(session: AsyncSession) -> tuple[list[PromptVariant], dict[str, int]]:
    """The variants and the number of conversations recorded under each name."""
    counts = await session.execute(
        select(Conversation.prompt_variant, func.count())
        .where(Conversation.prompt_variant.is_not(None)).group_by(Conversation.prompt_variant))
    return await list_variants(session), {str(name): n for name, n in counts}


@prompts_app.command("list")
def list_command(url: UrlOption = None) -> None:
    """Registered variants, their traffic share and how many conversations each has had."""

    variants, conversations = _run(url, _registry)
    if not variants:
        console.print("no prompt variants: every conversation uses the configured prompt "
                      "directory (CHATPAY_PROMPT_DIR)")
        return
    console.print(_table(variants, conversations))
    if not any(v.weight for v in variants):
        console.print("every weight is 0: new conversations use the configured prompt directory")


@prompts_app.command("add")
def add_command(
    name: Annotated[str, typer.Argument(help="Variant name (recorded on each conversation).")],
    directory: Annotated[Path, typer.Argument(metavar="DIR", help="Prompt directory "
                                              "(en/system.txt, ja/system.txt).")],
    weight: Annotated[int, typer.Option("--weight", min=0, help="Traffic weight (0: registered "
                                        "but given no new conversations).")] = 0,
    url: UrlOption = None,
) -> None:
    """Register a prompt directory as a variant."""
    variant = _run(url, lambda session: add_variant(session, name, directory, weight))
    console.print(f"registered {variant.name} ({variant.prompt_hash[:12]}) with weight "
                  f"{variant.weight}", markup=False)


def _parse_weights(pairs: list[str]) -> dict[str, int]:
    weights: dict[str, int] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name or not value.strip().isdigit():
            raise typer.BadParameter(f"{pair!r}: write NAME=W with W a whole number >= 0")
        weights[name] = int(value)
    return weights


@prompts_app.command("weights")
def weights_command(
    pairs: Annotated[list[str], typer.Argument(metavar="NAME=W...", help="New weights.")],
    url: UrlOption = None,
) -> None:
    """Set traffic weights (all or none are changed); running conversations keep their variant."""
    weights = _parse_weights(pairs)

    async def work(session: AsyncSession) -> tuple[list[PromptVariant], dict[str, int]]:
        await set_weights(session, weights)
        return await _registry(session)

    console.print(_table(*_run(url, work)))
