"""A whole purchase with the real `openai` client against a mocked HTTP endpoint (respx).

The model's answers are Chat Completions JSON as an OpenAI-compatible server sends them, including a
429 with Retry-After in the middle; every request the agent sent is captured and checked.
"""

from __future__ import annotations

import json
from typing import Any

import httpx
import respx

from agent.openai_model import OpenAIChatModel
from agent.retries import RetryPolicy
from tests.api.conftest import ADDRESS, texts, widget

API = "https://api.test/v1/chat/completions"
CARD = "5555555555554444"


def completion(content: str | None,
               calls: list[tuple[str, dict[str, Any]]] | None = None) -> httpx.Response:
    message: dict[str, Any] = {"role": "assistant", "content": content}
    if calls:
        message["tool_calls"] = [
            {"id": f"call_{i}", "type": "function",
             "function": {"name": name, "arguments": json.dumps(args)}}
            for i, (name, args) in enumerate(calls)]
    return httpx.Response(200, json={
        "id": "chatcmpl-1", "object": "chat.completion", "created": 1, "model": "gpt-test",
        "choices": [{"index": 0, "message": message,
                     "finish_reason": "tool_calls" if calls else "stop"}],
        "usage": {"prompt_tokens": 900, "completion_tokens": 20, "total_tokens": 920,
                  "prompt_tokens_details": {"cached_tokens": 800}}})


async def test_purchase_through_the_openai_client(chat_factory: Any) -> None:
    sleeps: list[float] = []

    async def no_sleep(seconds: float) -> None:
        sleeps.append(seconds)

    with respx.mock(assert_all_called=True) as router:
        route = router.post(API).mock(side_effect=[
            completion("Here you are.", [("search_products", {"query": "coffee"})]),
            httpx.Response(429, headers={"Retry-After": "1"},
                           json={"error": {"message": "slow down", "type": "rate_limit"}}),
            completion(None, [("add_to_cart", {"sku": "COF-DRIP", "quantity": 1})]),
            completion("Added one Drip coffee. Anything else?"),
        ])
        model = OpenAIChatModel("gpt-test", api_key="sk-test", base_url="https://api.test/v1",
                                http_client=httpx.AsyncClient(), sleep=no_sleep,
                                retry=RetryPolicy(max_attempts=3))
        chat = chat_factory(model)
        await chat.start()
        found = await chat.say("any coffee?")
        assert "COF-DRIP" in [p["sku"] for p in widget(found, "product_list")["products"]]
        added = await chat.say("one drip coffee")
        assert "Added one Drip coffee" in texts(added)
        assert widget(added, "cart")["total"] == 980 + 600
        pasted = await chat.say(f"pay with {CARD[:4]} {CARD[4:8]} {CARD[8:12]} {CARD[12:]}")
        assert widget(pasted, "card_form")  # fixed reply: no request was made for it
        await chat.do(type="submit_address", fields=ADDRESS)
        await chat.do(type="choose_payment_method", method="card")
        confirm = widget(await chat.pay_with_card(CARD), "confirm")
        paid = await chat.confirm(confirm)
        assert widget(paid, "receipt")["status"] == "paid"

    bodies = [json.loads(call.request.content) for call in route.calls]
    assert len(bodies) == 4  # search, 429, add (no text), final text; none for the pasted card
    assert sleeps == [1.0]  # Retry-After honoured
    assert all(b["tools"] == bodies[0]["tools"] for b in bodies)
    assert all(b["messages"][0] == bodies[0]["messages"][0] for b in bodies)
    sent = json.dumps(bodies)
    assert CARD not in sent and CARD[:4] + " " + CARD[4:8] not in sent
    # The second step of the add turn carries the tool result back to the model.
    assert bodies[3]["messages"][-2]["role"] == "tool"
    assert json.loads(bodies[3]["messages"][-2]["content"])["ok"] is True
