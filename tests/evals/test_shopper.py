"""The simulated shopper: template phrasing by default, an OpenAI-compatible model with --user-model."""

from __future__ import annotations

import json
from typing import Any

import httpx
import respx

from agent.openai_model import OpenAIChatModel
from agent.retries import RetryPolicy
from agent.testing import FailingModel
from evals.runner import SuiteConfig, Variant
from evals.suite import ModelByName, run_suite
from tests.evals.conftest import CARD, run, scenario

SHOPPER_API = "https://shopper.test/v1/chat/completions"
LINES = {
    "Ask for": "Hi! Could I get 2 packs of the Sencha green tea 100 g?",
    "check out": "Great, I'd like to check out now.",
    "delivery address": "Please send it to Taro Yamada, 150-0002 2-21-1, phone 090-1234-5678, "
                        "email taro@example.com",
    "want to pay": "I'll pay by card, thanks.",
    "next": "What should I do next?",
}


def _answer(request: httpx.Request) -> httpx.Response:
    body = json.loads(request.content)
    intent = body["messages"][-1]["content"].split("Now: ", 1)[1]
    line = next(text for key, text in LINES.items() if key in intent)
    return httpx.Response(200, json={
        "id": "chatcmpl-s", "object": "chat.completion", "created": 1, "model": "shopper-test",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": f'"{line}"'},
                     "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 80, "completion_tokens": 12, "total_tokens": 92}})


def _shopper_model() -> OpenAIChatModel:
    return OpenAIChatModel("shopper-test", api_key="sk-test", base_url="https://shopper.test/v1",
                           http_client=httpx.AsyncClient(), retry=RetryPolicy(max_attempts=1))


GOAL: dict[str, Any] = {
    "items": {"TEA-SENCHA": 2}, "payment_method": "card", "card": CARD,
    "phrasing": {"address_via": "chat", "method_via": "chat",
                 "hints": ["friendly, uses exclamation marks"]},
}


async def test_an_llm_writes_the_shoppers_messages_and_never_sees_the_card() -> None:
    loaded = scenario(goal=GOAL)
    config = SuiteConfig(model_name="offline", model_factory=ModelByName("offline"),
                         variants=[Variant.of("default", None)],
                         shopper_model_factory=_shopper_model)
    with respx.mock(assert_all_called=True) as router:
        route = router.post(SHOPPER_API).mock(side_effect=_answer)
        suite = await run_suite([loaded], config)
    [result] = suite.runs
    assert result.passed, (result.failures, result.transcript)
    said = [e["text"] for e in result.transcript
            if e["role"] == "shopper" and e["type"] == "message"]
    assert said[:4] == [LINES["Ask for"], LINES["check out"], LINES["delivery address"],
                        LINES["want to pay"]]  # quotes around the model's line are dropped
    sent = [json.loads(call.request.content) for call in route.calls]
    system = sent[0]["messages"][0]["content"]
    assert "2 x Sencha green tea 100 g" in system and "friendly, uses exclamation marks" in system
    assert "tools" not in sent[0]  # the shopper model is asked for words only
    assert "4242" not in json.dumps(sent)  # the card goes to the card frame, not into words
    assert result.model_calls > 0  # the agent's own model (offline) is counted, not the shopper's


async def test_the_template_shopper_gets_a_multi_item_order_through_guided_mode() -> None:
    loaded = scenario(goal={"items": [{"sku": "TEA-SENCHA", "quantity": 1},
                                      {"sku": "MUG-HASAMI", "quantity": 1}],
                            "payment_method": "after_delivery"})
    [result] = (await run([loaded], FailingModel)).runs
    assert result.passed, result.failures
    assert result.order is not None and result.order["status"] == "deferred_approved"
    tapped = [e["action"]["type"] for e in result.transcript if e["type"] == "action"]
    # No model: the shopper taps the Add buttons of the product lists guided mode shows.
    assert tapped.count("add_to_cart") == 2 and "submit_address" in tapped


async def test_a_shopper_that_cannot_reach_its_goal_gives_up_and_the_run_fails() -> None:
    loaded = scenario(goal={"items": {"TEA-WAKOCHA": 1}, "payment_method": "konbini",
                            "max_turns": 6})  # sold out: it can never be added
    [result] = (await run([loaded], FailingModel)).runs
    assert not result.passed
    assert "expected an order, but none was placed" in result.failures
    notes = [e["text"] for e in result.transcript if e["type"] == "note"]
    assert any("gave up" in note or "could not get TEA-WAKOCHA" in note for note in notes)
