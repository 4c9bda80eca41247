"""A real chatpay server (merchant app + sandbox gateway) and a real headless Chromium.

The server runs in a subprocess on two free loopback ports, with its own SQLite file, the demo
catalogue and the embedded offline model: exactly what `chatpay serve` gives a shopper. Chromium is
Debian's (`/usr/bin/chromium`, installed by `.ci/browser-setup.sh`), driven by Playwright's Python
package; Playwright's own browser downloads are never used. Without that binary the tests skip with
the reason, and `.ci/run` fails on the skip.
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
from typing import Any

import httpx
import pytest

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "var" / "artifacts"
START_TIMEOUT_S = 60.0
EXPECT_TIMEOUT_MS = 15_000


def require_browser() -> None:
    """Skip (with the reason) when Debian's Chromium or the playwright package is missing."""
    if not CHROMIUM.exists():
        pytest.skip(
            f"{CHROMIUM} is missing: run .ci/browser-setup.sh (apt-get install chromium) "
            "to run the browser tests",
            allow_module_level=True,
        )
    pytest.importorskip(
        "playwright.sync_api",
        reason="the playwright package is not installed (pip install playwright)",
    )


@dataclass(frozen=True)
class Server:
    url: str  # the merchant origin: chat page and API
    gateway_url: str  # the sandbox gateway's origin: card frame, 3-D Secure page


def _free_ports(count: int) -> list[int]:
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


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """`chatpay serve` on two free loopback ports, migrated, with the demo catalogue loaded."""
    workdir = tmp_path_factory.mktemp("web")
    merchant_port, gateway_port = _free_ports(2)
    merchant, gateway = f"http://127.0.0.1:{merchant_port}", f"http://127.0.0.1:{gateway_port}"
    # Only our settings: a developer's CHATPAY_* or OPENAI_* variables must not leak into the server.
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CHATPAY_", "OPENAI_"))}
    env.update(
        {
            "CHATPAY_DATABASE_URL": f"sqlite+aiosqlite:///{workdir / 'web.db'}",
            "CHATPAY_PUBLIC_URL": merchant,
            "CHATPAY_SANDBOX_PUBLIC_URL": gateway,
            "CHATPAY_SANDBOX_ALLOWED_ORIGINS": merchant,
            "CHATPAY_SANDBOX_WEBHOOK_URL": f"{merchant}/api/webhooks/gateway",
            "CHATPAY_MODEL": "offline",
            "CHATPAY_LOG_LEVEL": "WARNING",
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
            [chatpay, "serve", "--host", "127.0.0.1", "--port", str(merchant_port)],
            env=env,
            cwd=workdir,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        _wait_until_up(process, [f"{merchant}/readyz", f"{gateway}/assets/sandbox.css"], log)
        yield Server(url=merchant, gateway_url=gateway)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Debian's headless Chromium (never a Playwright-downloaded browser)."""
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=EXPECT_TIMEOUT_MS)
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1100, "height": 900}


@pytest.fixture
def new_page(browser: Any, server: Server) -> Iterator[Any]:
    """A factory of pages, each in a fresh browser context (no storage shared between tests).

    At the end, the test fails if the page raised any uncaught JavaScript error.
    """
    contexts: list[Any] = []
    errors: list[str] = []

    def make(*, viewport: dict[str, int] | None = None) -> Any:
        context = browser.new_context(
            viewport=viewport or DESKTOP, locale="en-US", base_url=server.url
        )
        context.set_default_timeout(EXPECT_TIMEOUT_MS)
        contexts.append(context)
        page = context.new_page()
        page.on("pageerror", lambda error: errors.append(str(error)))
        return page

    yield make
    for context in contexts:
        context.close()
    assert not errors, f"the page raised JavaScript errors: {errors}"


@pytest.fixture(scope="session")
def artifacts() -> Path:
    """Where screenshots of finished purchases go (kept by CI as test artifacts)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS
