"""`GET /api/operator/funnel` and `GET /api/operator/conversations` over the real HTTP API.

The exact figures of a known mix are checked in tests/tools/test_funnel.py; here the same mix goes
through the route (query parameters, auth, JSON), and conversations made through the real shopper
API (widgets, guided mode, sandbox payments) land in the stages the funnel claims they reach.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime
from typing import Any

import httpx
import pytest
import typer
from typer.testing import CliRunner

from agent.testing import FailingModel
from api.cli_funnel import funnel as funnel_command
from api.operator.auth import COOKIE, session_value
from tests.api.conftest import ADDRESS, OPERATOR, OPERATOR_KEY, Chat, shop_app, widget
from tests.conftest import _database
from tests.factories import make_small_catalog
from tests.funnel_mix import build_mix
from tests.shop_harness import Shop
from tools.funnel import Period, funnel_report
from tools.funnel import search as search_module
from tools.store.db import Database

KEY = OPERATOR_KEY


@pytest.fixture
async def client(shop: Shop) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=shop_app(shop, None, operator_key=KEY)),
                                 base_url="http://testserver") as http:
        yield http


@pytest.fixture
async def mix(shop: Shop) -> dict[str, str]:
    async with shop.db.session() as session:
        ids = await build_mix(session)
        await session.commit()
    return ids


@pytest.mark.parametrize("path", ["/api/operator/funnel", "/api/operator/conversations"])
async def test_the_operator_key_is_required(shop: Shop, path: str) -> None:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=shop_app(shop, None, operator_key=KEY)),
                                 base_url="http://testserver") as http:
        assert (await http.get(path)).status_code == 401
        wrong = await http.get(path, headers={"Authorization": "Bearer " + "x" * 32})
        assert wrong.status_code == 401 and wrong.headers["www-authenticate"] == "Bearer"
        assert (await http.get(path, headers=OPERATOR)).status_code == 200
        http.cookies.set(COOKIE, session_value(KEY))
        assert (await http.get(path)).status_code == 200
    unset = shop_app(shop, None)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=unset),
                                 base_url="http://testserver") as http:
        assert (await http.get(path, headers=OPERATOR)).status_code == 404


async def test_the_route_answers_the_report_for_the_period(shop: Shop, client: httpx.AsyncClient,
                                                           mix: dict[str, str]) -> None:
    response = await client.get("/api/operator/funnel",
                                params={"since": "2026-11-20", "until": "2026-11-21"},
                                headers=OPERATOR)
    assert response.status_code == 200
    body = response.json()
    async with shop.db.session() as session:
        expected = await funnel_report(session, Period(date(2026, 11, 20), date(2026, 11, 21)))
    assert body == expected
    assert [row["count"] for row in body["stages"]] == [12, 11, 10, 9, 8, 7, 6, 4]
    assert body["variants"][0]["variant"] == "b" and body["variants"][0]["control"] == "default"

    one_day = (await client.get("/api/operator/funnel", headers=OPERATOR,
                                params={"days": 1, "until": "2026-11-20"})).json()
    assert one_day["period"] == {"since": "2026-11-20", "until": "2026-11-20"}
    assert [row["count"] for row in one_day["stages"]] == [5, 4, 3, 2, 2, 2, 2, 2]
    default = (await client.get("/api/operator/funnel", headers=OPERATOR)).json()
    today = datetime.now(UTC).date()
    assert default["period"]["until"] == today.isoformat()
    assert (today - date.fromisoformat(default["period"]["since"])).days == 29

    for bad in ({"since": "2026-11-22", "until": "2026-11-21"}, {"days": 0},
                {"since": "yesterday"}):
        refused = await client.get("/api/operator/funnel", params=bad, headers=OPERATOR)
        assert refused.status_code == 422, bad


async def test_conversations_made_through_the_shopper_api(shop: Shop) -> None:
    async with shop.db.session() as session:
        await make_small_catalog(session)
        await session.commit()
    # Every model turn falls back to guided mode.
    app = shop_app(shop, FailingModel(), operator_key=KEY)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                 base_url="http://testserver") as http:

        async def chat(locale: str = "en") -> Chat:
            started = Chat(client=http, shop=shop)
            await started.start(locale)
            return started

        await chat()  # only started
        browsed = await chat("ja")
        assert widget(await browsed.say("green tea"), "product_list")["products"]

        paid = await chat()
        await paid.do(type="add_to_cart", sku="TEA-SENCHA", quantity=2)
        await paid.do(type="submit_address", fields=ADDRESS)
        await paid.do(type="choose_payment_method", method="card")
        confirm = widget(await paid.pay_with_card("4242424242424242"), "confirm")
        done = await paid.confirm(confirm)
        assert widget(done, "receipt")["status"] == "paid"

        konbini = await chat()
        await konbini.do(type="add_to_cart", sku="PEN-BALL", quantity=1)
        await konbini.do(type="submit_address", fields=ADDRESS)
        confirm = widget(await konbini.do(type="choose_payment_method", method="konbini"),
                         "confirm")
        slip = await konbini.confirm(confirm)
        assert widget(slip, "konbini_slip")

        declined = await chat()
        await declined.do(type="add_to_cart", sku="MUG-HASAMI", quantity=1)
        await declined.do(type="submit_address", fields=ADDRESS)
        await declined.do(type="choose_payment_method", method="card")
        confirm = widget(await declined.pay_with_card("4000000000000002"), "confirm")
        await declined.confirm(confirm)

        carted = await chat()
        await carted.do(type="add_to_cart", sku="PEN-BALL", quantity=3)

        report = (await http.get("/api/operator/funnel", params={"days": 2},
                                 headers=OPERATOR)).json()
        assert [row["count"] for row in report["stages"]] == [6, 5, 4, 3, 3, 3, 3, 2]
        assert report["stopped_at"] == {"started": 1, "browsed": 1, "cart": 1, "address": 0,
                                        "payment_method": 0, "payment_details": 0,
                                        "confirmation": 1}
        assert report["awaiting_store_payment"] == 1
        assert {k: (g["conversations"], g["purchases"])
                for k, g in report["by"]["payment_method"].items()} == {
            "none": (3, 0), "card": (2, 1), "konbini": (1, 1)}
        assert report["by"]["locale"]["ja"]["conversations"] == 1
        assert report["purchase"]["median_user_turns"] == 0  # widgets only, no typed message
        assert report["purchase"]["model_calls_per_purchase"] == 0

        listed = (await http.get("/api/operator/conversations", params={"stage": "purchased"},
                                 headers=OPERATOR)).json()
        assert listed["total"] == 2
        assert {c["id"] for c in listed["conversations"]} == {paid.id, konbini.id}
        assert {c["order"]["status"] for c in listed["conversations"]} == {
            "paid", "awaiting_store_payment"}
        browsing = (await http.get("/api/operator/conversations", params={"stage": "browsed"},
                                   headers=OPERATOR)).json()["conversations"]
        assert [(c["id"], c["locale"], c["user_turns"], c["order"]) for c in browsing] == [
            (browsed.id, "ja", 1, None)]


async def test_conversation_search(client: httpx.AsyncClient, mix: dict[str, str],
                                   monkeypatch: pytest.MonkeyPatch) -> None:
    async def search(**params: Any) -> dict[str, Any]:
        response = await client.get("/api/operator/conversations", params=params,
                                    headers=OPERATOR)
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    everything = await search(limit=200)
    assert everything["total"] == 14
    created = [c["created_at"] for c in everything["conversations"]]
    assert created == sorted(created, reverse=True)  # newest first
    assert everything["conversations"][0]["id"] == mix["after"]

    first, second = await search(limit=5), await search(limit=5, offset=5)
    assert [c["id"] for c in first["conversations"] + second["conversations"]] == [
        c["id"] for c in everything["conversations"][:10]]
    assert first["total"] == second["total"] == 14

    paid = await search(stage="purchased")
    assert paid["total"] == 6  # the four in the period and the two just outside it
    page = await search(stage="purchased", limit=2, offset=1)
    assert page["total"] == 6
    assert [c["id"] for c in page["conversations"]] == [
        c["id"] for c in paid["conversations"][1:3]]

    card_2 = mix["paid_card_2"]
    failed = await search(status="failed")
    assert failed["total"] == 2
    by_id = {c["id"]: c for c in failed["conversations"]}
    assert set(by_id) == {mix["failed"], card_2}
    # The order shown is the one that matched, not the newer paid order.
    assert by_id[card_2]["order"]["status"] == "failed"
    assert by_id[card_2]["stage"] == "purchased" and by_id[card_2]["user_turns"] == 5
    assert by_id[card_2]["prompt_variant"] == "b" and by_id[card_2]["locale"] == "ja"

    newest = (await search(stage="purchased", limit=200))["conversations"]
    order = next(c["order"] for c in newest if c["id"] == card_2)
    assert order["status"] == "paid" and order["total"] == 3000 and order["currency"] == "JPY"
    assert order["payment_method"] == "card"
    found = await search(order_id=order["id"])
    assert found["total"] == 1 and found["conversations"][0]["id"] == card_2
    assert found["conversations"][0]["order"]["id"] == order["id"]
    assert (await search(order_id="no-such-order")) == {"conversations": [], "total": 0}
    assert (await search(status="paid", stage="confirmation"))["total"] == 0

    started = (await search(stage="started"))["conversations"]
    assert [(c["id"], c["user_turns"], c["order"], c["prompt_variant"]) for c in started] == [
        (mix["started"], 0, None, None)]

    # A page larger than a batch of queries is described whole, in order.
    monkeypatch.setattr(search_module, "_BATCH", 3)
    assert await search(limit=200) == everything
    assert await search(stage="purchased") == paid

    for bad in ({"stage": "teleported"}, {"status": "lost"}, {"limit": 0}, {"offset": -1}):
        response = await client.get("/api/operator/conversations", params=bad, headers=OPERATOR)
        assert response.status_code == 422, bad


def test_the_funnel_command_prints_the_tables(database_url: str) -> None:
    async def seed() -> None:
        database = Database(database_url)
        try:
            async with database.session() as session:
                await build_mix(session)
                await session.commit()
        finally:
            await database.dispose()

    async def empty() -> None:
        # What the `db` fixture does after a test: the PostgreSQL database is shared by the session.
        async for _ in _database(database_url):
            pass

    asyncio.run(seed())
    try:
        _run_funnel_command(database_url)
    finally:
        asyncio.run(empty())


def _run_funnel_command(database_url: str) -> None:
    cli = typer.Typer()
    cli.command("funnel")(funnel_command)
    cli.command("other")(lambda: None)  # two commands, so `funnel` is invoked by name as in chatpay
    result = CliRunner().invoke(cli, ["funnel", "--since", "2026-11-20", "--until", "2026-11-21",
                                      "--url", database_url], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    lines = [" ".join(line.replace("│", " ").split()) for line in result.output.splitlines()]
    assert "Funnel 2026-11-20 .. 2026-11-21" in lines
    assert "started 12 100.0% - 1" in lines
    assert "browsed 11 91.7% 8.3% 1" in lines
    assert "confirmation 6 50.0% 14.3% 2" in lines
    assert "purchased 4 33.3% 33.3% -" in lines
    assert "2026-11-21 7 2 28.6% 7 7 7 6 5 4" in lines  # by day: conversations .. confirmation
    assert "none 4 0 0.0% 3 2 1 0 0 0" in lines  # by payment method
    assert "awaiting store payment 1" in lines
    assert "median time to purchase 250 s" in lines
    assert "median user turns to purchase 2.5" in lines
    assert "tokens per purchase 215" in lines
    assert "b 5 2 40.0% 0.414 0.6788 no" in lines
    assert "default (control) 7 2 28.6% - - no" in lines

    only = CliRunner().invoke(cli, ["funnel", "--since", "2026-11-20", "--until", "2026-11-21",
                                    "--by", "locale", "--url", database_url],
                              env={"COLUMNS": "200"})
    assert only.exit_code == 0 and "By locale" in only.output and "By day" not in only.output
    backwards = CliRunner().invoke(cli, ["funnel", "--since", "2026-11-22", "--until",
                                         "2026-11-21", "--url", database_url])
    assert backwards.exit_code == 2 and "since is after until" in backwards.output
