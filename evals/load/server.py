"""A `chatpay serve` for a load run, started and stopped by the load command (`--serve`).

This module only houses `served` (migrate, load the demo catalogue, start `chatpay serve` on free
loopback ports, wait until it answers, stop it by its own pid), `throwaway_postgres` (a database
created for one run and dropped after it) and what a run measures of the server's process tree
(`process_tree_rss_mb`, `process_tree_cpu_s`). The tests start their servers through
`tests/serve_process.py`, which wraps `served` for pytest.

Load settings: every shopper comes from 127.0.0.1, so the per-client rate limit (600 requests a
minute per process by default) would turn a load test into a 429 test; `LOAD_SERVER_ENV` raises
it far out of reach (still counted, so its cost is measured). The per-conversation limit stays at
its default: one shopper makes about a dozen requests.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
from sqlalchemy import text
from sqlalchemy.engine import make_url

from tools.store.db import create_engine

LOAD_SERVER_ENV = {"CHATPAY_RATE_LIMIT_CLIENT": "1000000", "CHATPAY_LOG_LEVEL": "WARNING"}
START_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 15.0


class ServerFailed(RuntimeError):
    """The server could not be prepared or did not come up; the message ends with its log."""


@dataclass(frozen=True)
class ServedServer:
    url: str
    gateway_url: str
    pid: int
    database_url: str


def _free_ports(count: int) -> list[int]:
    with contextlib.ExitStack() as stack:  # all held open together: no port handed out twice
        sockets = [stack.enter_context(socket.socket()) for _ in range(count)]
        for sock in sockets:
            sock.bind(("127.0.0.1", 0))
        return [int(sock.getsockname()[1]) for sock in sockets]


@contextlib.contextmanager
def served(*, workers: int, database_url: str | None = None, workdir: Path | None = None,
           settings: dict[str, str] | None = None) -> Iterator[ServedServer]:
    """`chatpay serve --workers N`, migrated with the demo catalogue, on free loopback ports.

    `settings` are CHATPAY_* variables for the server; by default `LOAD_SERVER_ENV` (a load run).
    The tests start their servers (browser, workers, operator pages) here too, with their own.
    """
    with contextlib.ExitStack() as stack:
        if workdir is None:
            workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="chatpay-load-")))
        database_url = database_url or f"sqlite+aiosqlite:///{workdir / 'load.db'}"
        merchant_port, gateway_port = _free_ports(2)
        url, gateway_url = f"http://127.0.0.1:{merchant_port}", f"http://127.0.0.1:{gateway_port}"
        # Only our settings: a developer's CHATPAY_* or OPENAI_* never reach the measured server.
        env = {k: v for k, v in os.environ.items() if not k.startswith(("CHATPAY_", "OPENAI_"))}
        env.update({
            "CHATPAY_DATABASE_URL": database_url,
            "CHATPAY_PUBLIC_URL": url,
            "CHATPAY_SANDBOX_PUBLIC_URL": gateway_url,
            "CHATPAY_SANDBOX_ALLOWED_ORIGINS": url,
            "CHATPAY_SANDBOX_WEBHOOK_URL": f"{url}/api/webhooks/gateway",
            "CHATPAY_MODEL": "offline",
            "CHATPAY_LOG_LEVEL": "WARNING",
            **(LOAD_SERVER_ENV if settings is None else settings),
        })
        chatpay = str(Path(sys.executable).with_name("chatpay"))
        for command in ([chatpay, "db", "upgrade"], [chatpay, "catalog", "load", "--demo"]):
            done = subprocess.run(command, env=env, cwd=workdir, capture_output=True,  # noqa: S603
                                  timeout=120, check=False)
            if done.returncode:
                raise ServerFailed(f"{' '.join(command[1:])} failed:\n"
                                   f"{done.stdout.decode()}{done.stderr.decode()}")
        log = workdir / "server.log"
        with log.open("wb") as out:
            process = subprocess.Popen(  # noqa: S603
                [chatpay, "serve", "--host", "127.0.0.1", "--port", str(merchant_port),
                 "--workers", str(workers)], env=env, cwd=workdir, stdout=out,
                stderr=subprocess.STDOUT)
        try:
            _wait_until_up(process, [f"{url}/readyz", f"{gateway_url}/assets/sandbox.css"], log)
            yield ServedServer(url, gateway_url, process.pid, database_url)
        finally:
            process.terminate()
            try:
                process.wait(timeout=STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=STOP_TIMEOUT_S)


def _wait_until_up(process: subprocess.Popen[bytes], urls: list[str], log: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    pending = list(urls)
    with httpx.Client(timeout=2.0) as client:
        while pending:
            if process.poll() is not None:
                raise ServerFailed(f"chatpay serve exited ({process.returncode}):\n"
                                   f"{log.read_text()[-4000:]}")
            if time.monotonic() > deadline:
                raise ServerFailed(f"chatpay serve not ready after {START_TIMEOUT_S:.0f}s:\n"
                                   f"{log.read_text()[-4000:]}")
            try:
                if client.get(pending[0]).status_code == 200:
                    pending.pop(0)
                    continue
            except httpx.TransportError:
                pass
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=0.1)  # the poll interval; ends at once if the server dies


@contextlib.contextmanager
def throwaway_postgres(server_url: str) -> Iterator[str]:
    """A new, empty database on the PostgreSQL server of `server_url`, dropped at the end."""
    admin_url = make_url(server_url)
    name = f"chatpay_load_{uuid.uuid4().hex[:10]}"

    async def admin(sql: str) -> None:
        engine = create_engine(admin_url.render_as_string(hide_password=False),
                               isolation_level="AUTOCOMMIT")
        try:
            async with engine.connect() as conn:
                await conn.execute(text(sql))
        finally:
            await engine.dispose()

    asyncio.run(admin(f'CREATE DATABASE "{name}"'))
    try:
        yield admin_url.set(database=name).render_as_string(hide_password=False)
    finally:
        asyncio.run(admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def _process_tree(pid: int, proc: Path) -> list[int]:
    """`pid` and all its descendants (those alive now)."""
    children: dict[int, list[int]] = {}
    for stat in proc.glob("[0-9]*/stat"):
        try:
            # The name field may hold spaces and parentheses: the parent pid follows the last ")".
            parent = int(stat.read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue  # the process ended while we looked
        children.setdefault(parent, []).append(int(stat.parent.name))
    tree, todo = [], [pid]
    while todo:
        current = todo.pop()
        tree.append(current)
        todo += children.get(current, [])
    return tree


def process_tree_rss_mb(pid: int, proc: Path = Path("/proc")) -> float | None:
    """Resident memory of `pid` and all its descendants, in MB (None without /proc or the pid)."""
    total_kb, found = 0, False
    for member in _process_tree(pid, proc):
        try:
            status = (proc / str(member) / "status").read_text()
        except OSError:
            continue
        found = True
        for line in status.splitlines():
            if line.startswith("VmRSS:"):
                total_kb += int(line.split()[1])
    return round(total_kb / 1024, 1) if found else None


def process_tree_cpu_s(pid: int, proc: Path = Path("/proc")) -> float | None:
    """CPU time (user + system) used so far by `pid` and its live descendants, in seconds.

    On a machine shared with other work, wall-clock throughput says little about the server; its
    CPU seconds per request do not depend on who else runs.
    """
    ticks, found = 0, False
    for member in _process_tree(pid, proc):
        try:
            fields = (proc / str(member) / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        found = True
        ticks += int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15 of stat)
    return round(ticks / os.sysconf("SC_CLK_TCK"), 2) if found else None
