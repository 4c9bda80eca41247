"""Prompt variants in production: a weighted, sticky draw per conversation, seen by the model.

Each test registers real prompt directories in the database, starts conversations through the
HTTP API and reads what the model was sent and what was recorded (`conversations.prompt_variant`,
`model_calls.prompt_hash`).
"""

from __future__ import annotations

import random
from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import select

from agent.model import Message
from agent.testing import FunctionModel, text
from prompts import SHIPPED_DIR, load_prompts
from prompts.variants import add_variant, set_weights
from tests.api.conftest import Chat, ChatFactory
from tests.shop_harness import Shop
from tools.store.models import Conversation, ModelCall


def _variant_dir(root: Path, marker: str) -> Path:
    """A complete prompt directory whose system prompt starts with `marker`."""
    directory = root / marker
    for locale in ("en", "ja"):
        (directory / locale).mkdir(parents=True)
        shipped = (SHIPPED_DIR / locale / "system.txt").read_text(encoding="utf-8")
        (directory / locale / "system.txt").write_text(f"{marker}\n{shipped}", encoding="utf-8")
    return directory


def _system(messages: list[Message]) -> str:
    return str(messages[0]["content"])


async def _register(shop: Shop, tmp_path: Path, weights: dict[str, int]) -> dict[str, Path]:
    dirs = {name: _variant_dir(tmp_path, f"VARIANT-{name}") for name in weights}
    async with shop.db.session() as session:
        for name, weight in weights.items():
            await add_variant(session, name, dirs[name], weight)
        await session.commit()
    return dirs


async def _variant_of(shop: Shop, chat: Chat) -> str | None:
    async with shop.db.session() as session:
        conversation = await session.get(Conversation, chat.id)
        assert conversation is not None
        return conversation.prompt_variant


async def test_without_variants_conversations_use_the_configured_prompts(
        chat_factory: ChatFactory, shop: Shop) -> None:
    model = FunctionModel(lambda messages, tools: text("Hello."))
    chat: Chat = chat_factory(model)
    await chat.start()
    await chat.say("hi")
    assert await _variant_of(shop, chat) is None
    assert _system(model.calls[0].messages).startswith("You are the shopping assistant of")
    async with shop.db.session() as session:
        hashes = set(await session.scalars(select(ModelCall.prompt_hash)))
    assert hashes == {load_prompts(None).hash}


async def test_new_conversations_follow_the_weights(chat_factory: ChatFactory, shop: Shop,
                                                    tmp_path: Path) -> None:
    await _register(shop, tmp_path, {"a": 1, "b": 3})
    chat: Chat = chat_factory(FunctionModel(lambda messages, tools: text("Hello.")))
    app = chat.client._transport.app  # type: ignore[attr-defined]
    app.state.variant_rng = random.Random(20261127)
    counts: Counter[str | None] = Counter()
    for _ in range(200):
        await chat.start()
        counts[await _variant_of(shop, chat)] += 1
    # Expected 50 / 150; a seeded draw is reproducible, the bounds are ~3.5 standard deviations.
    assert set(counts) == {"a", "b"}
    assert 28 <= counts["a"] <= 72, counts
    assert counts["a"] + counts["b"] == 200


async def test_a_variant_is_sticky_and_its_prompt_reaches_the_model(
        chat_factory: ChatFactory, shop: Shop, tmp_path: Path) -> None:
    dirs = await _register(shop, tmp_path, {"a": 1, "b": 0})
    model = FunctionModel(lambda messages, tools: text("Hello."))
    chat: Chat = chat_factory(model)
    await chat.start()
    assert await _variant_of(shop, chat) == "a"  # b has weight 0: never drawn
    await chat.say("hi")
    # The operator moves all new traffic to b; the running conversation keeps a.
    async with shop.db.session() as session:
        await set_weights(session, {"a": 0, "b": 5})
        await session.commit()
    await chat.say("anything for tea?")
    later: Chat = chat_factory(model)
    await later.start()
    await later.say("hi")
    assert await _variant_of(shop, chat) == "a"
    assert await _variant_of(shop, later) == "b"
    systems = [_system(call.messages) for call in model.calls]
    assert [s.splitlines()[0] for s in systems] == ["VARIANT-a", "VARIANT-a", "VARIANT-b"]
    # The usage rows name the prompts that were really sent, per conversation.
    async with shop.db.session() as session:
        rows = (await session.execute(select(ModelCall.conversation_id, ModelCall.prompt_hash)
                                      .order_by(ModelCall.id))).all()
    assert [(cid, h) for cid, h in rows] == [
        (chat.id, load_prompts(dirs["a"]).hash), (chat.id, load_prompts(dirs["a"]).hash),
        (later.id, load_prompts(dirs["b"]).hash)]


async def test_all_weights_zero_means_the_configured_prompts(
        chat_factory: ChatFactory, shop: Shop, tmp_path: Path) -> None:
    await _register(shop, tmp_path, {"a": 0})
    model = FunctionModel(lambda messages, tools: text("Hello."))
    chat: Chat = chat_factory(model)
    await chat.start()
    await chat.say("hi")
    assert await _variant_of(shop, chat) is None
    assert not _system(model.calls[0].messages).startswith("VARIANT-")


async def test_a_variant_that_vanished_falls_back_to_the_configured_prompts(
        chat_factory: ChatFactory, shop: Shop, caplog: pytest.LogCaptureFixture) -> None:
    # A conversation recorded under a name the registry no longer has (a hand-edited database)
    # still gets answered, with the default prompts, and the operator is told in the log.
    model = FunctionModel(lambda messages, tools: text("Hello."))
    chat: Chat = chat_factory(model)
    await chat.start()
    async with shop.db.session() as session:
        conversation = await session.get(Conversation, chat.id)
        assert conversation is not None
        conversation.prompt_variant = "gone"
        await session.commit()
    await chat.say("hi")
    assert not _system(model.calls[0].messages).startswith("VARIANT-")
    assert "prompt variant 'gone' is not registered" in caplog.text

