"""A load run: many shoppers at once against a running server, then the checks and the figures.

This module only houses `run_load` (and its coroutine `run_load_async`) and its three steps:
`drive` (plan the shoppers, run at most `concurrency` of them at a time over one HTTP client,
measure the server's memory at the end), `check` and `report_of`.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from datetime import UTC, datetime

import httpx

from evals.load.checks import Check, client_checks, database_checks, fetch_ledger
from evals.load.plans import plan_shoppers
from evals.load.report import LoadReport, build_report
from evals.load.server import process_tree_cpu_s, process_tree_rss_mb
from evals.load.shopper import ShopperOutcome, run_shopper
from evals.load.traffic import RequestRecord, Traffic

DEFAULT_GATEWAY_API_KEY = "sk_sandbox_local"  # the sandbox's default merchant key (README)
DEFAULT_TIMEOUT_S = 60.0


@dataclass
class FinishedRun:
    """What the shoppers did and saw, before any check."""

    outcomes: list[ShopperOutcome]
    records: list[RequestRecord]
    started_at: datetime
    duration_s: float
    server_rss_mb: float | None
    server_cpu_s: float | None  # the serve process tree's CPU time during the run
    client_cpu_s: float  # this process's: the shoppers compete with the server for the cores


async def drive(base_url: str, gateway_url: str, shoppers: int, concurrency: int, *,
                server_pid: int | None = None, timeout_s: float = DEFAULT_TIMEOUT_S
                ) -> FinishedRun:
    """Run `shoppers` purchases, `concurrency` at a time, recording every request."""
    base_url = base_url.rstrip("/")
    plans = plan_shoppers(shoppers)
    # Two connections per shopper at most (a double click, a re-sent request).
    limits = httpx.Limits(max_connections=2 * concurrency, max_keepalive_connections=2 * concurrency)
    gate = asyncio.Semaphore(concurrency)
    async with httpx.AsyncClient(timeout=timeout_s, limits=limits) as client:
        traffic = Traffic(client)

        async def shopper(index: int) -> ShopperOutcome:
            async with gate:
                return await run_shopper(traffic, plans[index], base_url)

        cpu_before = process_tree_cpu_s(server_pid) if server_pid else None
        started_at, started, client_cpu = datetime.now(UTC), time.perf_counter(), time.process_time()
        outcomes = await asyncio.gather(*(shopper(i) for i in range(len(plans))))
        duration_s = time.perf_counter() - started
        client_cpu = time.process_time() - client_cpu
    rss = process_tree_rss_mb(server_pid) if server_pid else None
    cpu_after = process_tree_cpu_s(server_pid) if server_pid else None
    server_cpu = (round(cpu_after - cpu_before, 2)
                  if cpu_after is not None and cpu_before is not None else None)
    return FinishedRun(list(outcomes), traffic.records, started_at, duration_s, rss, server_cpu,
                       round(client_cpu, 2))


async def check(run: FinishedRun, gateway_url: str, *, database_url: str | None = None,
                gateway_api_key: str = DEFAULT_GATEWAY_API_KEY) -> list[Check]:
    """Every check of a finished run (without `database_url`, the client-side ones only)."""
    checks = client_checks(run.outcomes, run.records)
    if database_url:
        async with httpx.AsyncClient(timeout=DEFAULT_TIMEOUT_S) as client:
            ledger = await fetch_ledger(client, gateway_url.rstrip("/"), gateway_api_key)
        checks += await database_checks(run.outcomes, run.records, database_url, ledger,
                                        run.started_at)
    return checks


def report_of(run: FinishedRun, *, shoppers: int, concurrency: int, checks: list[Check],
              settings: dict[str, str] | None = None) -> LoadReport:
    return build_report(shoppers=shoppers, concurrency=concurrency, duration_s=run.duration_s,
                        outcomes=run.outcomes, records=run.records,
                        server_rss_mb=run.server_rss_mb, server_cpu_s=run.server_cpu_s,
                        client_cpu_s=run.client_cpu_s, checks=checks,
                        settings=dict(settings or {}))


async def run_load_async(base_url: str, gateway_url: str, shoppers: int, concurrency: int, *,
                         database_url: str | None = None, server_pid: int | None = None,
                         gateway_api_key: str = DEFAULT_GATEWAY_API_KEY,
                         timeout_s: float = DEFAULT_TIMEOUT_S,
                         settings: dict[str, str] | None = None) -> LoadReport:
    """Run `shoppers` purchases, `concurrency` at a time; check them and report the figures.

    Without `database_url` only the client-side checks run (the money and storage checks read the
    merchant's database). `server_pid` is the `chatpay serve` process whose tree's memory is
    reported. `settings` are recorded in the report as given (how the server was set up).
    """
    run = await drive(base_url, gateway_url, shoppers, concurrency, server_pid=server_pid,
                      timeout_s=timeout_s)
    checks = await check(run, gateway_url, database_url=database_url,
                         gateway_api_key=gateway_api_key)
    return report_of(run, shoppers=shoppers, concurrency=concurrency, checks=checks,
                     settings=settings)


def run_load(base_url: str, gateway_url: str, shoppers: int, concurrency: int, *,
             database_url: str | None = None, server_pid: int | None = None,
             gateway_api_key: str = DEFAULT_GATEWAY_API_KEY, timeout_s: float = DEFAULT_TIMEOUT_S,
             settings: dict[str, str] | None = None) -> LoadReport:
    """`run_load_async` from synchronous code (a command line, a synchronous test)."""
    return asyncio.run(run_load_async(
        base_url, gateway_url, shoppers, concurrency, database_url=database_url,
        server_pid=server_pid, gateway_api_key=gateway_api_key, timeout_s=timeout_s,
        settings=settings))
