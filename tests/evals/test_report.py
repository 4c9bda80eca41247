"""The report: the JSON shape of the issue, prompt variants side by side, an HTML page people read."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from agent.testing import FailingModel
from evals.report import all_secrets, render_html, report_json, seal, write_reports
from evals.runner import Variant
from prompts import SHIPPED_DIR
from tests.evals.conftest import run, scenario, widget_purchase

SUMMARY_KEYS = {"scenarios", "runs", "passed", "failed", "pass_rate", "completion_rate",
                "pass_hat_k", "user_turns", "model_calls", "prompt_tokens", "completion_tokens",
                "tokens_counted_offline", "tokenizer", "leaks", "wall_s", "model",
                "prompt_hashes", "repeat", "jobs"}
SCENARIO_KEYS = {"name", "variant", "description", "locale", "tags", "source", "passed",
                 "passes", "runs", "failures", "user_turns", "model_calls", "tokens", "order",
                 "transcript", "attempts"}


async def test_the_json_report_has_the_summary_and_scenarios_of_the_issue() -> None:
    bought = widget_purchase("card", name="bought", description="buys <b>tea</b>",
                             expect={"order": {"status": "paid"}})
    browsed = scenario(name="browsed", steps=[{"user": "<script>alert(1)</script> tea?"}],
                       expect={"order": "none", "assistant_says": ["never said"]})
    suite = await run([bought, browsed], FailingModel, repeat=2)
    report = json.loads(report_json(seal(suite)))
    summary = report["summary"]
    assert set(summary) == SUMMARY_KEYS
    assert (summary["scenarios"], summary["runs"], summary["passed"], summary["failed"]) == (
        2, 4, 1, 1)
    assert summary["pass_hat_k"] == {"1": 0.5, "2": 0.5}
    assert summary["completion_rate"] == 1.0  # only "bought" expects a purchase; it made it
    assert summary["model"] == "test" and summary["leaks"] == 0
    assert list(summary["prompt_hashes"]) == ["default"]
    [first, second] = report["scenarios"]
    assert set(first) == SCENARIO_KEYS
    assert (first["name"], first["passed"], first["passes"], first["runs"]) == ("bought", True,
                                                                               2, 2)
    assert first["order"]["status"] == "paid" and first["tokens"]["prompt"] == 0
    assert second["failures"] == ["run 1: no assistant message matches 'never said'",
                                  "run 2: no assistant message matches 'never said'"]
    assert "4242424242424242" not in json.dumps(report)


async def test_the_html_page_shows_summary_scenarios_and_escaped_transcripts(
        tmp_path: Path) -> None:
    bought = widget_purchase("card", name="bought", description="buys <b>tea</b>")
    browsed = scenario(name="browsed", steps=[{"user": "<script>alert(1)</script> tea?"}],
                       expect={"order": "none"})
    suite = await run([bought, browsed], FailingModel)
    report = seal(suite)
    problems = write_reports(report, all_secrets(suite.runs), tmp_path / "r.json",
                             tmp_path / "out" / "r.html")
    assert problems == []
    page = (tmp_path / "out" / "r.html").read_text(encoding="utf-8")
    assert json.loads((tmp_path / "r.json").read_text(encoding="utf-8")) == json.loads(
        report_json(report))
    assert "<h2>Summary</h2>" in page and "<h2>Scenarios</h2>" in page
    assert page.count("href='#s") == 2 and "bought" in page and "browsed" in page
    # What each side said, widgets included, with the shopper's markup shown, not run.
    assert "&lt;script&gt;alert(1)&lt;/script&gt; tea?" in page
    assert "<script>alert" not in page and "<b>tea</b>" not in page
    assert "buys &lt;b&gt;tea&lt;/b&gt;" in page
    assert "entered visa ****4242 in the card frame" in page
    assert "class=\"msg widget\"><span class=\"k\">receipt</span>" in page
    assert "Pay button" in page  # the confirmation widget, described


async def test_two_prompt_directories_are_compared_side_by_side(tmp_path: Path) -> None:
    variant_b = tmp_path / "prompts-b"
    shutil.copytree(SHIPPED_DIR, variant_b, ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    system = variant_b / "en" / "system.txt"
    system.write_text(system.read_text(encoding="utf-8") + "\nBe brief.\n", encoding="utf-8")
    variants = [Variant.of("A", None), Variant.of("B", variant_b)]
    assert variants[0].prompt_hash != variants[1].prompt_hash
    suite = await run([widget_purchase()], FailingModel, variants=variants)
    report = seal(suite)
    assert [v["label"] for v in report["variants"]] == ["A", "B"]
    assert report["summary"]["prompt_hashes"] == {"A": variants[0].prompt_hash,
                                                  "B": variants[1].prompt_hash}
    assert [(s["name"], s["variant"]) for s in report["scenarios"]] == [("test", "A"),
                                                                        ("test", "B")]
    page = render_html(report)
    assert "<h2>Prompt variants</h2>" in page and variants[1].prompt_hash[:12] in page
