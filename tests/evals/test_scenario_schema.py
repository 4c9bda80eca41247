"""The scenario file format: valid files load; invalid ones fail with the file, scenario and field."""

from __future__ import annotations

from pathlib import Path

import pytest

from evals.scenario import (
    ActionStep,
    CardStep,
    ConfirmStep,
    ScenarioError,
    ThreeDSStep,
    UserStep,
    load_scenarios,
)

SUITE = Path(__file__).parents[2] / "evals" / "scenarios"

SPEC_EXAMPLE = """\
name: card-two-teas            # unique
description: Buys two teas and pays by card
locale: en                     # en | ja
catalog: default
steps:
  - user: "do you have green tea?"
  - user: "two of the sencha please"
  - user: "checkout. Taro Yamada, 150-0002 Shibuya 2-21-1, 090-1234-5678, taro@example.com"
  - user: "card"
  - card: {number: "4242 4242 4242 4242", exp: "12/30", cvc: "123", name: "TARO YAMADA"}
  - confirm: true
  - threeds: {code: "123456"}
  - action: {type: choose_payment_method, method: after_delivery}
expect:
  order: {status: paid, payment_method: card, total: 3000, items: {TEA-SENCHA: 2}}
  max_user_turns: 8
  assistant_says: ["(?i)total"]
  assistant_never_says: ["(?i)free"]
  tool_called: [add_to_cart]
"""


def write(tmp_path: Path, text: str, name: str = "s.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def problems_of(path: Path) -> str:
    with pytest.raises(ScenarioError) as caught:
        load_scenarios([path])
    return str(caught.value)


def test_the_format_of_the_issue_loads_as_written(tmp_path: Path) -> None:
    [loaded] = load_scenarios([write(tmp_path, SPEC_EXAMPLE)])
    scenario = loaded.scenario
    assert scenario.name == "card-two-teas" and scenario.locale == "en"
    assert [type(step) for step in scenario.steps or []] == [
        UserStep, UserStep, UserStep, UserStep, CardStep, ConfirmStep, ThreeDSStep, ActionStep]
    assert scenario.expect.order is not None and scenario.expect.order != "none"
    assert scenario.expect.order.items == {"TEA-SENCHA": 2}
    assert len(loaded.catalog) == 50  # the demo catalogue


def test_a_list_under_scenarios_and_an_inline_catalogue(tmp_path: Path) -> None:
    path = write(tmp_path, """\
scenarios:
  - name: one
    catalog:
      - {sku: TEST-1, name: Test, name_ja: テスト, price: 500, tax_rate: 10, stock: 3}
    steps: [{user: hi}]
    expect: {order: none}
  - name: two
    catalog: mini.yaml
    goal: {items: {TEST-2: 1}, payment_method: konbini}
""")
    write(tmp_path, "products:\n  - {sku: TEST-2, name: T2, name_ja: T2, price: 100, "
                    "tax_rate: 8, stock: 1}\n", "mini.yaml")
    one, two = load_scenarios([path])
    assert [e.sku for e in one.catalog] == ["TEST-1"] and one.scenario.expect.order == "none"
    assert [e.sku for e in two.catalog] == ["TEST-2"]  # a path relative to the scenario file
    assert two.scenario.goal is not None and two.scenario.goal.items[0].quantity == 1


@pytest.mark.parametrize(("body", "expected"), [
    ("name: x\nsteps: [{user: hi}]\nexpect: {asistant_says: [hi]}",
     "x: expect.asistant_says: unknown field"),
    ("name: x\nsteps: [{user: hi}, {bogus: 1}]",
     "x: steps[1]: each step is a mapping with exactly one of: user, card"),
    ("name: x\nsteps: [{card: {number: '4242424242424242', exp: '12/30', cvc: 123}}]",
     'x: steps[0].card.cvc: write the security code in quotes'),
    ("name: x\nsteps: [{card: {number: '4242424242424242', cvc: '123'}}]",
     "x: steps[0].card.exp: Field required"),
    ("name: x\nsteps: [{user: hi}]\nexpect: {assistant_says: ['(?i']}",
     "x: expect.assistant_says: not a valid regular expression"),
    ("name: x\nsteps: [{user: hi}]\nexpect: {tool_called: [add_to_cat]}",
     "x: expect.tool_called: unknown tool(s) ['add_to_cat']"),
    ("name: x\nsteps: [{user: hi}]\nlocale: fr", "x: locale: Input should be 'en' or 'ja'"),
    ("name: x", "x: give either `steps:` or `goal:` (exactly one)"),
    ("name: x\ngoal: {items: {TEA-SENCHA: 1}, payment_method: card}",
     "x: goal: payment_method card needs a `card` to enter"),
    ("name: x\nsteps: [{user: hi}]\ncatalog: [{sku: A, name: A, price: 1.5, tax_rate: 8, "
     "stock: 1}]", "x: catalog: products[0] (sku A): price: must be a whole number"),
    ("name: x\nsteps: [{user: hi}]\ncatalog: nowhere.yaml", "x: catalog: cannot read"),
    ("name: x\nsteps: [{user: 'unclosed}", "line 2"),
])
def test_invalid_files_name_the_file_and_the_field(tmp_path: Path, body: str,
                                                    expected: str) -> None:
    path = write(tmp_path, body)
    message = problems_of(path)
    assert f"{path}: " in message
    assert expected in message


def test_every_problem_of_every_file_is_reported_at_once(tmp_path: Path) -> None:
    write(tmp_path, "name: a\nsteps: [{user: hi}]", "a.yaml")
    write(tmp_path, "name: a\nsteps: [{user: hi}]", "b.yaml")
    write(tmp_path, "name: c\nsteps: [{user: hi}]\nexpect: {max_user_turns: -1, order: maybe}",
          "c.yaml")
    with pytest.raises(ScenarioError) as caught:
        load_scenarios([tmp_path])
    problems = caught.value.problems
    assert any("b.yaml: a: name: duplicate of the scenario in" in p and "a.yaml" in p
               for p in problems)
    assert any("c.yaml: c: expect.max_user_turns" in p for p in problems)
    assert any("c.yaml: c: expect.order" in p for p in problems)


def test_a_missing_path_and_an_empty_folder_are_errors(tmp_path: Path) -> None:
    assert "no such file or folder" in problems_of(tmp_path / "missing.yaml")
    (tmp_path / "empty").mkdir()
    assert "no scenario files" in problems_of(tmp_path / "empty")


def test_the_shipped_suite_is_large_bilingual_and_covers_the_topics() -> None:
    scenarios = load_scenarios([SUITE])
    assert len(scenarios) >= 60
    japanese = [s for s in scenarios if s.scenario.locale == "ja"]
    assert len(japanese) * 3 >= len(scenarios) - 3  # about a third
    tags = {tag for s in scenarios for tag in s.scenario.tags}
    assert {"card", "3ds", "decline", "after-delivery", "konbini", "cart-edit", "address",
            "abandon-resume", "questions", "card-in-chat", "injection", "price", "language",
            "long", "goal"} <= tags
    methods = {s.scenario.expect.order.payment_method for s in scenarios
               if s.scenario.expect.order not in (None, "none")
               and s.scenario.expect.order.payment_method}  # type: ignore[union-attr]
    assert methods == {"card", "after_delivery", "konbini"}


def test_the_pending_scenarios_are_valid_too() -> None:
    folder = SUITE.parent / "pending"
    if not any(folder.glob("*.y*ml")):
        return  # none pending right now (its README says so); the suite itself is checked above
    pending = load_scenarios([folder])
    assert all(s.name.startswith("pending-") for s in pending)
