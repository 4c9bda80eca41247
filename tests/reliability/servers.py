"""Real server processes for the fault tests: start one, wait until it answers, kill it.

This module only houses `ServerProcess`, `serve_in_process` and their helpers. Process servers are
child processes of the test (`python -m ...` from the repository root) with their own environment;
a test ends them by their own process handle, never by name. `serve_in_process` runs an ASGI app
under uvicorn on the test's own event loop, for real sockets (and real timeouts) without the cost
of a process start. Startup is waited for by polling, so no test sleeps for a guessed time.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import uvicorn

ROOT = Path(__file__).resolve().parents[2]
STARTUP_DEADLINE_S = 20.0


def free_port() -> int:
    """A loopback port nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


async def wait_until(what: str, check: Callable[[], Awaitable[bool]], *,
                     deadline_s: float = 10.0) -> None:
    """Poll `check()` until it is true; fail after the deadline."""
    give_up = time.monotonic() + deadline_s
    while not await check():
        if time.monotonic() > give_up:
            raise AssertionError(f"gave up waiting for {what} after {deadline_s:g} s")
        await asyncio.sleep(0.02)


@dataclass
class ServerProcess:
    """One server child process listening on `url`; its output goes to `log_path`."""

    name: str
    process: asyncio.subprocess.Process
    url: str
    log_path: Path

    @classmethod
    async def start(cls, name: str, module: str, *args: str, url: str, env: dict[str, str],
                    log_dir: Path, ready_path: str = "/healthz") -> ServerProcess:
        log_path = log_dir / f"{name}.log"
        with log_path.open("ab") as log:
            process = await asyncio.create_subprocess_exec(
                sys.executable, "-m", module, *args, cwd=ROOT, env={**os.environ, **env},
                stdout=log, stderr=asyncio.subprocess.STDOUT)
        server = cls(name, process, url, log_path)
        await server._wait_ready(ready_path)
        return server

    async def _wait_ready(self, ready_path: str) -> None:
        async with httpx.AsyncClient(timeout=1.0) as http:
            async def answers() -> bool:
                if self.process.returncode is not None:
                    raise AssertionError(f"{self.name} exited ({self.process.returncode}):\n"
                                         f"{self.log()}")
                try:
                    return (await http.get(self.url + ready_path)).status_code == 200
                except httpx.TransportError:
                    return False

            await wait_until(f"{self.name} to answer", answers, deadline_s=STARTUP_DEADLINE_S)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-4000:]

    async def kill(self) -> None:
        """SIGKILL: no shutdown handler, no flushing, no goodbye - a crash."""
        if self.process.returncode is None:
            self.process.send_signal(signal.SIGKILL)
        await self.process.wait()

    async def stop(self) -> None:
        if self.process.returncode is None:
            self.process.terminate()
            try:
                await asyncio.wait_for(self.process.wait(), timeout=5)
            except TimeoutError:
                await self.kill()


@asynccontextmanager
async def serve_in_process(app: Any) -> AsyncIterator[str]:
    """Serve `app` on a free loopback port in this event loop; yields its base URL."""
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning",
                                           lifespan="off"))
    task = asyncio.create_task(server.serve())

    async def started() -> bool:
        if task.done():
            task.result()  # raises what stopped the server
        return server.started

    try:
        await wait_until("the in-process server to start", started)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task
