"""`chatpay prompts list|add|weights` against a real database file."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from typer.testing import CliRunner

from api.cli_prompts import prompts_app
from prompts import SHIPPED_DIR, load_prompts
from prompts.variants import list_variants
from tests.prompts.test_variants import prompt_dir
from tools.store.db import Database

runner = CliRunner()


def _weights(url: str) -> dict[str, int]:
    async def read() -> dict[str, int]:
        database = Database(url)
        try:
            async with database.session() as session:
                return {v.name: v.weight for v in await list_variants(session)}
        finally:
            await database.dispose()

    return asyncio.run(read())


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_add_weights_and_list(database_url: str, tmp_path: Path) -> None:
    url = ["--url", database_url]
    empty = runner.invoke(prompts_app, ["list", *url])
    assert empty.exit_code == 0 and "no prompt variants" in empty.output
    short = prompt_dir(tmp_path, "short")
    added = runner.invoke(prompts_app, ["add", "short", str(short), "--weight", "1", *url])
    assert added.exit_code == 0, added.output
    assert f"registered short ({load_prompts(short).hash[:12]}) with weight 1" in added.output
    assert runner.invoke(prompts_app, ["add", "control", str(SHIPPED_DIR), *url]).exit_code == 0
    changed = runner.invoke(prompts_app, ["weights", "control=3", "short=1", *url])
    assert changed.exit_code == 0, changed.output
    assert _weights(database_url) == {"control": 3, "short": 1}
    listed = runner.invoke(prompts_app, ["list", *url], env={"COLUMNS": "200"})
    assert listed.exit_code == 0
    assert "75%" in listed.output and "25%" in listed.output
    # Editing the files after registration shows: the variant no longer serves what it did.
    (short / "en" / "system.txt").write_text("edited $shop_name\n", encoding="utf-8")
    load_prompts.cache_clear()
    assert "(changed)" in runner.invoke(prompts_app, ["list", *url],
                                        env={"COLUMNS": "200"}).output


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_refusals_change_nothing_and_exit_2(database_url: str, tmp_path: Path) -> None:
    url = ["--url", database_url]
    incomplete = tmp_path / "incomplete"
    (incomplete / "en").mkdir(parents=True)
    (incomplete / "en" / "system.txt").write_text("x", encoding="utf-8")
    refused = runner.invoke(prompts_app, ["add", "x", str(incomplete), *url])
    assert refused.exit_code == 2 and "ja/system.txt" in refused.output
    assert runner.invoke(prompts_app, ["add", "a", str(prompt_dir(tmp_path, "a")), "--weight",
                                       "2", *url]).exit_code == 0
    unknown = runner.invoke(prompts_app, ["weights", "a=5", "b=1", *url])
    assert unknown.exit_code == 2 and "no such variant: b" in unknown.output
    for bad in ("a=-1", "a", "a=1.5"):
        assert runner.invoke(prompts_app, ["weights", bad, *url]).exit_code == 2
    assert runner.invoke(prompts_app, ["add", "n", str(tmp_path / "a"), "--weight", "-1",
                                       *url]).exit_code == 2
    assert _weights(database_url) == {"a": 2}
