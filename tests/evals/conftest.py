"""Helpers for the eval-suite tests: small scenarios, a suite runner with the model each test picks."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from agent.model import Model
from evals.runner import SuiteConfig, SuiteResult, Variant
from evals.scenario import LoadedScenario, scenario_from_data
from evals.suite import run_suite

ADDRESS = {"name": "Taro Yamada", "postal_code": "150-0002", "line1": "2-21-1",
           "phone": "090-1234-5678", "email": "taro@example.com"}
CARD = {"number": "4242 4242 4242 4242", "exp": "12/30", "cvc": "123"}


def scenario(**fields: Any) -> LoadedScenario:
    """A validated scenario from keyword fields (name defaults to "test")."""
    return scenario_from_data({"name": "test", **fields})


def widget_purchase(method: str = "konbini", **extra: Any) -> LoadedScenario:
    """A purchase made with widgets only (no model needed), plus whatever `extra` adds."""
    steps: list[dict[str, Any]] = [
        {"action": {"type": "add_to_cart", "sku": "TEA-SENCHA", "quantity": 2}},
        {"action": {"type": "checkout"}},
        {"action": {"type": "submit_address", "fields": ADDRESS}},
        {"action": {"type": "choose_payment_method", "method": method}},
    ]
    if method == "card":
        steps.append({"card": CARD})
    steps.append({"confirm": True})
    return scenario(steps=steps, **extra)


async def run(scenarios: list[LoadedScenario], model: Callable[[], Model], *, repeat: int = 1,
              variants: list[Variant] | None = None) -> SuiteResult:
    """Run scenarios in this process (test models are not picklable) and return the suite."""
    config = SuiteConfig(model_name="test", model_factory=model,
                         variants=variants or [Variant.of("default", None)], repeat=repeat,
                         jobs=1)
    return await run_suite(scenarios, config)
