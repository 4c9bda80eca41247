"""The database a `chatpay` command works on: `--url`, else `CHATPAY_DATABASE_URL`.

This module only houses the `--url` option and the one way commands open that database, so
`api.cli`, `api.cli_funnel`, `api.cli_prompts` and `api.cli_purge` agree on both.
"""

from __future__ import annotations

from typing import Annotated

import typer

from tools.settings import get_commerce_settings
from tools.store.db import Database

UrlOption = Annotated[str | None, typer.Option("--url", help="Database URL (default: "
                                                "CHATPAY_DATABASE_URL).")]


def command_database(url: str | None) -> Database:
    """The database of `--url`, or the configured one; the command disposes of it."""
    return Database(url or get_commerce_settings().database_url)
