"""The leak check: what counts as a secret, and a planted leak is caught in every sink.

The check must be able to fail: each sink test plants a card number or a security code where it
must never be and asserts the finding; the end-to-end test turns the system's own redaction off
and watches the runner fail the scenario.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import threading
from pathlib import Path

import pytest

import agent.turn
from agent.redaction import PairRedaction, Redaction
from agent.testing import FunctionModel, text
from evals.capture import LogCapture, RecordingModel
from evals.leaks import (
    CardSecret,
    CodeSecret,
    Secrets,
    find_leaks,
    mask,
    secrets_of,
)
from evals.report import all_secrets, report_json, seal
from evals.runner import RunResult, SuiteConfig, SuiteResult, Variant
from evals.sinks import database_rows, scan_pieces
from tests.evals.conftest import run, scenario

CARD = "4242424242424242"
SECRETS = Secrets(cards=(CardSecret(CARD, "steps[3].card"),),
                  codes=(CodeSecret("123", "steps[3].card"),))


# -- what counts as a secret --------------------------------------------------------------------


def test_secrets_come_from_card_steps_typed_cards_and_split_cards() -> None:
    loaded = scenario(steps=[
        {"card": {"number": "5555 5555 5555 4444", "exp": "12/30", "cvc": "321"}},
        {"user": "my card is ４２４２ ４２４２-4242.4242 exp 12/30 cvc 789"},
        {"user": "I want 123 pens; call 090-1234-5678 after 12/30"},
        {"user": "the amex is 3782 822463 10005, 05/2030, code 1234"},
        {"user": "and another: 4000 0025"},
        {"user": "0000 3155 thanks"},
    ])
    secrets = secrets_of(loaded.scenario)
    cards = {card.digits: card for card in secrets.cards}
    assert {"5555555555554444", CARD, "378282246310005", "4000002500003155"} <= set(cards)
    assert {"40000025", "00003155"} <= set(cards)  # the two halves of the split number
    assert cards["4000002500003155"].complete_at == 5  # known as a card from its second half
    # The codes: of the card step, after "cvc", and after the Amex number; not the pens' 123,
    # the phone number, the date, or the groups of a card number.
    assert {code.code for code in secrets.codes} == {"321", "789", "1234"}


@pytest.mark.parametrize("written", [
    "4242424242424242", "4242 4242 4242 4242", "4242-4242-4242-4242", "4242.4242.4242.4242",
    "42424242 42424242", "４２４２４２４２４２４２４２４２", "4242\u200b4242\u200b4242\u200b4242",
    json.dumps({"text": "４２４２ ４２４２ ４２４２ ４２４２"}),  # escaped, as JSON columns store it
])
def test_a_card_number_is_found_however_it_is_written(written: str) -> None:
    [leak] = find_leaks(SECRETS, "log", "line", f"shopper said {written} ok")
    assert leak.kind == "card_number" and leak.secret == "****4242"


@pytest.mark.parametrize(("sink_text", "leaks"), [
    ("total ¥1,230 for 123 pens", 0),          # a bare 123 is a quantity, not a code
    ("order #123 is paid", 0),
    ("123456 was the one-time code", 0),       # part of a longer number
    ("cvc 123", 1),
    ('{"cvc": "123"}', 1),
    ("123 is my security code", 1),
    ("[card number removed] 12/30 123", 1),    # right after a removed number
    ("セキュリティコードは１２３です", 1),
])
def test_a_security_code_counts_only_in_card_context(sink_text: str, leaks: int) -> None:
    found = find_leaks(SECRETS, "log", "line", sink_text)
    assert len(found) == leaks
    assert all(leak.kind == "security_code" for leak in found)


def test_masking_removes_every_secret_and_keeps_the_rest() -> None:
    said = "card 4242 4242 4242 4242, cvc 123. Also, please add the pack of 123 pens"
    masked = mask(said, SECRETS)
    assert masked == ("card [card ****4242], cvc [security code]. Also, please add the pack of "
                      "123 pens")  # the second 123 is over 30 characters from any card word
    assert not find_leaks(SECRETS, "report", "", masked)


# -- each sink, planted -------------------------------------------------------------------------


async def test_a_planted_leak_in_a_model_request_is_caught() -> None:
    recorder = RecordingModel(FunctionModel(lambda messages, tools: text("ok")))
    await recorder.request([{"role": "user", "content": f"my card {CARD}"}], [])
    pieces = [(f"request #{n}", e.request_json(), e.step)
              for n, e in enumerate(recorder.exchanges, 1)]
    [leak] = scan_pieces(SECRETS, "model_request", pieces)
    assert (leak.sink, leak.where, leak.kind) == ("model_request", "request #1", "card_number")


def test_a_planted_leak_in_a_database_row_is_caught(tmp_path: Path) -> None:
    path = tmp_path / "run.db"
    with sqlite3.connect(path) as connection:
        connection.execute("CREATE TABLE notes (id INTEGER, body TEXT, extra BLOB)")
        connection.execute("INSERT INTO notes VALUES (1, 'nothing here', NULL)")
        connection.execute("INSERT INTO notes VALUES (2, 'fine', ?)",
                           (json.dumps({"security_code": "123"}).encode(),))
        connection.execute("INSERT INTO notes VALUES (3, ?, NULL)",
                           (json.dumps({"t": "4242 4242 4242 4242"}, ensure_ascii=True),))
    rows = [(where, row, None) for where, row in database_rows(path)]
    found = {(leak.where, leak.kind) for leak in scan_pieces(SECRETS, "database", rows)}
    assert found == {("notes row 2", "security_code"), ("notes row 3", "card_number")}


def _planted(capture: LogCapture, message: str, *args: object) -> None:
    # Built by hand and given to the capture directly: neither the system's redacting record
    # factory nor a redacting filter on another handler (they rewrite the shared record) runs,
    # as for a record some code formats and writes on its own.
    record = logging.LogRecord("tests.evals.planted", logging.DEBUG, __file__, 1, message, args,
                               None)
    capture.handle(record)


async def test_a_planted_leak_in_a_log_line_is_caught_even_from_another_thread() -> None:
    capture = LogCapture()
    level = logging.getLogger().level
    with capture.installed(), capture.run() as lines:
        assert logging.getLogger().level == logging.DEBUG  # every record, DEBUG included
        _planted(capture, "charging card %s", CARD)
        worker = threading.Thread(target=_planted, args=(capture, "retry with cvc %s", "123"))
        worker.start()
        worker.join()
    found = scan_pieces(SECRETS, "log", [(line.split(" ", 1)[0], line, 0) for line in lines])
    assert {(leak.where, leak.kind) for leak in found} == {
        ("tests.evals.planted", "card_number"), ("tests.evals.planted", "security_code")}
    assert capture not in logging.getLogger().handlers
    assert logging.getLogger().level == level


def test_a_planted_leak_in_a_transcript_is_caught() -> None:
    response = json.dumps({"events": [{"type": "message", "role": "assistant",
                                       "text": "Your card 4242-4242-4242-4242 is saved"}]})
    [leak] = scan_pieces(SECRETS, "transcript", [("API response #3", response, 2)])
    assert leak.sink == "transcript" and leak.where == "API response #3"


def _suite_with(failure: str) -> SuiteResult:
    loaded = scenario(steps=[{"user": "hi"}])
    result = RunResult(
        scenario="test", variant="default", attempt=1, passed=True, failures=[failure] if
        failure else [], leaks=[], user_turns=1, model_calls=1, prompt_tokens=10,
        completion_tokens=2, tokens_counted=True, tool_calls=[], order=None,
        transcript=[{"role": "assistant", "type": "message", "text": "hello"}], wall_s=0.1,
        secrets=SECRETS)
    config = SuiteConfig(model_name="test", model_factory=lambda: FunctionModel(
        lambda m, t: text("x")), variants=[Variant("default", None, "0" * 64)])
    return SuiteResult(config=config, scenarios=[loaded], runs=[result], wall_s=0.1)


def test_a_planted_leak_in_the_report_fails_the_scenario_and_is_masked() -> None:
    # A failure reason that quotes the number: something put it into the report itself.
    suite = _suite_with(f"assistant said 'charged {CARD}'")
    report = seal(suite)
    [run_result] = suite.runs
    assert not run_result.passed
    assert [leak.sink for leak in run_result.leaks] == ["report"]
    assert report["summary"]["failed"] == 1 and report["summary"]["leaks"] == 1
    written = report_json(report)
    assert CARD not in written and not find_leaks(all_secrets(suite.runs), "report", "", written)


def test_a_clean_report_passes() -> None:
    suite = _suite_with("")
    report = seal(suite)
    assert suite.runs[0].passed and report["summary"]["leaks"] == 0


# -- end to end: the check fails a run when the system leaks -------------------------------------

PASTED = scenario(steps=[{"user": "one sencha please"},
                         {"user": f"my card is {CARD} exp 12/30 cvc 123"}],
                  expect={"order": "none"})


def _model() -> FunctionModel:
    return FunctionModel(lambda messages, tools: text("Happy to help."))


async def test_with_the_systems_redaction_the_pasted_card_run_passes() -> None:
    suite = await run([PASTED], _model)
    [result] = suite.runs
    assert result.passed, result.failures
    assert CARD not in json.dumps(result.transcript)  # the report's copy is masked


async def test_without_the_systems_redaction_the_runner_reports_the_leaks(
        monkeypatch: pytest.MonkeyPatch) -> None:
    def no_redaction(previous: str, current: str) -> PairRedaction:
        return PairRedaction(Redaction(previous), Redaction(current), split_card=False,
                             previous_changed=False)

    monkeypatch.setattr(agent.turn, "redact_pair", no_redaction)
    suite = await run([PASTED], _model)
    [result] = suite.runs
    assert not result.passed
    sinks = {leak.sink for leak in result.leaks}
    # Log lines stay clean: the system's redacting log filter is a separate layer.
    assert {"model_request", "database", "transcript"} <= sinks
    assert {leak.kind for leak in result.leaks} == {"card_number", "security_code"}
    assert all(CARD not in failure for failure in result.failures)
