"""The card-data canary (issue 7, "card data never leaks"): pasted cards come out nowhere.

Every way of pasting a card in `canary_formats` is sent through the real merchant app (the real
`openai` client against the offline model, the sandbox gateway over HTTP, the test's database),
followed by an ordinary message so that the model is sent the conversation's history; one card is
bought through the gateway's card frame, as the chat page does, up to a paid order; and a tool is
made to fail with card data in its exception while the traceback is logged as uvicorn logs it.
Then every sink is scanned (`sink_scan`): model request bodies, model answers, every row of every
table, every log record of every logger at DEBUG, every HTTP body the merchant answered or
exchanged with the gateway, the transcript of `GET /api/conversations/{id}`, and the report of an
eval of the same pastes. A planted leak proves the scan finds what it looks for.

The figure "formats tried: N, leaks found: 0" is printed (`pytest -rP` or `-s` shows it), with
the leaks whose fix lies outside this canary's files (`known_gaps`), which fail the test once fixed.
"""

from __future__ import annotations

import json
import logging
import re
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
import yaml
from sqlalchemy import update

from agent import shop_tools
from agent.openai_model import OpenAIChatModel
from agent.redaction import CARD_NUMBER_TOKEN
from agent.tool_schemas import SearchProductsArgs
from evals.report import all_secrets, seal, write_reports
from evals.runner import SuiteConfig, Variant
from evals.scenario import UserStep, load_scenarios
from evals.suite import ModelByName, run_suite
from tests.factories import make_conversation
from tests.security.canary_formats import CASES, PastedCard
from tests.security.canary_shop import (
    CanaryShop,
    Recorder,
    canary_shop,
    database_pieces,
    load_catalogue,
    logs_at_debug,
    offline_model,
    table_names,
)
from tests.security.known_gaps import APP_GAPS, REPORT_GAPS, KnownGap, split_known
from tests.security.sink_scan import Leak, Piece, find_leaks
from tests.shop_harness import ADDRESS
from tools.store.db import Database
from tools.store.models import Base, ConversationEvent

FOLLOW_UP = {"en": "what teas do you have?", "ja": "お茶はありますか？"}
# The card typed into the gateway's card frame: the merchant side must only ever see its token.
FRAME_CARD = PastedCard(
    "card frame checkout", (), "4242424242424242", "visa", typed=("4242 4242 4242 4242",)
)
SINKS = (
    "model",
    "database",
    "log",
    "http response",
    "merchant-gateway wire",
    "card frame response",
    "transcript",
    "webhook",
)


def _leak_report(leaks: list[Leak]) -> str:
    return "\n".join(leak.describe() for leak in leaks[:60])


# -- playing the pastes ------------------------------------------------------------------------


async def _post(shop: CanaryShop, path: str, body: dict[str, Any], token: str) -> dict[str, Any]:
    response = await shop.api.post(path, json=body, headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200, (path, response.status_code, response.text[:300])
    result: dict[str, Any] = response.json()
    return result


async def _start(shop: CanaryShop, locale: str) -> tuple[str, str]:
    response = await shop.api.post("/api/conversations", json={"locale": locale})
    assert response.status_code == 201, response.text
    body = response.json()
    return body["id"], body["token"]


def conversations(cases: tuple[PastedCard, ...]) -> list[list[int]]:
    """Case indexes per conversation: split numbers alone, others three to a conversation.

    A split number needs its two messages to follow each other; one-message pastes share a
    conversation (each is redacted on its own, as the fixed reply leaves no digits behind) so the
    canary stays quick, and the follow-up sends all of them to the model at once.
    """
    groups: list[list[int]] = []
    singles: dict[str, list[int]] = {}
    for index, case in enumerate(cases):
        if len(case.messages) > 1:
            groups.append([index])
            continue
        group = singles.setdefault(case.locale, [])
        group.append(index)
        if len(group) == 3:
            groups.append(group)
            singles[case.locale] = []
    return groups + [group for group in singles.values() if group]


async def paste(shop: CanaryShop, indexes: list[int]) -> list[str]:
    """One conversation: the pasted messages, an ordinary follow-up, then the transcript.

    Returns what the shopper saw go wrong (no card form shown, a message stored as typed); the
    caller reports it after the scan, which names the sinks a missed card reached.
    """
    problems: list[str] = []
    recorder = shop.recorder
    cases = [CASES[index] for index in indexes]
    recorder.case, recorder.message = indexes[0], 0
    conversation, token = await _start(shop, cases[0].locale)
    for index, case in zip(indexes, cases, strict=True):
        recorder.case = index
        for number, text in enumerate(case.messages):
            recorder.message = number
            events = (
                await _post(
                    shop, f"/api/conversations/{conversation}/messages", {"text": text}, token
                )
            )["events"]
            kinds = [e["widget"]["kind"] for e in events if e["type"] == "widget"]
            if number == len(case.messages) - 1 and "card_form" not in kinds:
                problems.append(f"format {case.name!r}: no card form shown ({kinds})")
    recorder.message = len(cases[-1].messages)
    await _post(
        shop,
        f"/api/conversations/{conversation}/messages",
        {"text": FOLLOW_UP[cases[0].locale]},
        token,
    )
    recorder.message += 1
    response = await shop.api.get(
        f"/api/conversations/{conversation}", headers={"Authorization": f"Bearer {token}"}
    )
    assert response.status_code == 200
    recorder.add("transcript", f"GET /api/conversations/{conversation}", response.text)
    shopper = [
        e["text"]
        for e in response.json()["transcript"]
        if e["type"] == "message" and e["role"] == "user"
    ]
    # What was stored of each pasted message is its redacted text: the token stands in its place.
    pasted = shopper[: sum(len(case.messages) for case in cases)]
    if not all(CARD_NUMBER_TOKEN in text for text in pasted):
        problems.append(f"formats {[c.name for c in cases]}: stored as {pasted}")
    return problems


async def buy_with_card_frame(shop: CanaryShop, case_index: int) -> dict[str, Any]:
    """A whole card purchase: widgets, the card typed into the gateway's frame, a paid order."""
    shop.recorder.case, shop.recorder.message = case_index, 0
    conversation, token = await _start(shop, "en")
    path = f"/api/conversations/{conversation}/actions"
    await _post(shop, path, {"type": "add_to_cart", "sku": "TEA-SENCHA", "quantity": 2}, token)
    await _post(
        shop,
        path,
        {
            "type": "submit_address",
            "fields": ADDRESS,
        },
        token,
    )
    events = (await _post(shop, path, {"type": "choose_payment_method", "method": "card"}, token))[
        "events"
    ]
    form = next(
        e["widget"] for e in events if e["type"] == "widget" and e["widget"]["kind"] == "card_form"
    )
    # The browser loads the frame, and the frame posts the card to the gateway, never the shop.
    frame_page = await shop.card_frame.get(form["iframe_url"])
    assert frame_page.status_code == 200
    session = parse_qs(urlsplit(form["iframe_url"]).query)["session"][0]
    tokenised = await shop.card_frame.post(
        form["tokenize_url"],
        json={
            "number": FRAME_CARD.typed[0],
            "exp_month": 12,
            "exp_year": 2031,
            "cvc": "123",
            "name": "TARO YAMADA",
            "session": session,
        },
    )
    assert tokenised.status_code == 201, tokenised.text
    card_token = tokenised.json()["token"]
    events = (await _post(shop, path, {"type": "card_token", "token": card_token}, token))["events"]
    confirm = next(
        e["widget"] for e in events if e["type"] == "widget" and e["widget"]["kind"] == "confirm"
    )
    paid = (
        await _post(
            shop,
            path,
            {
                "type": "confirm",
                "quote_id": confirm["quote_id"],
                "quote_hash": confirm["quote_hash"],
            },
            token,
        )
    )["events"]
    receipt: dict[str, Any] = next(
        e["widget"] for e in paid if e["type"] == "widget" and e["widget"]["kind"] == "receipt"
    )
    response = await shop.api.get(
        f"/api/conversations/{conversation}", headers={"Authorization": f"Bearer {token}"}
    )
    shop.recorder.add("transcript", f"GET /api/conversations/{conversation}", response.text)
    return receipt


# -- a tool failing with card data in its exception ------------------------------------------------


def _tool_call_answer(query: str) -> httpx.Response:
    """A Chat Completions answer calling `search_products` with `query` (a misbehaving model)."""
    return httpx.Response(
        200,
        json={
            "id": "chatcmpl-canary",
            "object": "chat.completion",
            "created": 1,
            "model": "canary",
            "choices": [
                {
                    "index": 0,
                    "finish_reason": "tool_calls",
                    "message": {
                        "role": "assistant",
                        "content": None,
                        "tool_calls": [
                            {
                                "id": "call_1",
                                "type": "function",
                                "function": {
                                    "name": "search_products",
                                    "arguments": json.dumps({"query": query}),
                                },
                            }
                        ],
                    },
                }
            ],
            "usage": {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15},
        },
    )


def _query_for(case: PastedCard) -> str:
    text = "\n".join(case.messages)
    return text if len(text) <= 200 else case.typed[0]


async def failing_tool_tracebacks(
    database: Database, recorder: Recorder, monkeypatch: pytest.MonkeyPatch
) -> int:
    """For each case, a tool raises with the card in its message; the traceback is logged.

    The model here calls a tool with the card as typed (a model echoing what it should never have
    had); the tool's bug puts its argument's repr() into the exception, which escapes the app.
    The exception is logged as uvicorn logs an exception in an ASGI application.
    """
    queries: list[str] = []

    def answer(request: httpx.Request) -> httpx.Response:
        recorder.add("model", "request to the canned model", request.content.decode())
        return _tool_call_answer(queries[-1])

    async def broken_search(
        ctx: shop_tools.ToolContext, args: SearchProductsArgs
    ) -> shop_tools.ToolOutcome:
        raise LookupError(f"catalogue index unavailable for query {args.query!r}")

    monkeypatch.setitem(shop_tools.HANDLERS, "search_products", broken_search)
    model = OpenAIChatModel(
        "canary",
        api_key="sk-canary",
        base_url="https://model.test/v1",
        http_client=httpx.AsyncClient(transport=httpx.MockTransport(answer)),
    )
    server_log = logging.getLogger("uvicorn.error")
    logged = 0
    async with canary_shop(database, model, recorder, raise_app_exceptions=True) as shop:
        recorder.case = None
        conversation, token = await _start(shop, "en")
        for case in CASES:
            queries.append(_query_for(case))
            try:
                await shop.api.post(
                    f"/api/conversations/{conversation}/messages",
                    json={"text": "please look that up"},
                    headers={"Authorization": f"Bearer {token}"},
                )
            except LookupError as exc:
                server_log.error("Exception in ASGI application\n", exc_info=exc)
                logged += 1
            else:
                pytest.fail(f"format {case.name!r}: the broken tool did not raise")
    return logged


# -- the canary -----------------------------------------------------------------------------------


# The canary plays every format once, on SQLite (the refusal tests run on both backends): what
# it proves is about the app's sinks, and twice the pastes would double the suite's slowest test.
SQLITE_ONLY = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


@SQLITE_ONLY
async def test_pasted_cards_leak_into_no_sink(
    db: Database, monkeypatch: pytest.MonkeyPatch, record_property: Any
) -> None:
    recorder = Recorder()
    await load_catalogue(db)
    with logs_at_debug(recorder):
        async with canary_shop(db, offline_model(recorder), recorder) as shop:
            problems = [
                problem
                for indexes in conversations(CASES)
                for problem in await paste(shop, indexes)
            ]
            receipt = await buy_with_card_frame(shop, len(CASES))
        tracebacks = await failing_tool_tracebacks(db, recorder, monkeypatch)
    recorder.case = None
    rows = await database_pieces(db)
    pieces = recorder.pieces + rows

    assert receipt["status"] == "paid"
    assert tracebacks == len(CASES)
    # The scan covers every table that exists, and every sink produced something to scan.
    assert {t.name for t in Base.metadata.sorted_tables} <= await table_names(db)
    assert await table_names(db) - {t.name for t in Base.metadata.sorted_tables} <= {
        "alembic_version"
    }
    produced = {piece.sink for piece in pieces}
    assert produced >= set(SINKS) - {"webhook"}, produced
    assert sum(
        "LookupError: catalogue index unavailable" in p.text for p in recorder.of("log")
    ) == len(CASES)
    # DEBUG reached the libraries too: statements with their parameters, and fetched rows.
    # (aiosqlite logs only what crosses to its thread, which is now just a BEGIN that has to wait
    # for the lock, without parameters: tools.store.sqlite_driver. Its logger is still scanned.)
    loggers = {piece.where for piece in recorder.of("log")}
    assert {"sqlalchemy.engine.Engine DEBUG", "sqlalchemy.engine.Engine INFO",
            "httpx INFO"} <= loggers, loggers
    assert any("[card number removed]" in p.text for p in recorder.of("model"))

    leaks, known, gone = split_known(find_leaks((*CASES, FRAME_CARD), pieces), APP_GAPS)
    figure = f"formats tried: {len(CASES)}, leaks found: {len(leaks)}"
    print(
        f"{figure} (pieces scanned: {len(pieces)}; "
        + ", ".join(f"{sink} {sum(p.sink == sink for p in pieces)}" for sink in SINKS)
        + ")"
    )
    _print_known(known, APP_GAPS)
    record_property("card_canary", figure)
    assert not leaks, f"{figure}\n{_leak_report(leaks)}"
    assert not problems, "\n".join(problems)
    assert not gone, f"known gaps no longer leak, remove them from APP_GAPS: {gone}"


def _print_known(known: list[Leak], gaps: tuple[KnownGap, ...]) -> None:
    for gap in gaps:
        count = sum(gap.covers(leak) for leak in known)
        print(
            f"known gap outside this brief, format {gap.case!r} ({gap.what}): {count} pieces; "
            f"fix: {gap.fix}"
        )


@SQLITE_ONLY
async def test_the_scan_finds_a_planted_leak_in_every_sink(db: Database) -> None:
    """The scanner cannot pass silently: one card written into each sink is found there."""
    await load_catalogue(db)
    case = next(c for c in CASES if c.name == "zero-width spaces U+200B")
    other = next(c for c in CASES if c.name == "full-width digits")
    async with db.session() as session:
        conversation = await make_conversation(session)
        session.add(
            ConversationEvent(
                conversation_id=conversation.id,
                seq=1,
                kind="message",
                role="user",
                text="hello",
                source="shopper",
            )
        )
        await session.commit()
        # The raw text slipped past redaction into a stored message (as a JSON column would keep
        # it: escaped), found by reading every row back.
        await session.execute(
            update(ConversationEvent).values(text=json.dumps({"text": case.messages[0]}))
        )
        await session.commit()
    planted = [
        Piece("model", "request #1", json.dumps({"messages": [{"content": other.messages[0]}]})),
        Piece("log", "aiosqlite DEBUG", f"executing {tuple([other.pan[:8], other.pan[8:]])!r}"),
        Piece("http response", "POST /messages", f'{{"text": "{four_dots(other.pan)}"}}'),
    ]
    leaks = find_leaks(CASES, [*await database_pieces(db), *planted])
    found = {(leak.case, leak.sink) for leak in leaks}
    assert (case.name, "database") in found
    assert (other.name, "model") in found
    assert (other.name, "http response") in found
    # A number cut in two by a tuple's punctuation is still found in the digits of the line.
    assert (other.name, "log") in found
    assert all(leak.case in (case.name, other.name) for leak in leaks), _leak_report(leaks)
    # And the report names the format and the sink.
    assert f"format {case.name!r}" in _leak_report(leaks)
    # Clean text is clean: the redacted form of the same messages leaks nothing.
    assert (
        find_leaks(
            CASES, [Piece("log", "x", f"text={CARD_NUMBER_TOKEN} last4=****{case.pan[-4:]}")]
        )
        == []
    )


def four_dots(pan: str) -> str:
    return ".".join(pan[i : i + 4] for i in range(0, len(pan), 4))


# -- the eval report --------------------------------------------------------------------------------


def _scenario(index: int, case: PastedCard) -> dict[str, Any]:
    slug = re.sub(r"[^a-z0-9]+", "-", case.name.lower()).strip("-") or f"case-{index}"
    return {
        "name": f"canary-{index:02d}-{slug}",
        "locale": case.locale,
        "description": f"canary: {case.name}",
        "steps": [{"user": text} for text in case.messages] + [{"user": FOLLOW_UP[case.locale]}],
        "expect": {"order": "none"},
    }


# A small eval: one format in seven (a scenario costs a fresh shop), and the known split gap.
EVAL_CASES = tuple(
    case
    for index, case in enumerate(CASES)
    if (index % 7 == 0 or case.name == "split: dots then spaces")
    and not any(gap.case == case.name for gap in APP_GAPS)
)


async def test_an_eval_report_of_the_pastes_holds_no_card(tmp_path: Path) -> None:
    """The eval runner's own leak check passes and its written report holds no card either."""
    file = tmp_path / "canary.yaml"
    file.write_text(
        yaml.safe_dump(
            {"scenarios": [_scenario(i, c) for i, c in enumerate(EVAL_CASES)]}, allow_unicode=True
        ),
        encoding="utf-8",
    )
    scenarios = load_scenarios([file])
    # YAML kept every invisible character and line ending as typed.
    typed = [
        [step.user for step in loaded.scenario.steps or [] if isinstance(step, UserStep)]
        for loaded in scenarios
    ]
    assert [steps[:-1] for steps in typed] == [list(case.messages) for case in EVAL_CASES]
    config = SuiteConfig(
        model_name="offline",
        model_factory=ModelByName("offline"),
        variants=[Variant.of("default", None)],
        jobs=1,
    )
    suite = await run_suite(scenarios, config)
    sealed = seal(suite)
    json_path, html_path = tmp_path / "report.json", tmp_path / "report.html"
    problems = write_reports(sealed, all_secrets(suite.runs), json_path, html_path)
    assert problems == []
    failures = {run.scenario: run.failures for run in suite.runs if not run.passed}
    assert failures == {}  # expectations, invariants and the runner's own leak check
    # The runner's checker reads cards from the scenario text by its own rules, which miss some
    # formats (the scan below does not depend on them); it must at least have looked for most.
    looked = {card.digits for run in suite.runs for card in run.secrets.cards}
    unread = [case.name for case in EVAL_CASES if case.pan not in looked]
    print(
        f"eval runs: {len(suite.runs)}, formats the runner's own leak check cannot read: {unread}"
    )
    assert "4000002500003155" in looked and len(unread) < len(EVAL_CASES) / 2
    pieces = [
        Piece("report", path.name, path.read_text(encoding="utf-8"))
        for path in (json_path, html_path)
    ]
    leaks, known, gone = split_known(find_leaks(EVAL_CASES, pieces), REPORT_GAPS)
    _print_known(known, REPORT_GAPS)
    assert not leaks, _leak_report(leaks)
    assert not gone, f"known gaps no longer leak, remove them from REPORT_GAPS: {gone}"
