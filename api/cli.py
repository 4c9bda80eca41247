"""The `chatpay` command line: database, catalogue and server commands."""

from __future__ import annotations

import asyncio
import subprocess  # noqa: S404 - starts the sandbox gateway beside the workers
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Annotated

import httpx
import typer
from rich.console import Console

from api import serve_workers
from api.cli_database import UrlOption, command_database
from api.cli_funnel import funnel
from api.cli_prompts import prompts_app
from api.cli_purge import purge
from api.settings import ServiceSettings
from evals.cli import app as eval_app
from tools.catalog.loader import (
    DEMO_CATALOG_PATH,
    CatalogFormatError,
    load_catalog,
    read_catalog_file,
)
from tools.store.migrate import upgrade

app = typer.Typer(help="chatpay: shop and pay inside a chat conversation.", no_args_is_help=True)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
catalog_app = typer.Typer(help="Product catalogue.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(catalog_app, name="catalog")
app.add_typer(eval_app, name="eval")
app.command("purge")(purge)
app.command("funnel")(funnel)
app.add_typer(prompts_app, name="prompts")
console = Console()

@db_app.command("upgrade")
def db_upgrade(url: UrlOption = None) -> None:
    """Apply all migrations (creates the database file for SQLite)."""

    async def run() -> None:
        database = command_database(url)
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
        database = command_database(url)
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
    workers: Annotated[int, typer.Option(min=1, max=64, help="Merchant app processes (state "
                                         "lives in the database; rate limits are per process)."
                                         )] = 1,
) -> None:
    """Serve the merchant app (chat page and API) and, by default, the sandbox gateway beside it."""
    import uvicorn

    settings = ServiceSettings()
    host = host or settings.host
    port = port or settings.port
    level = settings.log_level.lower()
    sandbox_url: str | None = None
    if settings.gateway == "sandbox" and settings.serve_sandbox:
        from tools.payments.sandbox import SandboxSettings

        sandbox_url = SandboxSettings().public_url
        console.print(f"sandbox payment gateway on [bold]{sandbox_url}[/bold]")
    console.print(f"chatpay is serving on [bold]http://{host}:{port}[/bold]"
                  + (f" with {workers} workers" if workers > 1 else ""))
    if workers == 1:
        asyncio.run(_serve_in_one_process(host, port, level, sandbox_url))
        return
    # Several workers: uvicorn forks them from an import string; the sandbox keeps its ledger in
    # memory, so it must stay one process of its own rather than one per worker.
    sandbox = (subprocess.Popen([sys.executable, "-m", "tools.payments.sandbox"])
               if sandbox_url else None)
    try:
        if serve_workers.spreads_connections():
            # A socket per worker: the kernel spreads connections evenly (api.serve_workers).
            serve_workers.serve(host, port, workers, level)
        else:
            uvicorn.run("api.app:create_app", factory=True, host=host, port=port,
                        workers=workers, log_level=level)
    finally:
        if sandbox is not None:
            sandbox.terminate()
            sandbox.wait(timeout=10)


async def _serve_in_one_process(host: str, port: int, level: str, sandbox_url: str | None) -> None:
    import uvicorn

    from api.app import create_app

    servers = [uvicorn.Server(uvicorn.Config(create_app(), host=host, port=port,
                                             log_level=level))]
    if sandbox_url is not None:
        from urllib.parse import urlsplit

        from tools.payments.sandbox import SandboxSettings
        from tools.payments.sandbox import create_app as create_sandbox_app

        where = urlsplit(sandbox_url)
        servers.append(uvicorn.Server(uvicorn.Config(
            create_sandbox_app(SandboxSettings()), host=where.hostname or "127.0.0.1",
            port=where.port or 8001, log_level=level)))
    await asyncio.gather(*(server.serve() for server in servers))


@app.command("chat")
def chat(
    url: Annotated[str | None, typer.Option("--url", help="A running chatpay server; default: "
                                            "in-process (offline model, sandbox gateway).")] = None,
    locale: Annotated[str, typer.Option(help="en or ja")] = "en",
) -> None:
    """Chat with the shop in the terminal; card details are read hidden and sent to the gateway."""
    from api.terminal_chat import HELP, TerminalChat

    async def run() -> None:
        async with _chat_clients(url) as (api, gateway):
            session = TerminalChat(api=api, gateway=gateway, console=console,
                                   prompt=typer.prompt, locale=locale)
            console.print(HELP)
            await session.start()
            while True:
                try:
                    line = typer.prompt("you", default="", show_default=False)
                except (EOFError, typer.Abort):
                    break
                if not await session.handle(line):
                    break

    asyncio.run(run())


@asynccontextmanager
async def _chat_clients(url: str | None) -> AsyncIterator[tuple[httpx.AsyncClient,
                                                                httpx.AsyncClient]]:
    """HTTP clients for the merchant API and the gateway: remote, or both apps in-process."""
    if url:
        async with httpx.AsyncClient(base_url=url, timeout=60) as api, \
                httpx.AsyncClient(timeout=30) as gateway:
            yield api, gateway
        return
    from api.app import create_app
    from tools.payments.sandbox import SandboxGateway, SandboxSettings
    from tools.payments.sandbox import create_app as create_sandbox_app

    await _prepare_local_database()
    sandbox = SandboxSettings(webhook_url="")
    gateway_transport = httpx.ASGITransport(app=create_sandbox_app(sandbox))
    merchant = create_app(gateway=SandboxGateway.from_settings(sandbox,
                                                              transport=gateway_transport),
                          gateway_url=sandbox.public_url)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=merchant),
                                 base_url="http://chatpay.local", timeout=60) as api, \
            httpx.AsyncClient(transport=gateway_transport, base_url=sandbox.public_url) as gateway:
        yield api, gateway


async def _prepare_local_database() -> None:
    """Migrate the configured database and load the demo catalogue when it has no products."""
    from sqlalchemy import func, select

    from tools.catalog.loader import load_demo_entries
    from tools.store.models import Product

    database = command_database(None)
    try:
        await upgrade(database.engine)
        async with database.session() as session:
            if not await session.scalar(select(func.count()).select_from(Product)):
                await load_catalog(session, load_demo_entries())
                await session.commit()
    finally:
        await database.dispose()


payments_app = typer.Typer(help="Payments.", no_args_is_help=True)
app.add_typer(payments_app, name="payments")


@payments_app.command("reconcile")
def payments_reconcile(
    older_than: Annotated[int, typer.Option(help="Skip payments younger than this (seconds): "
                                            "their request may still be in flight.")] = 60,
    url: UrlOption = None,
) -> None:
    """Settle every pending payment from the gateway's own records (after a crash or timeout)."""
    from datetime import timedelta

    from tools.payments.charging import reconcile
    from tools.payments.registry import build_gateway

    async def run() -> None:
        database = command_database(url)
        gateway = build_gateway(ServiceSettings().gateway)
        try:
            report = await reconcile(database, gateway, older_than=timedelta(seconds=older_than))
        finally:
            await database.dispose()
        settled = ", ".join(f"{count} {status}" for status, count in report.settled.items())
        console.print(f"checked {report.checked} pending payments; settled: {settled or 'none'}; "
                      f"still pending: {report.still_pending}")
        if report.still_pending:
            raise typer.Exit(code=1)

    asyncio.run(run())


sandbox_app = typer.Typer(help="The sandbox gateway's test controls.", no_args_is_help=True)
app.add_typer(sandbox_app, name="sandbox")


@sandbox_app.command("store-pay")
def sandbox_store_pay(
    ref: Annotated[str, typer.Argument(help="The slip's gateway reference (see the order).")],
) -> None:
    """Simulate the shopper paying a convenience-store slip: the sandbox sends a signed webhook."""
    import httpx

    from tools.payments.sandbox import SandboxSettings

    sandbox = SandboxSettings()
    response = httpx.post(f"{sandbox.public_url}/sandbox/konbini/{ref}/pay",
                          headers={"Authorization": f"Bearer {sandbox.api_key}"}, timeout=10)
    if response.status_code != 200:
        console.print(f"[red]sandbox refused ({response.status_code}):[/red] {response.text}")
        raise typer.Exit(code=1)
    console.print("[green]store payment sent; the webhook goes to the merchant[/green]")


if __name__ == "__main__":
    app()
