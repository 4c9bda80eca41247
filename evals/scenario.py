"""The scenario file format: what a scripted or goal-driven conversation does and what it must achieve.

This module only houses the schema (pydantic models) and loading: YAML files holding one scenario,
or a list under `scenarios:`, found in files or folders. Every problem is reported with the file,
the scenario and the field (`evals/scenarios/x.yaml: card-two-teas: steps[3].card.exp: ...`), and
all problems of all files are reported at once, so a suite with three typos needs one fix-up round.

A scenario has either `steps:` (the shopper's exact moves) or `goal:` (what the simulated shopper in
`evals.shopper` wants: items, address, payment method, card, phrasing hints). The `catalog:` is
parsed here with the catalogue loader, so a bad inline product fails at load time, not mid-run.

Beyond the format of the issue (all optional, so files written to it load unchanged): `tags`;
step kinds `store_pay: true` (pay the latest convenience-store slip at the store) and
`settle_screening: approved|rejected` (finish a deferred-payment screening left in review), both
followed by the sandbox's signed webhook; `$kind.field` in an action's values (a field of the
latest widget of that kind, e.g. `quote_id: $confirm.quote_id`); and `expect.tool_not_called`
and `expect.errors` (API error codes that must occur, e.g. `quote_mismatch`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_core import ErrorDetails

from agent.tool_schemas import TOOL_ARGS
from tools.catalog.loader import (
    CatalogFormatError,
    load_demo_entries,
    parse_catalog,
    read_catalog_file,
)
from tools.catalog.schema import CatalogEntry

Locale = Literal["en", "ja"]
PaymentMethod = Literal["card", "after_delivery", "konbini"]
SCENARIO_SUFFIXES = (".yaml", ".yml")


class _Strict(BaseModel):
    # Unknown keys are refused: a misspelt `asistant_says` must not silently check nothing.
    model_config = ConfigDict(extra="forbid", frozen=True)


# -- steps ------------------------------------------------------------------------------------


class CardDetails(_Strict):
    """What a shopper types into the gateway's card frame."""

    number: str = Field(min_length=1, max_length=40)
    exp: str = Field(min_length=1, max_length=10, description="MM/YY or MM/YYYY")
    cvc: str = Field(min_length=1, max_length=8)
    name: str = Field(default="TARO YAMADA", min_length=1, max_length=64)

    @field_validator("number", mode="before")
    @classmethod
    def _number_as_text(cls, value: object) -> object:
        # An unquoted number is unambiguous (card numbers have no leading zero); accept it.
        return str(value) if isinstance(value, int) and not isinstance(value, bool) else value

    @field_validator("cvc", mode="before")
    @classmethod
    def _cvc_quoted(cls, value: object) -> object:
        # YAML reads an unquoted 012 as the integer 10: refuse rather than test the wrong code.
        if isinstance(value, int) and not isinstance(value, bool):
            raise ValueError('write the security code in quotes, e.g. cvc: "123"')
        return value


class ThreeDSInput(_Strict):
    code: str = Field(min_length=1, max_length=32)


class UserStep(_Strict):
    """The shopper types a message."""

    user: str = Field(min_length=1)


class CardStep(_Strict):
    """The shopper enters a card in the latest card form (tokenised at the gateway)."""

    card: CardDetails


class ConfirmStep(_Strict):
    """The shopper presses Pay on the latest confirmation widget."""

    confirm: Literal[True]


class ThreeDSStep(_Strict):
    """The shopper completes the latest 3-D Secure challenge, if one is shown."""

    threeds: ThreeDSInput


class ActionStep(_Strict):
    """Any widget action, sent as written (so a scenario can send what a broken client would).

    A string value `$kind.field` is replaced by that field of the latest widget of that kind, e.g.
    `quote_id: $confirm.quote_id`.
    """

    action: dict[str, Any]

    @field_validator("action")
    @classmethod
    def _has_type(cls, value: dict[str, Any]) -> dict[str, Any]:
        if not isinstance(value.get("type"), str):
            raise ValueError("an action needs a `type` (e.g. choose_payment_method)")
        return value


class StorePayStep(_Strict):
    """The shopper pays the latest convenience-store slip at the store (sandbox webhook follows)."""

    store_pay: Literal[True]


class SettleScreeningStep(_Strict):
    """The deferred-payment screening left in review is settled (sandbox webhook follows)."""

    settle_screening: Literal["approved", "rejected"]


STEP_KINDS = ("user", "card", "confirm", "threeds", "action", "store_pay", "settle_screening")


def _step_kind(value: object) -> str | None:
    if isinstance(value, BaseModel):
        return next(iter(type(value).model_fields))
    if isinstance(value, dict) and len(value) == 1:
        key = next(iter(value))
        return key if key in STEP_KINDS else None
    return None


Step = Annotated[
    Annotated[UserStep, Tag("user")]
    | Annotated[CardStep, Tag("card")]
    | Annotated[ConfirmStep, Tag("confirm")]
    | Annotated[ThreeDSStep, Tag("threeds")]
    | Annotated[ActionStep, Tag("action")]
    | Annotated[StorePayStep, Tag("store_pay")]
    | Annotated[SettleScreeningStep, Tag("settle_screening")],
    Discriminator(
        _step_kind,
        custom_error_type="invalid_step",
        custom_error_message=f"each step is a mapping with exactly one of: {', '.join(STEP_KINDS)}",
    ),
]


# -- goal (simulated shopper) -----------------------------------------------------------------


class AddressInput(_Strict):
    """A shipping address as the address form takes it."""

    name: str = "Taro Yamada"
    postal_code: str = "150-0002"
    prefecture: str = ""
    city: str = ""
    line1: str = "2-21-1"
    line2: str = ""
    phone: str = "090-1234-5678"
    email: str = "taro@example.com"


class GoalItem(_Strict):
    sku: str = Field(min_length=1, max_length=64)
    quantity: int = Field(default=1, ge=1, le=999)
    say: str | None = Field(default=None, description="How the shopper asks for it.")


class Phrasing(_Strict):
    """How the simulated shopper words things and which way it gives its details."""

    style: Literal["plain", "polite", "terse"] = "plain"
    address_via: Literal["form", "chat"] = "form"
    method_via: Literal["button", "chat"] = "button"
    hints: list[str] = Field(default_factory=list, description="For an LLM shopper's messages.")


class Goal(_Strict):
    items: list[GoalItem] = Field(min_length=1)
    address: AddressInput = Field(default_factory=AddressInput)
    payment_method: PaymentMethod = "card"
    card: CardDetails | None = None
    threeds_code: str = "123456"
    store_pay: bool = False
    phrasing: Phrasing = Field(default_factory=Phrasing)
    max_turns: int = Field(default=24, ge=1, le=200)

    @field_validator("items", mode="before")
    @classmethod
    def _mapping_of_items(cls, value: object) -> object:
        # `items: {TEA-SENCHA: 2}` is the short form of a list of {sku, quantity}.
        if isinstance(value, dict):
            return [{"sku": sku, "quantity": quantity} for sku, quantity in value.items()]
        return value

    @model_validator(mode="after")
    def _card_for_card(self) -> Goal:
        if self.payment_method == "card" and self.card is None:
            raise ValueError("payment_method card needs a `card` to enter")
        return self


# -- expectations -----------------------------------------------------------------------------


class OrderExpect(_Strict):
    status: str | list[str] | None = None
    payment_method: PaymentMethod | None = None
    total: int | None = Field(default=None, ge=0)
    items: dict[str, int] | None = None

    @property
    def statuses(self) -> list[str]:
        if self.status is None:
            return []
        return [self.status] if isinstance(self.status, str) else list(self.status)


class Expect(_Strict):
    order: OrderExpect | Literal["none"] | None = None
    max_user_turns: int | None = Field(default=None, ge=0)
    assistant_says: list[str] = Field(default_factory=list)
    assistant_never_says: list[str] = Field(default_factory=list)
    tool_called: list[str] = Field(default_factory=list)
    tool_not_called: list[str] = Field(default_factory=list)
    errors: list[str] = Field(default_factory=list, description="API error codes that must occur.")

    @field_validator("assistant_says", "assistant_never_says")
    @classmethod
    def _regexes(cls, patterns: list[str]) -> list[str]:
        for pattern in patterns:
            try:
                re.compile(pattern)
            except re.error as exc:
                raise ValueError(f"not a valid regular expression {pattern!r}: {exc}") from None
        return patterns

    @field_validator("tool_called", "tool_not_called")
    @classmethod
    def _known_tools(cls, names: list[str]) -> list[str]:
        unknown = [name for name in names if name not in TOOL_ARGS]
        if unknown:
            raise ValueError(f"unknown tool(s) {unknown}; the tools are {', '.join(TOOL_ARGS)}")
        return names


# -- the scenario -----------------------------------------------------------------------------


class Scenario(_Strict):
    name: str = Field(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
    description: str = ""
    locale: Locale = "en"
    tags: list[str] = Field(default_factory=list)
    catalog: str | list[Any] | dict[str, Any] = "default"
    steps: list[Step] | None = None
    goal: Goal | None = None
    expect: Expect = Field(default_factory=Expect)

    @model_validator(mode="after")
    def _steps_or_goal(self) -> Scenario:
        if (self.steps is None) == (self.goal is None):
            raise ValueError("give either `steps:` or `goal:` (exactly one)")
        if self.steps is not None and not self.steps:
            raise ValueError("`steps:` is empty")
        return self


@dataclass(frozen=True)
class LoadedScenario:
    """A validated scenario with its source file and its catalogue, ready to run."""

    scenario: Scenario
    source: Path
    catalog: tuple[CatalogEntry, ...]

    @property
    def name(self) -> str:
        return self.scenario.name


class ScenarioError(ValueError):
    """One or more scenario files are invalid; `problems` lists every one, each naming the file."""

    def __init__(self, problems: Sequence[str]) -> None:
        self.problems = tuple(problems)
        count = len(self.problems)
        heading = f"{count} problem{'s' if count != 1 else ''} in scenario files"
        super().__init__("\n  ".join([heading, *self.problems]))


def _where(loc: tuple[int | str, ...]) -> str:
    """`('steps', 3, 'card', 'card', 'exp')` -> `steps[3].card.exp` (tags dropped)."""
    parts: list[str] = []
    previous: int | str | None = None
    for part in loc:
        if isinstance(part, int):
            parts.append(f"[{part}]")
        elif part == previous and part in STEP_KINDS:
            continue  # the discriminator's tag repeats the step's key
        else:
            parts.append(f".{part}" if parts else str(part))
        previous = part
    return "".join(parts)


def _describe(detail: ErrorDetails) -> str:
    where = _where(tuple(detail["loc"]))
    message = detail["msg"].removeprefix("Value error, ")
    if detail["type"] == "extra_forbidden":
        message = "unknown field"
    return f"{where}: {message}" if where else message


def _catalog(raw: object, source: Path) -> tuple[CatalogEntry, ...]:
    if raw == "default":
        return tuple(load_demo_entries())
    if isinstance(raw, str):
        path = Path(raw)
        if not path.is_absolute():
            path = source.parent / path
        return tuple(read_catalog_file(path))
    return tuple(parse_catalog(raw, source=f"{source}: catalog"))


def _one(raw: object, source: Path, label: str) -> tuple[LoadedScenario | None, list[str]]:
    if not isinstance(raw, dict):
        return None, [f"{source}: {label}: a scenario must be a mapping"]
    name = raw.get("name") if isinstance(raw.get("name"), str) else label
    try:
        scenario = Scenario.model_validate(raw)
    except ValidationError as exc:
        return None, [f"{source}: {name}: {_describe(d)}"
                      for d in exc.errors(include_url=False, include_input=False)]
    try:
        catalog = _catalog(scenario.catalog, source)
    except CatalogFormatError as exc:
        return None, [f"{source}: {name}: catalog: {error}" for error in exc.errors]
    except OSError as exc:
        return None, [f"{source}: {name}: catalog: cannot read {scenario.catalog!r}: "
                      f"{exc.strerror or exc}"]
    return LoadedScenario(scenario, source, catalog), []


def scenario_from_data(data: object, source: Path = Path("<inline>")) -> LoadedScenario:
    """One scenario from already-parsed data (tests, generated suites); raises ScenarioError."""
    loaded, problems = _one(data, source, "scenario")
    if loaded is None:
        raise ScenarioError(problems)
    return loaded


def parse_scenario_file(path: Path) -> tuple[list[LoadedScenario], list[str]]:
    """The scenarios of one file and the problems found (both may be non-empty)."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        return [], [f"{path}: {where}{exc.problem or exc.context or 'invalid YAML'}"]
    except (yaml.YAMLError, OSError, UnicodeDecodeError) as exc:
        return [], [f"{path}: {exc}"]
    if isinstance(data, dict) and set(data) == {"scenarios"}:
        raws = data["scenarios"]
        if not isinstance(raws, list):
            return [], [f"{path}: scenarios: expected a list of scenarios"]
        labels = [f"scenarios[{index}]" for index in range(len(raws))]
    else:
        raws, labels = [data], ["scenario"]
    loaded: list[LoadedScenario] = []
    problems: list[str] = []
    for raw, label in zip(raws, labels, strict=True):
        scenario, found = _one(raw, path, label)
        problems += found
        if scenario is not None:
            loaded.append(scenario)
    return loaded, problems


def scenario_files(paths: Iterable[Path]) -> list[Path]:
    """The scenario files named, folders expanded (recursively, sorted by path)."""
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            files += sorted(p for p in path.rglob("*") if p.suffix in SCENARIO_SUFFIXES)
        else:
            files.append(path)
    return files


def load_scenarios(paths: Iterable[Path]) -> list[LoadedScenario]:
    """Every scenario under `paths`; raises `ScenarioError` listing all problems of all files."""
    loaded: list[LoadedScenario] = []
    problems: list[str] = []
    files = scenario_files(paths)
    for path in files:
        if not path.is_file():
            problems.append(f"{path}: no such file or folder")
            continue
        found, file_problems = parse_scenario_file(path)
        loaded += found
        problems += file_problems
    if not files and not problems:
        problems.append("no scenario files (*.yaml, *.yml) found")
    first_source: dict[str, Path] = {}
    for item in loaded:
        if item.name in first_source:
            problems.append(f"{item.source}: {item.name}: name: duplicate of the scenario in "
                            f"{first_source[item.name]}")
        first_source.setdefault(item.name, item.source)
    if problems:
        raise ScenarioError(problems)
    return loaded
