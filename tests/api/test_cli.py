"""`chatpay db upgrade` and `chatpay catalog load` on a fresh SQLite file, as `make run` uses them."""

from __future__ import annotations

import asyncio
from pathlib import Path

from sqlalchemy import func, select
from typer.testing import CliRunner

from api.cli import app
from tools.store.db import Database
from tools.store.models import Product

runner = CliRunner()


def _count_products(url: str) -> int:
    async def count() -> int:
        database = Database(url)
        async with database.session() as session:
            value = await session.scalar(select(func.count()).select_from(Product))
        await database.dispose()
        return value or 0

    return asyncio.run(count())


def test_upgrade_then_load_demo_twice(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'sub' / 'chatpay.db'}"
    result = runner.invoke(app, ["db", "upgrade", "--url", url])
    assert result.exit_code == 0, result.output
    first = runner.invoke(app, ["catalog", "load", "--demo", "--url", url])
    assert first.exit_code == 0, first.output
    assert "created" in first.output
    loaded = _count_products(url)
    assert loaded >= 40
    again = runner.invoke(app, ["catalog", "load", "--demo", "--url", url])
    assert again.exit_code == 0 and f"{loaded} unchanged" in again.output
    assert _count_products(url) == loaded


def test_a_bad_catalogue_file_is_refused_with_the_reason(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'chatpay.db'}"
    assert runner.invoke(app, ["db", "upgrade", "--url", url]).exit_code == 0
    bad = tmp_path / "bad.yaml"
    bad.write_text("products:\n  - sku: X1\n    name: Thing\n    name_ja: 物\n    price: -5\n"
                   "    tax_rate: 7\n    stock: 1\n", encoding="utf-8")
    result = runner.invoke(app, ["catalog", "load", str(bad), "--url", url])
    assert result.exit_code == 2
    assert "price" in result.output and "tax_rate" in result.output
    assert _count_products(url) == 0


def test_catalog_load_needs_a_file_or_demo() -> None:
    result = runner.invoke(app, ["catalog", "load"])
    assert result.exit_code != 0
