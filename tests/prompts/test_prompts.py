"""Rendered prompts are snapshot-tested; a variant directory is picked up and hashed separately.

To accept an intended prompt change: `CHATPAY_UPDATE_SNAPSHOTS=1 make test`, then review the diff
of tests/prompts/snapshots/ like any other change.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
from pydantic import ValidationError

from agent.testing import ScriptedModel
from agent.tool_schemas import TOOL_ARGS, openai_tools
from agent.turn import ConversationAgent
from agent.widgets import CardFormConfig
from prompts import SHIPPED_DIR, load_prompts
from tools.settings import CommerceSettings
from tools.store.db import Database

SNAPSHOTS = Path(__file__).parent / "snapshots"


def _agent(directory: Path | None = None) -> ConversationAgent:
    return ConversationAgent(
        db=Database("sqlite+aiosqlite:///:memory:"), model=ScriptedModel([]),
        commerce=CommerceSettings(), prompts=load_prompts(directory),
        card_form=CardFormConfig("http://127.0.0.1:8001", "http://127.0.0.1:8000"))


@pytest.mark.parametrize("locale", ["en", "ja"])
def test_rendered_system_prompt_matches_its_snapshot(locale: str) -> None:
    rendered = _agent().system_prompt(locale)  # type: ignore[arg-type]
    snapshot = SNAPSHOTS / f"system.{locale}.txt"
    if os.environ.get("CHATPAY_UPDATE_SNAPSHOTS") == "1":
        snapshot.write_text(rendered, encoding="utf-8")
    assert rendered == snapshot.read_text(encoding="utf-8")
    assert "$" not in rendered  # every placeholder was filled
    assert "¥" in rendered or "円" in rendered


def test_prompt_is_rendered_once_and_stable() -> None:
    agent = _agent()
    assert agent.system_prompt("en") is agent.system_prompt("en")


def test_a_variant_directory_has_its_own_hash(tmp_path: Path) -> None:
    variant = tmp_path / "variant-b"
    shutil.copytree(SHIPPED_DIR / "en", variant / "en")
    shutil.copytree(SHIPPED_DIR / "ja", variant / "ja")
    assert load_prompts(variant).hash == load_prompts(None).hash  # same bytes, same hash
    (variant / "en" / "system.txt").write_text("Be brief. $shop_name sells things.\n",
                                               encoding="utf-8")
    load_prompts.cache_clear()
    changed = load_prompts(variant)
    assert changed.hash != load_prompts(None).hash
    assert _agent(variant).system_prompt("en").startswith("Be brief. chatpay")


def test_a_variant_missing_a_locale_is_refused(tmp_path: Path) -> None:
    (tmp_path / "en").mkdir()
    (tmp_path / "en" / "system.txt").write_text("x", encoding="utf-8")
    with pytest.raises(FileNotFoundError, match="ja/system.txt"):
        load_prompts(tmp_path)


def test_tool_schemas_show_no_limits_yet_the_arguments_keep_them() -> None:
    """The model sees types, required fields and enums; the argument models refuse the rest."""
    shown = json.dumps(openai_tools())
    for keyword in ("maxLength", "minLength", "maximum", "minimum", "default", "title", "anyOf"):
        assert f'"{keyword}"' not in shown
    parameters = {tool["function"]["name"]: tool["function"].get("parameters")
                  for tool in openai_tools()}
    assert parameters["choose_payment_method"]["properties"]["method"]["enum"] == [
        "card", "after_delivery", "konbini"]
    assert parameters["set_cart_quantity"]["required"] == ["sku", "quantity"]
    assert parameters["view_cart"] is None  # no arguments: the API's way is no `parameters`
    assert openai_tools() is openai_tools()  # rendered once: the prompt prefix stays byte-stable
    with pytest.raises(ValidationError):
        TOOL_ARGS["search_products"].model_validate({"query": "x" * 201})
    with pytest.raises(ValidationError):
        TOOL_ARGS["search_products"].model_validate({"query": "tea", "limit": 11})
    with pytest.raises(ValidationError):
        TOOL_ARGS["add_to_cart"].model_validate({"sku": "TEA-SENCHA", "price": 1})
    added = TOOL_ARGS["add_to_cart"].model_validate({"sku": "TEA-SENCHA"})
    # the default, server-side (`product` is the other way to name it, unset here)
    assert added.model_dump(exclude_none=True) == {"sku": "TEA-SENCHA", "quantity": 1}
    assert "required" not in parameters["add_to_cart"]  # sku or product: the argument model checks
    for neither_or_both in ({"quantity": 2}, {"sku": "TEA-SENCHA", "product": "sencha"}):
        with pytest.raises(ValidationError):
            TOOL_ARGS["add_to_cart"].model_validate(neither_or_both)
