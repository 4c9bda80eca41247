"""The prompt-variant registry: what it accepts, what it refuses, and how it draws."""

from __future__ import annotations

import random
import shutil
from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy.exc import IntegrityError

from prompts import SHIPPED_DIR, load_prompts
from prompts.variants import (
    VariantError,
    add_variant,
    choose,
    choose_variant,
    list_variants,
    set_weights,
)
from tools.store.db import Database
from tools.store.models import PromptVariant


def prompt_dir(root: Path, name: str) -> Path:
    """A copy of the shipped prompts whose English system prompt names the variant."""
    directory = root / name
    shutil.copytree(SHIPPED_DIR / "en", directory / "en")
    shutil.copytree(SHIPPED_DIR / "ja", directory / "ja")
    (directory / "en" / "system.txt").write_text(f"{name} $shop_name\n", encoding="utf-8")
    return directory


async def test_add_records_directory_and_hash(db: Database, tmp_path: Path) -> None:
    directory = prompt_dir(tmp_path, "short")
    async with db.session() as session:
        await add_variant(session, "short", directory, 2)
        await session.commit()
    async with db.session() as session:
        [row] = await list_variants(session)
    assert (row.name, row.directory, row.weight) == ("short", str(directory.resolve()), 2)
    assert row.prompt_hash == load_prompts(directory).hash != load_prompts(None).hash


async def test_add_refuses_what_it_cannot_serve(db: Database, tmp_path: Path) -> None:
    incomplete = tmp_path / "incomplete"
    (incomplete / "en").mkdir(parents=True)
    (incomplete / "en" / "system.txt").write_text("x", encoding="utf-8")
    good = prompt_dir(tmp_path, "good")
    async with db.session() as session:
        with pytest.raises(VariantError, match="ja/system.txt"):
            await add_variant(session, "incomplete", incomplete)
        with pytest.raises(VariantError, match="invalid variant name"):
            await add_variant(session, "a=b", good)
        with pytest.raises(VariantError, match="non-negative"):
            await add_variant(session, "neg", good, -1)
        await add_variant(session, "good", good, 1)
        # A recorded name must keep meaning the same prompts.
        with pytest.raises(VariantError, match="exists already"):
            await add_variant(session, "good", prompt_dir(tmp_path, "other"))
        await session.commit()
    async with db.session() as session:
        assert [v.name for v in await list_variants(session)] == ["good"]


async def test_set_weights_is_all_or_nothing(db: Database, tmp_path: Path) -> None:
    async with db.session() as session:
        await add_variant(session, "a", prompt_dir(tmp_path, "a"), 1)
        await add_variant(session, "b", prompt_dir(tmp_path, "b"), 1)
        await session.commit()
    async with db.session() as session:
        with pytest.raises(VariantError, match="no such variant: c"):
            await set_weights(session, {"a": 5, "c": 1})
        with pytest.raises(VariantError, match="non-negative"):
            await set_weights(session, {"a": 5, "b": -2})
        await session.commit()
    async with db.session() as session:
        assert {v.name: v.weight for v in await list_variants(session)} == {"a": 1, "b": 1}
        await set_weights(session, {"b": 0})
        await session.commit()
        assert await choose_variant(session, random.Random(1)) == "a"


async def test_the_database_refuses_a_negative_weight(db: Database) -> None:
    async with db.session() as session:
        session.add(PromptVariant(name="x", directory="/x", prompt_hash="0" * 64, weight=-1))
        with pytest.raises(IntegrityError):
            await session.commit()


def test_choose_follows_the_weights() -> None:
    variants = [PromptVariant(name="a", weight=1), PromptVariant(name="b", weight=3),
                PromptVariant(name="off", weight=0)]
    rng = random.Random(7)
    counts = Counter(choose(variants, rng) for _ in range(8000))
    assert set(counts) == {"a", "b"}  # weight 0 is never drawn
    assert abs(counts["a"] / 8000 - 0.25) < 0.02, counts
    assert choose([PromptVariant(name="off", weight=0)], rng) is None
    assert choose([], rng) is None
