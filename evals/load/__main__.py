"""`python -m evals.load`: the load generator's command line (argparse; no typer needed).

Exit status: 0 when every check passed and no request failed, 1 otherwise, 2 for bad usage or a
server that would not start.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
from pathlib import Path

from evals.load.plans import RECIPES
from evals.load.report import format_report
from evals.load.run import DEFAULT_GATEWAY_API_KEY, DEFAULT_TIMEOUT_S, run_load
from evals.load.server import LOAD_SERVER_ENV, ServerFailed, served, throwaway_postgres

DESCRIPTION = """\
Simulated shoppers buying at once through the chat API: each opens a conversation, chats in free
text (English or Japanese) until a product is in the cart, submits the address form, chooses card
(most), payment after delivery or convenience-store payment, gets a card token from the sandbox
gateway, and pays. Every 4th shopper double-clicks Pay and clicks once more after; every 3rd
re-sends one message or action under the same Idempotency-Key (after the answer, or while the first
attempt still runs). Afterwards it checks: no 5xx; each accepted message stored once; paid orders
== approved charges at the gateway, for the same sums; no order charged twice; no payment pending.

Two ways to run it:
  --serve [--workers 2] [--database-url URL]
      start a fresh `chatpay serve` (migrated, demo catalogue, offline model, sandbox gateway) on
      free loopback ports, run, stop it. Without --database-url the database is a new SQLite
      file; with a PostgreSQL URL a throw-away database is created on that server (the URL's own
      database is only used to create and drop it). The server gets CHATPAY_RATE_LIMIT_CLIENT=
      1000000: every shopper comes from 127.0.0.1, so the default 600/min would only test 429s.
  --url URL --gateway-url URL [--database-url URL] [--server-pid PID]
      a server you started (raise its CHATPAY_RATE_LIMIT_CLIENT yourself; its catalogue must be
      the demo one). The database and money checks need --database-url; --server-pid adds its
      memory and CPU time to the report.

The demo catalogue's stock suffices for about 260 shoppers per fresh database.
Example: python -m evals.load --serve --workers 2 --shoppers 200 --json var/load/report.json
"""


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m evals.load", description=DESCRIPTION,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    target = parser.add_mutually_exclusive_group(required=True)
    target.add_argument("--serve", action="store_true", help="start a fresh chatpay serve")
    target.add_argument("--url", help="merchant origin of a running server")
    parser.add_argument("--gateway-url", help="sandbox gateway origin (with --url)")
    parser.add_argument("--database-url", help="the server's database (with --url), or a "
                        "PostgreSQL server for a throw-away database (with --serve)")
    parser.add_argument("--server-pid", type=int, help="pid of `chatpay serve` (with --url)")
    parser.add_argument("--workers", type=int, default=2, help="with --serve (default 2)")
    parser.add_argument("--workdir", type=Path, help="with --serve: keep the server's log "
                        "(server.log) and SQLite file here instead of a temporary directory")
    parser.add_argument("--shoppers", type=int, default=200, help="default 200")
    parser.add_argument("--concurrency", type=int, default=20,
                        help="shoppers in flight at once (default 20)")
    parser.add_argument("--gateway-api-key", default=DEFAULT_GATEWAY_API_KEY,
                        help="the sandbox's merchant key, for its charge ledger")
    parser.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT_S,
                        help="per request, seconds")
    parser.add_argument("--json", type=Path, help="also write the report here as JSON")
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if args.url and not args.gateway_url:
        parser.error("--url needs --gateway-url")
    if args.shoppers < 1 or args.concurrency < 1:
        parser.error("--shoppers and --concurrency must be at least 1")
    print(f"{args.shoppers} shoppers, {args.concurrency} at a time, "
          f"{len(RECIPES)} chat recipes", file=sys.stderr)
    try:
        with contextlib.ExitStack() as stack:
            if args.serve:
                database_url = args.database_url
                if database_url and database_url.startswith("postgresql"):
                    database_url = stack.enter_context(throwaway_postgres(database_url))
                if args.workdir:
                    args.workdir.mkdir(parents=True, exist_ok=True)
                server = stack.enter_context(served(workers=args.workers,
                                                    database_url=database_url,
                                                    workdir=args.workdir))
                url, gateway_url, pid = server.url, server.gateway_url, server.pid
                database_url = server.database_url
                settings = {"server": f"chatpay serve --workers {args.workers}",
                            "database": database_url.split(":", 1)[0], **LOAD_SERVER_ENV}
            else:
                url, gateway_url, pid = args.url, args.gateway_url, args.server_pid
                database_url = args.database_url
                settings = {"server": url}
            report = run_load(url, gateway_url, args.shoppers, args.concurrency,
                              database_url=database_url, server_pid=pid,
                              gateway_api_key=args.gateway_api_key, timeout_s=args.timeout,
                              settings=settings)
    except ServerFailed as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(format_report(report))
    if not report.passed and args.serve and not args.workdir:
        print("(run again with --workdir DIR to keep the server's log)", file=sys.stderr)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(report.to_json(), indent=2, ensure_ascii=False) + "\n")
    return 0 if report.passed else 1


if __name__ == "__main__":
    sys.exit(main())
