"""A shopper deletes their own conversation; an operator purges idle ones from the command line.

`DELETE /api/conversations/{id}` with the conversation's token answers 204, the transcript and
personal data are gone, the token opens nothing afterwards, and an order keeps what it needs: a
convenience-store payment that arrives after the deletion still settles it. Another shopper's token
gets 404 and changes nothing. `chatpay purge --older-than DAYS` is run through typer's CliRunner.
Rows are counted before and after, on SQLite and PostgreSQL.
"""

from __future__ import annotations

import asyncio
import shutil
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
import typer
from sqlalchemy import func, select
from typer.testing import CliRunner

from api.cli_purge import purge
from tests.factories import make_small_catalog
from tests.security.merchant import Shopper, all_rows, merchant_app, merchant_client, row_counts
from tests.shop_harness import Shop
from tools.store.db import Database
from tools.store.models import Conversation, ConversationEvent, Order, Payment, utcnow


@pytest.fixture
async def client(shop: Shop) -> AsyncIterator[httpx.AsyncClient]:
    async with shop.db.session() as session:
        await make_small_catalog(session)
        await session.commit()
    async with merchant_client(merchant_app(shop)) as http:
        yield http


async def events_of(shop: Shop, cid: str) -> int:
    async with shop.db.session() as session:
        return await session.scalar(select(func.count()).select_from(ConversationEvent).where(
            ConversationEvent.conversation_id == cid)) or 0


async def test_a_shopper_deletes_their_conversation(shop: Shop,
                                                    client: httpx.AsyncClient) -> None:
    shopper = await Shopper(client).start()
    said = await client.post(f"/api/conversations/{shopper.id}/messages",
                             json={"text": "I live at 2-21-1 Shibuya"},
                             headers={**shopper.auth, "Idempotency-Key": "message-1"})
    assert said.status_code == 200
    await shopper.act(type="add_to_cart", sku="TEA-SENCHA", quantity=1)
    bystander = await Shopper(client).start()
    await bystander.act(type="add_to_cart", sku="PEN-BALL", quantity=3)
    bystander_view = (await client.get(f"/api/conversations/{bystander.id}",
                                       headers=bystander.auth)).json()
    assert await events_of(shop, shopper.id) >= 4
    before = row_counts(await all_rows(shop.db))

    deleted = await client.delete(f"/api/conversations/{shopper.id}", headers=shopper.auth)
    assert deleted.status_code == 204 and deleted.content == b""

    after = row_counts(await all_rows(shop.db))
    assert after["conversations"] == before["conversations"] - 1
    assert after["carts"] == before["carts"] - 1 and after["cart_lines"] == before["cart_lines"] - 1
    assert await events_of(shop, shopper.id) == 0
    assert after["conversation_events"] == await events_of(shop, bystander.id) > 0
    assert after["model_calls"] == before["model_calls"]  # usage figures stay, unlinked
    # The stored answer kept for a retried message is a copy of the transcript: gone too.
    assert after["idempotent_requests"] == 0 < before["idempotent_requests"]
    # The token opens nothing any more, whatever the request.
    base = f"/api/conversations/{shopper.id}"
    for method, url, body in [("GET", base, None), ("DELETE", base, None),
                              ("POST", f"{base}/messages", {"text": "hello?"}),
                              ("POST", f"{base}/actions", {"type": "checkout"})]:
        response = await client.request(method, url, json=body, headers=shopper.auth)
        assert response.status_code == 404, (method, url)
    # The other shopper noticed nothing.
    assert (await client.get(f"/api/conversations/{bystander.id}",
                             headers=bystander.auth)).json() == bystander_view


async def test_an_order_awaiting_payment_survives_the_deletion(shop: Shop,
                                                               client: httpx.AsyncClient) -> None:
    shopper = await Shopper(client).start()
    order_id = await shopper.buy_with_konbini()
    before = await all_rows(shop.db)
    accounting = {table: before[table] for table in ("orders", "order_lines", "order_events",
                                                    "payments")}

    deleted = await client.delete(f"/api/conversations/{shopper.id}", headers=shopper.auth)
    assert deleted.status_code == 204

    after = await all_rows(shop.db)
    assert {table: after[table] for table in accounting} == accounting
    counts_before, counts_after = row_counts(before), row_counts(after)
    assert counts_after["conversations"] == counts_before["conversations"]  # kept, emptied
    for table in ("conversation_events", "carts", "addresses"):
        assert counts_after[table] == 0 < counts_before[table], table
    async with shop.db.session() as session:
        emptied = await session.get(Conversation, shopper.id)
        assert emptied is not None and emptied.token_hash == ""
        order = await session.get(Order, order_id)
        assert order is not None and order.address["name"] == "Taro Yamada"  # still to deliver

    # The shopper pays at the store after deleting the chat: the signed webhook still settles it.
    async with shop.db.session() as session:
        gateway_ref = await session.scalar(select(Payment.gateway_ref).where(
            Payment.order_id == order_id))
    assert (await shop.sandbox.post(f"/sandbox/konbini/{gateway_ref}/pay")).status_code == 200
    outbound = shop.webhooks[-1]
    delivered = await client.post("/api/webhooks/gateway", content=outbound.body,
                                  headers=outbound.headers)
    assert delivered.status_code == 200 and delivered.json()["outcome"] == "applied"
    async with shop.db.session() as session:
        paid = await session.get(Order, order_id)
        assert paid is not None and paid.status == "paid"


async def test_another_shoppers_token_cannot_delete(shop: Shop,
                                                    client: httpx.AsyncClient) -> None:
    victim = await Shopper(client).start()
    await victim.act(type="add_to_cart", sku="TEA-SENCHA", quantity=1)
    intruder = await Shopper(client).start()
    before = await all_rows(shop.db)
    url = f"/api/conversations/{victim.id}"
    assert (await client.delete(url, headers=intruder.auth)).status_code == 404
    assert (await client.delete(url)).status_code == 401
    assert (await client.delete(url, headers={"Authorization": "Basic x"})).status_code == 401
    assert await all_rows(shop.db) == before
    assert (await client.get(url, headers=victim.auth)).status_code == 200


# --- chatpay purge --------------------------------------------------------------------------------

def _seed_old_and_new(url: str) -> tuple[str, str]:
    """One conversation idle for 40 days and one from today, each with two transcript events."""
    async def run() -> tuple[str, str]:
        database = Database(url)
        old_at = utcnow() - timedelta(days=40)
        ids = (str(uuid.uuid4()), str(uuid.uuid4()))
        async with database.session() as session:
            for cid, at in zip(ids, (old_at, utcnow()), strict=True):
                session.add(Conversation(id=cid, token_hash="a" * 64, created_at=at,
                                         updated_at=at))
                await session.flush()
                for seq in (1, 2):
                    session.add(ConversationEvent(conversation_id=cid, seq=seq, kind="message",
                                                  role="user", text="hello", created_at=at))
            await session.commit()
        await database.dispose()
        return ids

    return asyncio.run(run())


def _conversation_ids(url: str) -> set[str]:
    async def run() -> set[str]:
        database = Database(url)
        async with database.session() as session:
            found = set((await session.scalars(select(Conversation.id))).all())
        await database.dispose()
        return found

    return asyncio.run(run())


def test_chatpay_purge_erases_idle_conversations(sqlite_template: Path, tmp_path: Path) -> None:
    path = tmp_path / "chatpay.db"
    shutil.copyfile(sqlite_template, path)
    url = f"sqlite+aiosqlite:///{path}"
    old, new = _seed_old_and_new(url)
    cli = typer.Typer()
    cli.command("purge")(purge)  # exactly how api/cli.py registers it
    cli.command("noop")(lambda: None)  # a second command, so "purge" is a sub-command as in chatpay
    runner = CliRunner()

    refused = runner.invoke(cli, ["purge", "--older-than", "0", "--url", url])
    assert refused.exit_code != 0
    assert _conversation_ids(url) == {old, new}

    result = runner.invoke(cli, ["purge", "--older-than", "30", "--url", url])
    assert result.exit_code == 0, result.output
    assert "conversations erased: 1 (1 deleted, 0 kept" in result.output
    assert "2 conversation_events" in result.output
    assert _conversation_ids(url) == {new}

    again = runner.invoke(cli, ["purge", "--older-than", "30", "--url", url])
    assert again.exit_code == 0 and "conversations erased: 0 " in again.output
