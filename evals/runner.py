"""The scenario runner: each run in its own shop, steps or a simulated shopper, then the verdict.

This module only houses orchestration: building a run's shop and model, playing the scenario,
gathering what it left behind (`Observation`, the leak-check sinks) and judging it with
`evals.checks` and `evals.leaks`. Every (prompt variant, scenario, repeat) is one run; runs are
isolated (`evals.shop`), so their order does not matter (`evals.suite` runs many at once).

The model of a run is wrapped in a `RecordingModel`, so the request a provider would receive is
what the leak check and the token figures see. Log records are captured at DEBUG while runs go
(`evals.capture.LogCapture`).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from agent.model import Model
from evals.browser import Browser, Entry, StepFailed
from evals.capture import LogCapture, RecordingModel
from evals.checks import (
    Observation,
    check_expectations,
    check_invariants,
    expects_purchase,
    order_failures,
)
from evals.leaks import Leak, Secrets, mask, secrets_of
from evals.scenario import (
    ActionStep,
    CardStep,
    ConfirmStep,
    LoadedScenario,
    SettleScreeningStep,
    Step,
    StorePayStep,
    ThreeDSStep,
    UserStep,
)
from evals.shop import DatabaseTemplate, Shop, open_shop
from evals.shopper import ModelPhraser, Phraser, SimulatedShopper, TemplatePhraser
from evals.sinks import database_rows, mask_entry, scan_pieces
from prompts import load_prompts
from tools.store.models import Order

log = logging.getLogger(__name__)

ModelFactory = Callable[[], Model]
RUN_TIMEOUT_S = 600.0  # a hung endpoint must not hang the suite


@dataclass(frozen=True)
class Variant:
    """A prompt directory under test (two of them for an A/B comparison)."""

    label: str
    prompt_dir: Path | None
    prompt_hash: str

    @classmethod
    def of(cls, label: str, prompt_dir: Path | None) -> Variant:
        """Raises FileNotFoundError when the directory lacks a prompt file."""
        return cls(label, prompt_dir, load_prompts(prompt_dir).hash)


@dataclass
class SuiteConfig:
    model_name: str
    model_factory: ModelFactory
    variants: Sequence[Variant]
    repeat: int = 1
    jobs: int = 1
    shopper_model_factory: ModelFactory | None = None


@dataclass
class RunResult:
    """One run of one scenario under one prompt variant."""

    scenario: str
    variant: str
    attempt: int  # 1..repeat
    passed: bool
    failures: list[str]
    leaks: list[Leak]
    user_turns: int
    model_calls: int
    prompt_tokens: int
    completion_tokens: int
    tokens_counted: bool  # some figures were counted offline (the model reported none)
    tool_calls: list[str]
    order: dict[str, Any] | None
    transcript: list[Entry]  # masked: safe to publish
    wall_s: float
    completed: bool | None = None  # the expected purchase happened (None: none expected)
    secrets: Secrets = field(repr=False, default_factory=Secrets)

    def fail(self, reason: str) -> None:
        self.failures.append(reason)
        self.passed = False


@dataclass
class SuiteResult:
    config: SuiteConfig
    scenarios: list[LoadedScenario]
    runs: list[RunResult]
    wall_s: float


# -- playing a scenario -----------------------------------------------------------------------


async def play_steps(browser: Browser, steps: Sequence[Step]) -> None:
    """Carry out scripted steps in order; raises StepFailed naming the step that could not."""
    for index, step in enumerate(steps):
        browser.step = index
        try:
            if isinstance(step, UserStep):
                await browser.say(step.user)
            elif isinstance(step, CardStep):
                await browser.enter_card(step.card)
            elif isinstance(step, ConfirmStep):
                await browser.press_pay()
            elif isinstance(step, ThreeDSStep):
                await browser.complete_threeds(step.threeds.code)
            elif isinstance(step, ActionStep):
                await browser.act(step.action)
            elif isinstance(step, StorePayStep):
                await browser.store_pay()
            elif isinstance(step, SettleScreeningStep):
                await browser.settle_screening(step.settle_screening)
        except StepFailed as exc:
            raise StepFailed(f"steps[{index}]: {exc}") from None
    browser.step = None


async def _orders(shop: Shop, conversation_id: str) -> list[dict[str, Any]]:
    async with shop.database.session() as session:
        rows = await session.scalars(
            select(Order).options(selectinload(Order.lines))
            .where(Order.conversation_id == conversation_id).order_by(Order.created_at))
        return [{"id": o.id, "status": o.status, "payment_method": o.payment_method,
                 "total": o.total, "subtotal": o.subtotal, "shipping_fee": o.shipping_fee,
                 "payment_fee": o.payment_fee,
                 "lines": [{"sku": li.sku, "quantity": li.quantity, "unit_price": li.unit_price,
                            "line_total": li.line_total} for li in o.lines]}
                for o in rows]


def _phraser(loaded: LoadedScenario, shopper_model: Model | None) -> Phraser:
    goal = loaded.scenario.goal
    assert goal is not None  # noqa: S101 - only goal scenarios have a shopper
    if shopper_model is not None:
        return ModelPhraser(shopper_model, goal, loaded.scenario.locale, loaded.catalog)
    return TemplatePhraser(loaded.scenario.locale, goal.phrasing.style)


async def _close(model: Model) -> None:
    aclose = getattr(model, "aclose", None)
    if aclose is not None:
        await aclose()


@dataclass
class _Played:
    """What one run left behind, gathered before its shop is torn down."""

    browser: Browser | None = None
    orders: list[dict[str, Any]] = field(default_factory=list)
    charges: list[dict[str, Any]] = field(default_factory=list)
    rows: list[tuple[str, str]] = field(default_factory=list)
    step_failure: str | None = None
    notes: list[str] = field(default_factory=list)


async def _play(loaded: LoadedScenario, variant: Variant, template: DatabaseTemplate,
                model: RecordingModel, shopper_model: RecordingModel | None,
                played: _Played) -> None:
    """Play the scenario in a fresh shop and gather the shop's state before it is removed."""
    scenario = loaded.scenario
    async with open_shop(template, loaded.catalog, model, variant.prompt_dir) as shop:
        browser = played.browser = Browser(shop, locale=scenario.locale)
        try:
            async with asyncio.timeout(RUN_TIMEOUT_S):
                await browser.start()
                if scenario.steps is not None:
                    await play_steps(browser, scenario.steps)
                else:
                    assert scenario.goal is not None  # noqa: S101 - steps xor goal
                    shopper = SimulatedShopper(scenario.goal, scenario.locale, loaded.catalog,
                                               _phraser(loaded, shopper_model))
                    try:
                        await shopper.run(browser)
                    finally:
                        played.notes += shopper.notes
        except StepFailed as exc:
            played.step_failure = str(exc)
        except TimeoutError:
            played.step_failure = f"the run took longer than {RUN_TIMEOUT_S:.0f} s"
        except Exception as exc:  # noqa: BLE001 - a crash fails this run, not the suite
            log.warning("run %s crashed", scenario.name, exc_info=True)
            played.step_failure = f"runner error: {type(exc).__name__}: {exc}"
        browser.step = None  # what follows is the state after the run
        if browser.conversation_id:
            await browser.state()
            played.orders = await _orders(shop, browser.conversation_id)
        played.charges = (await shop.gateway.get("/sandbox/charges")).json().get("data", [])
        played.rows = await asyncio.to_thread(lambda: list(database_rows(shop.database_path)))


async def run_scenario(loaded: LoadedScenario, variant: Variant, attempt: int,
                       config: SuiteConfig, template: DatabaseTemplate,
                       capture: LogCapture) -> RunResult:
    """One isolated run of one scenario, judged."""
    started = time.perf_counter()
    played = _Played()
    model = RecordingModel(config.model_factory(), step_of=lambda: (
        played.browser.step if played.browser is not None else None))
    shopper_model = (RecordingModel(config.shopper_model_factory())
                     if config.shopper_model_factory and loaded.scenario.goal else None)
    with capture.run() as log_lines:
        try:
            await _play(loaded, variant, template, model, shopper_model, played)
        except Exception as exc:  # noqa: BLE001 - the shop itself could not be set up
            log.warning("run %s could not start", loaded.name, exc_info=True)
            played.step_failure = f"the shop could not be set up: {type(exc).__name__}: {exc}"
        finally:
            await _close(model.inner)
            if shopper_model is not None:
                await _close(shopper_model.inner)
    return _judge(loaded, variant, attempt, played, model, shopper_model, log_lines,
                  time.perf_counter() - started)


def _judge(loaded: LoadedScenario, variant: Variant, attempt: int, played: _Played,
           model: RecordingModel, shopper_model: RecordingModel | None, log_lines: list[str],
           wall_s: float) -> RunResult:
    """The verdict of a run: expectations, invariants and the leak check over every sink."""
    scenario = loaded.scenario
    secrets = secrets_of(scenario)
    browser = played.browser
    errors = browser.errors if browser else []
    observed = Observation(
        assistant_texts=browser.assistant_texts if browser else [],
        tool_calls=[name for exchange in model.exchanges for name in exchange.tool_names],
        error_codes=[error.code for error in errors],
        server_errors=[f"HTTP {e.status} {e.code}: {e.message}" for e in errors
                       if e.status >= 500],
        orders=played.orders, charges=played.charges,
        user_turns=browser.user_turns if browser else 0,
        step_failure=played.step_failure, notes=played.notes)
    failures = check_invariants(loaded.catalog, observed) + check_expectations(scenario, observed)
    exchanges = model.exchanges + (shopper_model.exchanges if shopper_model else [])
    responses = browser.raw_responses if browser else []
    leaks = (scan_pieces(secrets, "model_request",
                         [(f"request #{n}", e.request_json(), e.step)
                          for n, e in enumerate(exchanges, 1)])
             + scan_pieces(secrets, "database", [(where, text, None) for where, text in played.rows])
             # When a log line was written is not tracked: 0 ("before any step") keeps the parts
             # of a split card number, known only from its second message, out of this search.
             + scan_pieces(secrets, "log", [(line.split(" ", 1)[0], line, 0) for line in log_lines])
             + scan_pieces(secrets, "transcript", [(f"API response #{n}", text, step)
                                                   for n, (step, text) in enumerate(responses, 1)]))
    failures += [f"leak: {leak.describe()}" for leak in leaks]
    prompt_tokens = completion_tokens = 0
    counted = False
    for exchange in model.exchanges:
        prompt, completion, was_counted = exchange.tokens()
        prompt_tokens, completion_tokens = prompt_tokens + prompt, completion_tokens + completion
        counted = counted or was_counted
    transcript = [mask_entry(entry, secrets) for entry in (browser.transcript if browser else [])]
    transcript += [{"role": "system", "type": "note", "text": mask(note, secrets)}
                   for note in played.notes]
    return RunResult(
        scenario=scenario.name, variant=variant.label, attempt=attempt, passed=not failures,
        failures=[mask(failure, secrets) for failure in failures], leaks=leaks,
        user_turns=observed.user_turns,
        model_calls=sum(1 for e in model.exchanges if e.error is None),
        prompt_tokens=prompt_tokens, completion_tokens=completion_tokens, tokens_counted=counted,
        tool_calls=observed.tool_calls,
        order=mask_entry(observed.order, secrets) if observed.order else None,
        transcript=transcript, wall_s=round(wall_s, 3),
        completed=(not order_failures(scenario, observed)) if expects_purchase(scenario) else None,
        secrets=secrets)
