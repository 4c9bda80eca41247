"""The operator dashboard in a real Chromium, over a real `chatpay serve` with a known mix of chats.

Before the page loads, four conversations are made over the HTTP API, as shoppers' clients make
them (the offline model, the sandbox gateway in its own process):
- one complete card purchase (`evals.load.shopper`: chat, address, card token from the gateway,
  confirm) — it reaches every stage;
- one that only opened the chat (started);
- one, in Japanese, that searched and saw products (browsed);
- one that put a product in the cart and left (cart).
So the funnel must read 4, 3, 2, 1, 1, 1, 1, 1 from started to purchased, and the page must show
exactly that after an operator logs in through its form. Every step waits for something on screen.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from evals.load.plans import plan_shoppers
from evals.load.shopper import run_shopper, widgets
from evals.load.traffic import Traffic
from tests.serve_process import Server, chatpay_serve
from tests.web.conftest import DESKTOP, EXPECT_TIMEOUT_MS, require_browser

require_browser()
from playwright.sync_api import Page, expect  # noqa: E402 - only once it is known present

KEY = "operator-key-for-the-browser-test-0123"
STAGES = [
    "started",
    "browsed",
    "cart",
    "address",
    "payment_method",
    "payment_details",
    "confirmation",
    "purchased",
]
EXPECTED_COUNTS = [4, 3, 2, 1, 1, 1, 1, 1]


@dataclass(frozen=True)
class Mix:
    """What the conversations made before the page loads are known to be."""

    purchase_id: str  # the conversation that bought
    order_id: str
    cart_id: str  # the one that stopped with a cart


@pytest.fixture(scope="module")
def operator_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """`chatpay serve` with an operator key (the shared `server` fixture has none)."""
    with chatpay_serve(
        tmp_path_factory.mktemp("operator"), workers=1, extra_env={"CHATPAY_OPERATOR_KEY": KEY}
    ) as running:
        if httpx.get(f"{running.url}/operator").status_code == 404:
            pytest.fail(
                "GET /operator answers 404 with CHATPAY_OPERATOR_KEY set: api/app.py does "
                "not mount api.operator.pages / funnel / review yet"
            )
        yield running


async def _say(
    traffic: Traffic, base: str, conversation: tuple[str, str], text: str, shows: str
) -> None:
    cid, token = conversation
    response = await traffic.post(
        "message", cid, f"{base}/api/conversations/{cid}/messages", {"text": text}, token
    )
    assert response is not None and response.status_code == 200, response
    shown = [e["widget"]["kind"] for e in response.json()["events"] if e["type"] == "widget"]
    assert widgets(response.json()["events"], shows), (text, shown)


async def _make_conversations(base: str) -> Mix:
    async with httpx.AsyncClient(timeout=60.0) as client:
        traffic = Traffic(client)
        buyer = await run_shopper(traffic, plan_shoppers(1)[0], base)  # card, 2 × TEA-SENCHA
        assert buyer.completed and buyer.status == "paid", buyer.failure
        assert buyer.conversation_id and buyer.order_id

        await traffic.start(base, "en")  # opened the chat, said nothing
        browser_id, browser_token, _ = await traffic.start(base, "ja")
        await _say(traffic, base, (browser_id, browser_token), "消しゴムありますか", "product_list")
        cart_id, cart_token, _ = await traffic.start(base, "en")
        await _say(traffic, base, (cart_id, cart_token), "do you have green tea?", "product_list")
        await _say(traffic, base, (cart_id, cart_token), "two sencha please", "cart")
    return Mix(purchase_id=buyer.conversation_id, order_id=buyer.order_id, cart_id=cart_id)


@pytest.fixture(scope="module")
def mix(operator_server: Server) -> Mix:
    # In a thread of its own: Playwright's sync API keeps an event loop running in this one.
    with ThreadPoolExecutor(max_workers=1) as thread:
        return thread.submit(asyncio.run, _make_conversations(operator_server.url)).result()


@pytest.fixture
def page(browser: Any, operator_server: Server) -> Iterator[Page]:
    """A fresh browser context on the operator server; fails the test on any JavaScript error."""
    context = browser.new_context(viewport=DESKTOP, locale="en-US", base_url=operator_server.url)
    context.set_default_timeout(EXPECT_TIMEOUT_MS)
    errors: list[str] = []
    new_page = context.new_page()
    new_page.on("pageerror", lambda error: errors.append(str(error)))
    yield new_page
    context.close()
    assert not errors, f"the page raised JavaScript errors: {errors}"


def idle(page: Page) -> None:
    """Every request of the dashboard has been answered and rendered."""
    expect(page.locator("#dashboard")).to_have_attribute("aria-busy", "false")


def log_in(page: Page) -> None:
    page.goto("/operator")
    page.locator("#key").fill(KEY)
    page.locator("#login-submit").click()
    idle(page)


def test_an_operator_logs_in_and_sees_the_funnel_of_the_known_mix(
    page: Page, mix: Mix, artifacts: Path
) -> None:
    page.goto("/operator")
    expect(page.locator("#login")).to_be_visible()
    page.locator("#key").fill(KEY[:-1])
    page.locator("#login-submit").click()
    expect(page.locator("#login-error")).to_have_text("That key is not right.")
    assert not page.context.cookies()

    page.locator("#key").fill(KEY)
    page.locator("#login-submit").click()
    idle(page)
    cookie = next(c for c in page.context.cookies() if c["name"] == "chatpay_operator")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict" and cookie["value"] != KEY

    bars = page.locator("#funnel-chart svg .funnel-bar")
    expect(bars).to_have_count(len(STAGES))
    assert [bars.nth(i).get_attribute("data-stage") for i in range(len(STAGES))] == STAGES
    assert [
        int(bars.nth(i).get_attribute("data-count") or -1) for i in range(len(STAGES))
    ] == EXPECTED_COUNTS
    expect(bars.locator(".funnel-count")).to_have_text([str(n) for n in EXPECTED_COUNTS])
    expect(bars.locator(".funnel-share")).to_have_text(
        ["100.0%", "75.0%", "50.0%", "25.0%", "25.0%", "25.0%", "25.0%", "25.0%"]
    )
    # Bars are drawn to scale: the purchased bar is a quarter of the started one.
    started, purchased = (
        float(bars.nth(i).locator(".funnel-fill").get_attribute("width") or 0)
        for i in (0, len(STAGES) - 1)
    )
    assert purchased == pytest.approx(started / 4, abs=0.2)

    expect(page.locator("#kpi-started .kpi-value")).to_have_text("4")
    expect(page.locator("#kpi-purchased .kpi-value")).to_have_text("1")
    expect(page.locator("#kpi-conversion .kpi-value")).to_have_text("25.0%")
    stopped = page.locator("#dropoff-table tbody tr td:nth-child(5)")
    expect(stopped).to_have_text(["1", "1", "1", "0", "0", "0", "0", "—"])
    expect(page.locator('#dropoff-table tr[data-stage="browsed"] td').nth(2)).to_have_text("25.0%")

    page.locator('.tab[data-breakdown="locale"]').click()
    expect(page.locator('#breakdown-table tr[data-key="en"] td').nth(0)).to_have_text("3")
    expect(page.locator('#breakdown-table tr[data-key="en"] td').nth(1)).to_have_text("1")
    expect(page.locator('#breakdown-table tr[data-key="ja"] td').nth(0)).to_have_text("1")
    variants = page.locator("#ab-table tbody tr")
    expect(variants).to_have_count(1)  # one prompt: it is its own control
    expect(variants.locator("td").nth(0)).to_have_text("4")

    rows = page.locator("#conversation-table tbody tr")
    expect(rows).to_have_count(4)
    expect(page.locator("#page-label")).to_have_text("1–4 of 4")
    artifacts.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(artifacts / "operator-dashboard.png"), full_page=True)

    page.locator(".lang-btn[data-lang=ja]").click()
    expect(
        page.locator('#funnel-chart .funnel-bar[data-stage="purchased"] .funnel-label')
    ).to_have_text("購入")
    expect(page.locator("#conversations-title")).to_have_text("最近の会話")


def test_an_operator_opens_a_purchase_and_reads_its_redacted_transcript(
    page: Page, mix: Mix
) -> None:
    log_in(page)
    row = page.locator(f'#conversation-table tr[data-id="{mix.purchase_id}"]')
    expect(row.locator(".stage-pill")).to_have_text("Purchased")
    expect(row.locator(".order-cell")).to_contain_text(mix.order_id)
    row.locator(".open-conversation").click()
    idle(page)

    detail = page.locator("#detail")
    expect(detail).to_be_visible()
    expect(detail).to_have_attribute("data-id", mix.purchase_id)
    transcript = page.locator("#transcript")
    expect(transcript.locator(".from-user .text").first).to_have_text("do you have green tea?")
    expect(transcript.locator('.widget-line[data-kind="receipt"]')).to_contain_text(mix.order_id)
    # The card went to the gateway only: the transcript names its last four digits at most.
    card = plan_shoppers(1)[0].card_number
    expect(transcript).to_contain_text(f"ending {card[-4:]}")
    expect(transcript).not_to_contain_text(card[:8])
    order = page.locator(f'#orders .order[data-order-id="{mix.order_id}"]')
    expect(order.locator(".order-head")).to_contain_text("Paid")
    expect(order.locator("tbody tr td").nth(0)).to_have_text("TEA-SENCHA")
    expect(order.locator("tbody tr td").nth(2)).to_have_text("2")


def test_the_stage_and_order_filters_find_the_right_conversations(page: Page, mix: Mix) -> None:
    log_in(page)
    page.locator("#f-stage").select_option("cart")
    page.get_by_role("button", name="Search").click()
    idle(page)
    rows = page.locator("#conversation-table tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_have_attribute("data-id", mix.cart_id)

    page.locator("#f-stage").select_option("")
    page.locator("#f-order").fill(mix.order_id)
    page.get_by_role("button", name="Search").click()
    idle(page)
    expect(rows).to_have_count(1)
    expect(rows.first).to_have_attribute("data-id", mix.purchase_id)

    page.locator("#logout").click()
    expect(page.locator("#login")).to_be_visible()
    assert not [c for c in page.context.cookies() if c["name"] == "chatpay_operator"]
