"""`chatpay eval run --registry-url`: prompt directories named after their production variants."""

from __future__ import annotations

import asyncio
import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from evals.cli import app
from prompts import SHIPPED_DIR
from prompts.variants import add_variant
from tests.evals.test_cli import PASSING
from tools.store.db import Database


def _prompt_dir(root: Path, name: str, first_line: str) -> Path:
    directory = root / name
    shutil.copytree(SHIPPED_DIR / "en", directory / "en")
    shutil.copytree(SHIPPED_DIR / "ja", directory / "ja")
    (directory / "en" / "system.txt").write_text(f"{first_line} $shop_name\n", encoding="utf-8")
    return directory


def _register(url: str, name: str, directory: Path) -> None:
    async def go() -> None:
        database = Database(url)
        try:
            async with database.session() as session:
                await add_variant(session, name, directory, 1)
                await session.commit()
        finally:
            await database.dispose()

    asyncio.run(go())


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_registered_prompt_directory_is_reported_under_its_variant_name(
        database_url: str, tmp_path: Path) -> None:
    registered = _prompt_dir(tmp_path / "registry", "short", "Be short.")
    _register(database_url, "short-v2", registered)
    # The eval runs a copy (another path, same bytes) and a directory nobody registered.
    copy = shutil.copytree(registered, tmp_path / "checkout" / "short")
    other = _prompt_dir(tmp_path, "other", "Be long.")
    (tmp_path / "ok.yaml").write_text(PASSING, encoding="utf-8")
    result = CliRunner().invoke(app, [
        "run", str(tmp_path / "ok.yaml"), "--jobs", "1", "--prompt-dir", str(copy),
        "--prompt-dir", str(other), "--registry-url", database_url,
        "--report", str(tmp_path / "r.json")])
    assert result.exit_code == 0, result.output
    report = json.loads((tmp_path / "r.json").read_text(encoding="utf-8"))
    assert [(v["label"], v["prompt_dir"]) for v in report["variants"]] == [
        ("short-v2", str(copy)), ("B", str(other))]
    assert {s["variant"] for s in report["scenarios"]} == {"short-v2", "B"}


def test_an_unreadable_registry_is_exit_2(tmp_path: Path) -> None:
    (tmp_path / "ok.yaml").write_text(PASSING, encoding="utf-8")
    result = CliRunner().invoke(app, ["run", str(tmp_path / "ok.yaml"), "--registry-url",
                                      f"sqlite+aiosqlite:///{tmp_path / 'none' / 'x.db'}"])
    assert result.exit_code == 2
    assert "cannot read the prompt-variant registry" in result.output
