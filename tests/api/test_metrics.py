"""`GET /metrics`: the Prometheus text of a known set of stored rows, exactly, behind the key."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime

import httpx
import pytest
from fastapi import FastAPI

from agent.testing import FailingModel
from tests.api.conftest import OPERATOR, OPERATOR_KEY, Chat, shop_app, widget
from tests.factories import make_conversation, make_small_catalog
from tests.funnel_mix import Writer
from tests.shop_harness import Shop
from tools.store.models import ModelCall

START = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)


def metrics_app(shop: Shop, *, key: str | None = OPERATOR_KEY) -> FastAPI:
    return shop_app(shop, FailingModel(), operator_key=key)


@pytest.fixture
async def client(shop: Shop) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=metrics_app(shop)),
                                 base_url="http://testserver") as http:
        yield http


async def _known_rows(shop: Shop) -> None:
    async with shop.db.session() as session:
        first = Writer(session, await make_conversation(session), START)
        first.event(0, "message", "assistant", text="Welcome!", source="fixed")
        first.user(1)
        first.event(2, "message", "assistant", text="Here is what I can do.", source="guided")
        first.event(2, "widget", "assistant", widget={"kind": "product_list"}, source="guided")
        first.user(3)
        first.event(4, "message", "assistant", text="Next step.", source="guided")
        first.user(5)
        first.event(6, "message", "assistant", text="Sure.", source="model")
        second = Writer(session, await make_conversation(session, locale="ja"), START)
        second.user(1)
        second.event(2, "message", "assistant", text="次は…", source="guided")

        for latency, prompt, completion, cached in ((100.0, 1000, 50, 0), (300.0, 2000, 60, 500),
                                                    (600.0, 1500, 70, 0),
                                                    (1500.0, 500, 20, 250),
                                                    (45000.0, 100, 0, 0)):
            session.add(ModelCall(conversation_id=first.conversation.id, model="m",
                                  prompt_hash="h", prompt_tokens=prompt,
                                  completion_tokens=completion, cached_prompt_tokens=cached,
                                  latency_ms=latency))
        for outcome in ("invalid", "unavailable", "unavailable"):
            session.add(ModelCall(conversation_id=None, model="m", prompt_hash="h",
                                  latency_ms=0.0, outcome=outcome, attempts=0))
        await session.flush()

        await first.order(10, "paid", "card", payment_status="approved")
        await first.order(20, "paid", "card", payment_status="approved")
        await first.order(30, "failed", "card", payment_status="declined", reason="card_declined")
        await second.order(10, "awaiting_store_payment", "konbini", payment_status="slip_issued")
        await second.order(20, "failed", "after_delivery", payment_status="screening_rejected",
                           reason='rejected "high risk"\nreview')
        await session.commit()


EXPECTED = """\
# HELP chatpay_conversations Conversations stored.
# TYPE chatpay_conversations gauge
chatpay_conversations 2
# HELP chatpay_user_turns Shopper messages stored.
# TYPE chatpay_user_turns gauge
chatpay_user_turns 4
# HELP chatpay_guided_turns Replies made by the guided fallback.
# TYPE chatpay_guided_turns gauge
chatpay_guided_turns 3
# HELP chatpay_model_calls Model requests by outcome.
# TYPE chatpay_model_calls gauge
chatpay_model_calls{outcome="invalid"} 1
chatpay_model_calls{outcome="ok"} 5
chatpay_model_calls{outcome="unavailable"} 2
# HELP chatpay_model_latency_seconds Latency of successful model requests.
# TYPE chatpay_model_latency_seconds histogram
chatpay_model_latency_seconds_bucket{le="0.25"} 1
chatpay_model_latency_seconds_bucket{le="0.5"} 2
chatpay_model_latency_seconds_bucket{le="1.0"} 3
chatpay_model_latency_seconds_bucket{le="2.0"} 4
chatpay_model_latency_seconds_bucket{le="5.0"} 4
chatpay_model_latency_seconds_bucket{le="10.0"} 4
chatpay_model_latency_seconds_bucket{le="30.0"} 4
chatpay_model_latency_seconds_bucket{le="+Inf"} 5
chatpay_model_latency_seconds_sum 47.5
chatpay_model_latency_seconds_count 5
# HELP chatpay_model_tokens Tokens of all model requests, by kind.
# TYPE chatpay_model_tokens gauge
chatpay_model_tokens{kind="prompt"} 5100
chatpay_model_tokens{kind="completion"} 200
chatpay_model_tokens{kind="cached_prompt"} 750
# HELP chatpay_payments Payment attempts by method, status and reason.
# TYPE chatpay_payments gauge
chatpay_payments{method="after_delivery",status="screening_rejected",\
reason="rejected \\"high risk\\"\\nreview"} 1
chatpay_payments{method="card",status="approved",reason=""} 2
chatpay_payments{method="card",status="declined",reason="card_declined"} 1
chatpay_payments{method="konbini",status="slip_issued",reason=""} 1
"""


async def test_every_figure_for_known_rows(shop: Shop, client: httpx.AsyncClient) -> None:
    await _known_rows(shop)
    response = await client.get("/metrics", headers=OPERATOR)
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/plain; version=0.0.4; charset=utf-8"
    assert response.text == EXPECTED


async def test_an_empty_database(client: httpx.AsyncClient) -> None:
    body = (await client.get("/metrics", headers=OPERATOR)).text
    assert "chatpay_user_turns 0\n" in body and "chatpay_guided_turns 0\n" in body
    assert 'chatpay_model_latency_seconds_bucket{le="+Inf"} 0\n' in body
    assert "chatpay_model_latency_seconds_sum 0.0\n" in body
    assert 'chatpay_model_tokens{kind="prompt"} 0\n' in body
    assert "chatpay_model_calls{" not in body and "chatpay_payments{" not in body


async def test_a_guided_turn_made_through_the_shopper_api(shop: Shop,
                                                          client: httpx.AsyncClient) -> None:
    async with shop.db.session() as session:
        await make_small_catalog(session)
        await session.commit()
    chat = Chat(client=client, shop=shop)
    await chat.start()
    assert widget(await chat.say("green tea"), "product_list")  # the model is down: guided
    await chat.do(type="add_to_cart", sku="TEA-SENCHA", quantity=1)  # an action is not a turn
    body = (await client.get("/metrics", headers=OPERATOR)).text
    assert "chatpay_user_turns 1\n" in body
    assert "chatpay_guided_turns 1\n" in body
    assert 'chatpay_model_calls{outcome="unavailable"} 1\n' in body
    assert 'chatpay_model_latency_seconds_bucket{le="+Inf"} 0\n' in body


async def test_the_operator_key_is_required(shop: Shop, client: httpx.AsyncClient) -> None:
    assert (await client.get("/metrics")).status_code == 401
    wrong = {"Authorization": "Bearer " + "x" * 32}
    assert (await client.get("/metrics", headers=wrong)).status_code == 401
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=metrics_app(shop, key=None)),
                                 base_url="http://testserver") as http:
        assert (await http.get("/metrics", headers=OPERATOR)).status_code == 404

