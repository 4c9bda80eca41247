"""The `chatpay` command line: database, catalogue and server commands."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from api.settings import ServiceSettings
from tools.catalog.loader import (
    DEMO_CATALOG_PATH,
    CatalogFormatError,
    load_catalog,
    read_catalog_file,
)
from tools.settings import get_commerce_settings
from tools.store.db import Database
from tools.store.migrate import upgrade

app = typer.Typer(help="chatpay: shop and pay inside a chat conversation.", no_args_is_help=True)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
catalog_app = typer.Typer(help="Product catalogue.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(catalog_app, name="catalog")
console = Console()

UrlOption = Annotated[str | None, typer.Option("--url", help="Database URL (default: "
                                                "CHATPAY_DATABASE_URL).")]


def _database(url: str | None) -> Database:
    return Database(url or get_commerce_settings().database_url)


@db_app.command("upgrade")
def db_upgrade(url: UrlOption = None) -> None:
    """Apply all migrations (creates the database file for SQLite)."""

    async def run() -> None:
        database = _database(url)
        try:
            await upgrade(database.engine)
        finally:
            await database.dispose()

    asyncio.run(run())
    console.print("[green]database is up to date[/green]")


@catalog_app.command("load")
def catalog_load(
    file: Annotated[Path | None, typer.Argument(help="Catalogue file (YAML or JSON).")] = None,
    demo: Annotated[bool, typer.Option("--demo", help="Load the shipped demo catalogue.")] = False,
    deactivate_missing: Annotated[bool, typer.Option(
        help="Deactivate products that are not in the file.")] = False,
    url: UrlOption = None,
) -> None:
    """Create or update products from a catalogue file (by sku)."""
    if (file is None) == (not demo):
        raise typer.BadParameter("give a FILE or --demo (not both)")
    path = DEMO_CATALOG_PATH if demo else file
    assert path is not None  # noqa: S101 - checked above
    try:
        entries = read_catalog_file(path)
    except (CatalogFormatError, OSError) as exc:
        console.print(f"[red]cannot load {path}:[/red] {exc}")
        raise typer.Exit(code=2) from None

    async def run() -> None:
        database = _database(url)
        try:
            async with database.session() as session:
                report = await load_catalog(session, entries,
                                            deactivate_missing=deactivate_missing)
                await session.commit()
        finally:
            await database.dispose()
        console.print(
            f"[green]{len(entries)} products[/green] from {path}: {report.created} created, "
            f"{report.updated} updated, {report.unchanged} unchanged, "
            f"{report.deactivated} deactivated"
        )

    asyncio.run(run())


@app.command("serve")
def serve(
    host: Annotated[str | None, typer.Option(help="Listen address.")] = None,
    port: Annotated[int | None, typer.Option(help="Port of the merchant app.")] = None,
) -> None:
    """Serve the merchant app (chat page and API)."""
    import uvicorn

    settings = ServiceSettings()
    host = host or settings.host
    port = port or settings.port
    console.print(f"chatpay is serving on [bold]http://{host}:{port}[/bold]")
    uvicorn.run("api.app:create_app", factory=True, host=host, port=port,
                log_level=settings.log_level.lower())


if __name__ == "__main__":
    app()
