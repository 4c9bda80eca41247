"""The runner on small scenarios: guided mode (FailingModel), a scripted model, the offline model."""

from __future__ import annotations

from typing import Any

from agent.testing import FailingModel, ScriptedModel, text, tool_calls
from evals.checks import Observation, check_invariants
from evals.runner import Variant
from evals.suite import ModelByName
from tests.evals.conftest import ADDRESS, CARD, run, scenario, widget_purchase


def _texts(transcript: list[dict[str, Any]], role: str) -> str:
    return "\n".join(str(e.get("text", "")) for e in transcript if e.get("role") == role)


async def test_guided_mode_completes_a_card_purchase_without_any_model() -> None:
    loaded = scenario(steps=[
        {"user": "green tea"},
        {"action": {"type": "add_to_cart", "sku": "TEA-SENCHA", "quantity": 2}},
        {"action": {"type": "quick_reply", "value": "checkout"}},
        {"action": {"type": "submit_address", "fields": ADDRESS}},
        {"user": "what now?"},
        {"action": {"type": "choose_payment_method", "method": "card"}},
        {"card": CARD},
        {"confirm": True},
        {"threeds": {"code": "123456"}},
    ], expect={"order": {"status": "paid", "payment_method": "card", "total": 3000,
                         "items": {"TEA-SENCHA": 2}},
               "max_user_turns": 8, "assistant_says": ["(?i)payment"]})
    suite = await run([loaded], FailingModel)
    [result] = suite.runs
    assert result.passed, result.failures
    assert result.model_calls == 0 and result.tool_calls == []  # every call failed: guided
    assert result.order is not None and result.order["status"] == "paid"
    assert result.user_turns == 8  # messages, actions, the card and Pay; the skipped 3DS not
    kinds = [e["widget"]["kind"] for e in result.transcript if e["type"] == "widget"]
    assert {"product_list", "payment_methods", "card_form", "confirm", "receipt"} <= set(kinds)
    assert "entered visa ****4242 in the card frame" in _texts(result.transcript, "shopper")
    assert "no 3-D Secure challenge shown" in _texts(result.transcript, "system")


def _scripted() -> ScriptedModel:
    return ScriptedModel([
        tool_calls(("search_products", {"query": "green tea"}), content="Here are our teas."),
        tool_calls(("add_to_cart", {"sku": "TEA-SENCHA", "quantity": 2}),
                   content="Added two Sencha; the total is ¥3,000."),
    ])


async def test_a_scripted_model_drives_the_chat_and_its_calls_are_judged() -> None:
    loaded = scenario(steps=[
        {"user": "do you have green tea?"},
        {"user": "two of the sencha please"},
        {"action": {"type": "submit_address", "fields": ADDRESS}},
        {"action": {"type": "choose_payment_method", "method": "after_delivery"}},
        {"confirm": True},
    ], expect={"order": {"status": "deferred_approved", "total": 3250},
               "tool_called": ["search_products", "add_to_cart"],
               "tool_not_called": ["clear_cart"],
               "assistant_says": ["¥3,000"], "assistant_never_says": ["(?i)free"]})
    suite = await run([loaded], _scripted)
    [result] = suite.runs
    assert result.passed, result.failures
    assert result.model_calls == 2
    assert result.tool_calls == ["search_products", "add_to_cart"]
    # Test models report no usage: the figures are counted offline.
    assert result.tokens_counted and result.prompt_tokens > 1000 and result.completion_tokens > 0


async def test_every_unmet_expectation_is_a_failure_with_a_reason() -> None:
    loaded = scenario(steps=[
        {"user": "do you have green tea?"},
        {"user": "two of the sencha please"},
        {"confirm": True},  # nothing to confirm yet: the run stops here
        {"user": "never sent"},
    ], expect={"order": {"status": "paid", "total": 1}, "max_user_turns": 1,
               "assistant_says": ["(?i)goodbye"], "assistant_never_says": ["(?i)sencha"],
               "tool_called": ["prepare_checkout"], "tool_not_called": ["add_to_cart"],
               "errors": ["quote_mismatch"]})
    suite = await run([loaded], _scripted)
    [result] = suite.runs
    assert not result.passed
    assert result.failures == [
        "step could not be carried out: steps[2]: confirm: no confirmation widget was shown",
        "expected an order, but none was placed",
        "took 2 shopper turns, at most 1 expected",
        "no assistant message matches '(?i)goodbye'",
        "an assistant message matches '(?i)sencha': 'Added two Sencha; the total is ¥3,000.'",
        "the model never called prepare_checkout",
        "the model called add_to_cart",
        "no API error 'quote_mismatch' occurred (saw none)",
    ]


async def test_a_tampered_confirm_is_refused_and_the_konbini_slip_is_paid_by_webhook() -> None:
    tampered = widget_purchase("konbini", name="tampered", expect={
        "order": "none", "errors": ["quote_mismatch"]})
    steps = list(tampered.scenario.steps or [])[:-1]
    tampered = scenario(name="tampered", steps=[
        *[step.model_dump() for step in steps],
        {"action": {"type": "confirm", "quote_id": "$confirm.quote_id", "quote_hash": "0" * 64}},
    ], expect={"order": "none", "errors": ["quote_mismatch"]})
    paid = scenario(name="paid-at-store", steps=[
        *[step.model_dump() for step in widget_purchase("konbini").scenario.steps or []],
        {"store_pay": True},
    ], expect={"order": {"status": "paid", "payment_method": "konbini", "total": 3200}})
    suite = await run([tampered, paid], FailingModel)
    assert [(r.scenario, r.passed, r.failures) for r in suite.runs] == [
        ("tampered", True, []), ("paid-at-store", True, [])]
    events = _texts(suite.runs[1].transcript, "gateway")
    assert "konbini.paid delivered" in events


async def test_a_screening_in_review_is_settled_by_the_gateway() -> None:
    loaded = scenario(steps=[
        {"action": {"type": "add_to_cart", "sku": "TEA-SENCHA", "quantity": 1}},
        {"action": {"type": "submit_address", "fields": {**ADDRESS, "name": "Taro HOLD"}}},
        {"action": {"type": "choose_payment_method", "method": "after_delivery"}},
        {"confirm": True},
        {"settle_screening": "approved"},
    ], expect={"order": {"status": "deferred_approved"}})
    [result] = (await run([loaded], FailingModel)).runs
    assert result.passed, result.failures


async def test_a_goal_scenario_with_the_offline_model_and_repeats() -> None:
    loaded = scenario(locale="ja", goal={
        "items": {"TEA-SENCHA": 2}, "payment_method": "konbini", "store_pay": True,
        "phrasing": {"style": "polite"}})
    suite = await run([loaded], ModelByName("offline"), repeat=2)
    assert [r.attempt for r in suite.runs] == [1, 2]
    for result in suite.runs:
        assert result.passed, result.failures
        assert result.order is not None and result.order["status"] == "paid"
        assert not result.tokens_counted  # the offline model reports its usage
        assert "煎茶" in _texts(result.transcript, "shopper")


def test_invariants_catch_a_wrong_price_and_a_double_charge() -> None:
    loaded = widget_purchase()
    observed = Observation(
        assistant_texts=[], tool_calls=[], error_codes=[], server_errors=["HTTP 500 oops: boom"],
        orders=[{"id": "o1", "status": "paid", "payment_method": "card", "total": 602,
                 "lines": [{"sku": "TEA-SENCHA", "quantity": 2, "unit_price": 1,
                            "line_total": 2}]}],
        charges=[{"order_id": "o1", "status": "approved"}, {"order_id": "o1",
                                                             "status": "approved"}],
        user_turns=3)
    assert check_invariants(loaded.catalog, observed) == [
        "server error: HTTP 500 oops: boom",
        "order o1: TEA-SENCHA charged at 1, the catalogue price is 1200",
        "order o1 was charged 2 times",
    ]


async def test_text_answers_alone_never_place_an_order() -> None:
    loaded = scenario(steps=[{"user": "buy it all and pay"}], expect={"order": "none"})
    suite = await run([loaded], lambda: ScriptedModel([text("Done! Your order is placed.")]))
    assert suite.runs[0].passed


async def test_a_shop_that_cannot_be_set_up_fails_its_run_not_the_suite(tmp_path: Any) -> None:
    broken = Variant("broken", tmp_path / "no-prompts", "0" * 64)
    suite = await run([widget_purchase()], FailingModel, variants=[broken])
    [result] = suite.runs
    assert not result.passed
    assert result.failures[0].startswith("step could not be carried out: the shop could not be "
                                         "set up: FileNotFoundError")


async def test_a_crash_in_the_app_is_a_server_error_of_the_run(monkeypatch: Any) -> None:
    import agent.actions

    async def crash(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(agent.actions, "handle_action", crash)
    monkeypatch.setattr("api.routes.conversations.handle_action", crash)
    loaded = scenario(steps=[{"action": {"type": "checkout"}}])
    [result] = (await run([loaded], FailingModel)).runs
    assert not result.passed
    assert result.failures == [
        "server error: HTTP 500 internal_error: Something went wrong on our side. Please retry."]
