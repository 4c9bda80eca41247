"""A real chatpay server (merchant app + sandbox gateway) and a real headless Chromium.

The server runs in a subprocess on two free loopback ports, with its own SQLite file, the demo
catalogue and the embedded offline model: exactly what `chatpay serve` gives a shopper
(`tests.serve_process`). Chromium is Debian's (`/usr/bin/chromium`, installed by
`.ci/browser-setup.sh`), driven by Playwright's Python package; Playwright's own browser downloads
are never used. Without that binary the tests skip with
the reason, and `.ci/run` fails on the skip.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.serve_process import Server, chatpay_serve

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "var" / "artifacts"
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


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """`chatpay serve --workers 2` on two free loopback ports: the pages exercise the several-worker
    set-up (state in the database, the sandbox gateway in a process of its own) on every run."""
    with chatpay_serve(tmp_path_factory.mktemp("web"), workers=2) as running:
        yield running


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
