"""`chatpay eval run`: exit status 0 when every scenario passed, 1 when any failed, 2 for bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from evals.cli import app

PASSING = """\
name: konbini-by-widgets
steps:
  - action: {type: add_to_cart, sku: TEA-SENCHA, quantity: 2}
  - action: {type: checkout}
  - action:
      type: submit_address
      fields: {name: Taro Yamada, postal_code: "150-0002", line1: "2-21-1",
               phone: "090-1234-5678", email: taro@example.com}
  - action: {type: choose_payment_method, method: konbini}
  - confirm: true
expect:
  order: {status: awaiting_store_payment, total: 3200}
"""
FAILING = """\
name: expects-too-much
steps:
  - user: "hello"
expect:
  order: {status: paid}
"""


def invoke(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, ["run", *args])
    return result.exit_code, result.output


def test_exit_0_when_every_scenario_passes_and_the_reports_are_written(tmp_path: Path) -> None:
    (tmp_path / "ok.yaml").write_text(PASSING, encoding="utf-8")
    code, output = invoke(str(tmp_path / "ok.yaml"), "--jobs", "1", "--report",
                          str(tmp_path / "r.json"), "--html", str(tmp_path / "r.html"))
    assert code == 0, output
    assert "1/1 scenarios passed" in output and "konbini-by-widgets" in output
    report = json.loads((tmp_path / "r.json").read_text(encoding="utf-8"))
    assert report["summary"]["passed"] == 1 and report["summary"]["model"] == "offline"
    assert "konbini-by-widgets" in (tmp_path / "r.html").read_text(encoding="utf-8")


def test_exit_1_when_any_scenario_fails(tmp_path: Path) -> None:
    (tmp_path / "ok.yaml").write_text(PASSING, encoding="utf-8")
    (tmp_path / "bad.yaml").write_text(FAILING, encoding="utf-8")
    code, output = invoke(str(tmp_path), "--jobs", "1")
    assert code == 1, output
    assert "1/2 scenarios passed" in output and "FAIL" in output


def test_worker_processes_give_the_same_verdicts(tmp_path: Path) -> None:
    (tmp_path / "ok.yaml").write_text(PASSING, encoding="utf-8")
    (tmp_path / "bad.yaml").write_text(FAILING, encoding="utf-8")
    code, output = invoke(str(tmp_path), "--jobs", "2", "--report", str(tmp_path / "r.json"))
    assert code == 1, output
    report = json.loads((tmp_path / "r.json").read_text(encoding="utf-8"))
    assert {s["name"]: s["passed"] for s in report["scenarios"]} == {
        "expects-too-much": False, "konbini-by-widgets": True}
    assert report["summary"]["jobs"] == 2


def test_exit_2_for_invalid_scenarios_naming_the_problem(tmp_path: Path) -> None:
    (tmp_path / "broken.yaml").write_text("name: x\nsteps: [{usr: hi}]\n", encoding="utf-8")
    code, output = invoke(str(tmp_path / "broken.yaml"))
    assert code == 2
    assert "broken.yaml: x: steps[0]: each step is a mapping with exactly one of" in output


def test_exit_2_for_a_real_model_without_credentials(tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "CHATPAY_OPENAI_API_KEY",
                 "CHATPAY_OPENAI_BASE_URL"):
        monkeypatch.delenv(name, raising=False)
    (tmp_path / "ok.yaml").write_text(PASSING, encoding="utf-8")
    code, output = invoke(str(tmp_path / "ok.yaml"), "--model", "gpt-4o-mini")
    assert code == 2
    assert "OPENAI_API_KEY" in output


def test_exit_2_for_a_prompt_directory_without_prompts(tmp_path: Path) -> None:
    (tmp_path / "ok.yaml").write_text(PASSING, encoding="utf-8")
    (tmp_path / "empty").mkdir()
    code, output = invoke(str(tmp_path / "ok.yaml"), "--prompt-dir", str(tmp_path / "empty"))
    assert code == 2 and "lacks en/system.txt" in output
