"""The conversation API end to end: a scripted model, the real agent loop, the sandbox gateway."""

from __future__ import annotations

import json
from typing import Any

import pytest

from agent.testing import FailingModel, ScriptedModel, text, tool_calls
from tests.api.conftest import ADDRESS, texts, widget

CARD = "4242424242424242"


async def test_full_card_purchase_with_a_scripted_model(chat_factory: Any) -> None:
    model = ScriptedModel([
        tool_calls(("search_products", {"query": "green tea"}),
                   content="Here are our green teas."),
        tool_calls(("add_to_cart", {"sku": "TEA-SENCHA", "quantity": 2}),
                   content="Added two Sencha to your cart."),
    ])
    chat = chat_factory(model)
    welcome = await chat.start()
    assert "help" in texts(welcome).lower()

    found = await chat.say("do you have green tea?")
    assert "TEA-SENCHA" in [p["sku"] for p in widget(found, "product_list")["products"]]
    added = await chat.say("two of the sencha please")
    assert widget(added, "cart")["total"] == 3000
    assert "Added two Sencha" in texts(added)

    after_address = await chat.do(type="submit_address", fields=ADDRESS)
    assert "Tokyo 150-0002" in texts(after_address)
    methods = widget(after_address, "payment_methods")
    assert {m["method"] for m in methods["methods"]} == {"card", "after_delivery", "konbini"}

    card_step = await chat.do(type="choose_payment_method", method="card")
    form = widget(card_step, "card_form")
    assert form["iframe_url"].startswith("http://127.0.0.1:8001/card-form?")
    assert "origin=http%3A%2F%2F127.0.0.1%3A8000" in form["iframe_url"]
    assert form["tokenize_url"] == "http://127.0.0.1:8001/v1/tokens"

    ready = await chat.pay_with_card(CARD)
    confirm = widget(ready, "confirm")
    assert confirm["total"] == 3000 and confirm["card"] == {"brand": "visa", "last4": "4242"}

    paid = await chat.confirm(confirm)
    receipt = widget(paid, "receipt")
    assert receipt["status"] == "paid" and receipt["total"] == 3000

    state = (await chat.client.get(f"/api/conversations/{chat.id}", headers=chat.auth)).json()
    assert state["order"]["status"] == "paid" and state["checkout_stage"] == "done"
    assert state["cart"]["is_empty"]
    model.assert_complete()
    assert len(model.calls) == 2  # one model call per shopper message; widget actions: none
    assert CARD not in json.dumps([call.messages for call in model.calls])
    assert CARD not in json.dumps(state)


async def test_state_block_and_prefix_reach_the_model(chat_factory: Any) -> None:
    model = ScriptedModel([text("Hello!"), text("Sure.")])
    chat = chat_factory(model)
    await chat.start()
    await chat.say("hi")
    await chat.say("what do you sell?")
    first, second = model.calls
    assert first.messages[0] == second.messages[0]  # byte-identical system prompt
    assert first.tools == second.tools
    assert first.messages[-1]["role"] == "system"
    assert first.messages[-1]["content"].startswith("CHECKOUT STATE")
    assert second.messages[-2] == {"role": "user", "content": "what do you sell?"}


async def test_card_number_in_chat_gets_the_form_and_no_model_call(chat_factory: Any) -> None:
    model = ScriptedModel([])
    chat = chat_factory(model)
    await chat.start()
    events = await chat.say("my card is 4242 4242 4242 4242 exp 12/30 cvc 123")
    assert widget(events, "card_form")
    assert "removed" in texts(events)
    assert model.calls == []
    transcript = (await chat.client.get(f"/api/conversations/{chat.id}",
                                        headers=chat.auth)).json()["transcript"]
    dumped = json.dumps(transcript)
    assert "4242 4242" not in dumped and CARD not in dumped and "123" not in dumped


async def test_a_card_split_over_two_messages_is_scrubbed_from_both(chat_factory: Any) -> None:
    model = ScriptedModel([text("Could you tell me more?")])
    chat = chat_factory(model)
    await chat.start()
    await chat.say("my card is 4242 4242")
    events = await chat.say("4242 4242 thanks")
    assert widget(events, "card_form")
    transcript = json.dumps((await chat.client.get(f"/api/conversations/{chat.id}",
                                                   headers=chat.auth)).json()["transcript"])
    assert "4242 4242" not in transcript


async def test_checkout_with_the_model_down_on_every_call(chat_factory: Any) -> None:
    """Guided mode: a shopper completes a card purchase with no model at all."""
    chat = chat_factory(FailingModel())
    await chat.start()
    found = await chat.say("green tea")
    products = widget(found, "product_list")["products"]
    assert "TEA-SENCHA" in [p["sku"] for p in products]
    assert widget(found, "quick_replies")
    added = await chat.do(type="add_to_cart", sku="TEA-SENCHA", quantity=2)
    assert widget(added, "cart")["total"] == 3000
    checkout = await chat.do(type="quick_reply", value="checkout")
    assert widget(checkout, "address_form")
    after_address = await chat.do(type="submit_address", fields=ADDRESS)
    assert widget(after_address, "payment_methods")
    guided = await chat.say("what now?")
    assert widget(guided, "payment_methods")  # the next step, without a model
    await chat.do(type="choose_payment_method", method="card")
    confirm = widget(await chat.pay_with_card(CARD), "confirm")
    paid = await chat.confirm(confirm)
    assert widget(paid, "receipt")["status"] == "paid"


async def test_declined_card_then_a_good_one(chat_factory: Any) -> None:
    chat = chat_factory(ScriptedModel([]))
    await chat.start("ja")
    await chat.do(type="add_to_cart", sku="MUG-HASAMI", quantity=1)
    await chat.do(type="submit_address", fields=ADDRESS)
    await chat.do(type="choose_payment_method", method="card")
    confirm = widget(await chat.pay_with_card("4000000000000002"), "confirm")
    declined = await chat.confirm(confirm)
    assert "承認されませんでした" in texts(declined)
    assert widget(declined, "card_form")
    confirm = widget(await chat.pay_with_card(CARD), "confirm")
    paid = await chat.confirm(confirm)
    assert widget(paid, "receipt")["status"] == "paid"


async def test_tampered_confirm_is_refused(chat_factory: Any) -> None:
    chat = chat_factory(ScriptedModel([]))
    await chat.start()
    await chat.do(type="add_to_cart", sku="TEA-SENCHA", quantity=1)
    await chat.do(type="submit_address", fields=ADDRESS)
    confirm = widget(await chat.do(type="choose_payment_method", method="konbini"), "confirm")
    refused = await chat.act(type="confirm", quote_id=confirm["quote_id"], quote_hash="0" * 64)
    assert refused.status_code == 409
    assert refused.json()["error"]["code"] == "quote_mismatch"
    slip = await chat.confirm(confirm)
    assert widget(slip, "konbini_slip")["payment_number"]


@pytest.mark.parametrize("body", [
    {"type": "teleport"}, {"type": "add_to_cart"}, {"type": "add_to_cart", "sku": "X",
                                                    "quantity": -1},
    {"type": "confirm", "quote_id": "x"}, {"text": "hi"}, [], "nonsense",
])
async def test_malformed_actions_are_422(chat_factory: Any, body: Any) -> None:
    chat = chat_factory(ScriptedModel([]))
    await chat.start()
    response = await chat.client.post(f"/api/conversations/{chat.id}/actions", json=body,
                                      headers=chat.auth)
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "invalid_request"


async def test_other_shoppers_cannot_see_or_act(chat_factory: Any) -> None:
    chat = chat_factory(ScriptedModel([]))
    other = chat_factory(ScriptedModel([]))
    await chat.start()
    await other.start()
    url = f"/api/conversations/{chat.id}"
    assert (await chat.client.get(url)).status_code == 401
    assert (await chat.client.get(url, headers={"Authorization": "Bearer nope"})).status_code == 404
    assert (await chat.client.get(url, headers=other.auth)).status_code == 404
    hijack = await chat.client.post(f"{url}/actions", json={"type": "checkout"},
                                    headers=other.auth)
    assert hijack.status_code == 404
    unknown = await chat.client.get("/api/conversations/not-there", headers=chat.auth)
    assert unknown.status_code == 404
    assert hijack.json() == unknown.json()  # the same answer: existence is not revealed


async def test_pasted_card_chooses_card_and_japanese_receipt_names(chat_factory: Any) -> None:
    """After a pasted card, the form's token leads straight to a confirmation; receipts speak ja."""
    chat = chat_factory(ScriptedModel([]))
    await chat.start("ja")
    await chat.do(type="add_to_cart", sku="TEA-SENCHA", quantity=1)
    await chat.do(type="submit_address", fields=ADDRESS)
    pasted = await chat.say("カード番号は 4242 4242 4242 4242 です")
    assert widget(pasted, "card_form")
    confirm = widget(await chat.pay_with_card(CARD), "confirm")
    assert confirm["payment_method"] == "card"
    paid = await chat.confirm(confirm)
    assert widget(paid, "receipt")["lines"][0]["name"] == "煎茶 100g"
