"""`chatpay purge --older-than DAYS`: the retention purge, run by an operator or a daily timer.

This module only houses the command's function; `api.cli` registers it with
`app.command("purge")(purge)`. The rules of what is erased are in `tools.retention`.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Annotated

import typer
from rich.console import Console

from api.cli_database import UrlOption, command_database
from tools.retention import purge_conversations
from tools.store.models import utcnow

console = Console()


def purge(
    older_than: Annotated[int, typer.Option(
        "--older-than", min=1, metavar="DAYS",
        help="Erase conversations idle for more than this many days.")],
    url: UrlOption = None,
) -> None:
    """Erase transcripts and personal data of idle conversations; orders keep what accounting needs."""

    async def run() -> str:
        database = command_database(url)
        try:
            async with database.session() as session:
                report = await purge_conversations(session, timedelta(days=older_than), utcnow())
                await session.commit()
        finally:
            await database.dispose()
        return report.summary()

    console.print(asyncio.run(run()))
