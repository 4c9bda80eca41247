"""The README documents every setting the code reads (a new setting without docs fails here)."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic_settings import BaseSettings

from agent.settings import AgentSettings
from api.settings import ServiceSettings
from tools.payments.gmo.settings import GMOSettings
from tools.payments.sandbox.settings import SandboxSettings
from tools.settings import CommerceSettings

README = (Path(__file__).parent.parent / "README.md").read_text(encoding="utf-8")
SETTINGS: list[type[BaseSettings]] = [CommerceSettings, ServiceSettings, SandboxSettings,
                                      GMOSettings, AgentSettings]


def _variables() -> list[str]:
    names = []
    for cls in SETTINGS:
        prefix = str(cls.model_config.get("env_prefix", ""))
        names.extend(f"{prefix}{field}".upper() for field in cls.model_fields)
    return names


@pytest.mark.parametrize("variable", _variables())
def test_every_setting_is_in_the_readme(variable: str) -> None:
    # Related settings may share a row, written as `PREFIX_A` / `_B` / `_C`.
    head, _, tail = variable.rpartition("_")
    assert variable in README or f"`_{tail}`" in README, f"{variable} is not documented"


def test_the_two_commands_come_first() -> None:
    assert README.index("make run") < README.index("## Layers")
    assert "make test" in README
