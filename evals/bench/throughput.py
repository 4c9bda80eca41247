"""Throughput (benchmark 2): a HOOK onto the load generator, `evals.load.run_load`.

This module only houses the call. The load generator (simulated shoppers over HTTP against
`chatpay serve --workers 2`) is its own package; the bench runs it when it is importable and a
PostgreSQL server is named, and otherwise records null figures with the reason, so `make bench`
never fails for want of it.
"""

from __future__ import annotations

from typing import Any

#: The figures the bench's JSON promises, null when the load run did not happen.
KEYS = ("turns_per_s", "purchases_per_s", "p99_ms", "errors", "server_rss_mb")


def skipped(reason: str) -> dict[str, Any]:
    return {**dict.fromkeys(KEYS), "skipped": reason}


def measure(database_url: str | None, *, shoppers: int, concurrency: int) -> dict[str, Any]:
    """Purchases through `chatpay serve --workers 2` on a throw-away PostgreSQL database."""
    if not database_url or not database_url.startswith("postgresql"):
        return skipped("no PostgreSQL server: give --database-url or set "
                       "CHATPAY_TEST_DATABASE_URL")
    # --- HOOK: the load generator's entry points (evals.load) ----------------------------------
    try:
        from evals.load import run_load
        from evals.load.server import served, throwaway_postgres
    except ImportError as exc:
        return skipped(f"load generator not available: {exc}")
    try:
        with throwaway_postgres(database_url) as url, served(workers=2, database_url=url) as server:
            report = run_load(server.url, server.gateway_url, shoppers, concurrency,
                              database_url=url, server_pid=server.pid,
                              settings={"server": "chatpay serve --workers 2 (PostgreSQL)"})
    except Exception as exc:  # noqa: BLE001 - a failed load run is a figure missing, not a crash
        return skipped(f"load run failed: {type(exc).__name__}: {exc}")
    figures = report.to_json()
    # -------------------------------------------------------------------------------------------
    latencies = figures.get("latency_ms", {})
    message = latencies.get("message") or {}
    return {
        "turns_per_s": figures.get("turns_per_s"),
        "purchases_per_s": figures.get("purchases_per_s"),
        "p99_ms": message.get("p99_ms"),  # a shopper's message: the turn the model answers
        "errors": figures.get("errors"),
        "server_rss_mb": figures.get("server_rss_mb"),
        "shoppers": shoppers, "concurrency": concurrency,
        "purchases_completed": figures.get("purchases_completed"),
        "latency_ms": latencies, "checks_passed": figures.get("passed"),
    }
