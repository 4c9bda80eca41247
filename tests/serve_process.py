"""`chatpay serve` as a subprocess on free loopback ports: what the browser and worker tests run.

The server gets its own SQLite file, the demo catalogue and the embedded offline model, and only
our settings: a developer's CHATPAY_* or OPENAI_* variables never leak into it.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

START_TIMEOUT_S = 60.0


@dataclass(frozen=True)
class Server:
    url: str  # the merchant origin: chat page and API
    gateway_url: str  # the sandbox gateway's origin: card frame, 3-D Secure page
    pid: int  # the `chatpay serve` process


def free_ports(count: int) -> list[int]:
    """Distinct free loopback ports (all held open together, so the OS cannot hand one out twice)."""
    with contextlib.ExitStack() as stack:
        sockets = [stack.enter_context(socket.socket()) for _ in range(count)]
        for sock in sockets:
            sock.bind(("127.0.0.1", 0))
        return [int(sock.getsockname()[1]) for sock in sockets]


def _wait_until_up(process: subprocess.Popen[bytes], urls: list[str], log: Path) -> None:
    """Poll until every URL answers 200; fail with the server's log if it dies or never does."""
    deadline = time.monotonic() + START_TIMEOUT_S
    pending = list(urls)
    with httpx.Client(timeout=2.0) as client:
        while pending:
            if process.poll() is not None:
                pytest.fail(
                    f"chatpay serve exited ({process.returncode}):\n{log.read_text()[-4000:]}"
                )
            if time.monotonic() > deadline:
                pytest.fail(
                    f"chatpay serve not ready after {START_TIMEOUT_S}s:\n{log.read_text()[-4000:]}"
                )
            try:
                if client.get(pending[0]).status_code == 200:
                    pending.pop(0)
                    continue
            except httpx.TransportError:
                pass
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=0.1)  # the poll interval; ends at once if the server dies


@contextlib.contextmanager
def chatpay_serve(workdir: Path, *, workers: int = 1, database_url: str | None = None,
                  extra_env: dict[str, str] | None = None) -> Iterator[Server]:
    """`chatpay serve` migrated, with the demo catalogue loaded; stopped (SIGTERM) at the end.

    The database is a SQLite file in `workdir` unless `database_url` names another (PostgreSQL);
    `extra_env` adds or overrides settings (rate limits for a load test, say).
    """
    merchant_port, gateway_port = free_ports(2)
    merchant, gateway = f"http://127.0.0.1:{merchant_port}", f"http://127.0.0.1:{gateway_port}"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CHATPAY_", "OPENAI_"))}
    env.update(
        {
            "CHATPAY_DATABASE_URL": database_url or f"sqlite+aiosqlite:///{workdir / 'web.db'}",
            "CHATPAY_PUBLIC_URL": merchant,
            "CHATPAY_SANDBOX_PUBLIC_URL": gateway,
            "CHATPAY_SANDBOX_ALLOWED_ORIGINS": merchant,
            "CHATPAY_SANDBOX_WEBHOOK_URL": f"{merchant}/api/webhooks/gateway",
            "CHATPAY_MODEL": "offline",
            "CHATPAY_LOG_LEVEL": "WARNING",
            **(extra_env or {}),
        }
    )
    chatpay = str(Path(sys.executable).with_name("chatpay"))
    for command in ([chatpay, "db", "upgrade"], [chatpay, "catalog", "load", "--demo"]):
        done = subprocess.run(command, env=env, cwd=workdir, capture_output=True, timeout=120)  # noqa: S603
        if done.returncode:
            pytest.fail(
                f"{' '.join(command[1:])} failed:\n{done.stdout.decode()}{done.stderr.decode()}"
            )
    log = workdir / "server.log"
    with log.open("wb") as out:
        process = subprocess.Popen(  # noqa: S603
            [chatpay, "serve", "--host", "127.0.0.1", "--port", str(merchant_port),
             "--workers", str(workers)],
            env=env,
            cwd=workdir,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        _wait_until_up(process, [f"{merchant}/readyz", f"{gateway}/assets/sandbox.css"], log)
        yield Server(url=merchant, gateway_url=gateway, pid=process.pid)
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
