"""`Idempotency-Key`: a retried message or action is answered from its first run, never run twice."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

from sqlalchemy import func, select

from agent.model import Message, ModelResponse, ToolSchema
from agent.testing import FunctionModel, text
from api.idempotency import STALE_AFTER, fingerprint
from tests.api.conftest import Chat, widget
from tests.api.test_streaming import SSE, parse_sse
from tools.store.models import CartLine, ConversationEvent, IdempotentRequest, utcnow


def echo_model() -> FunctionModel:
    return FunctionModel(lambda messages, tools: text("Noted."))


def key(value: str) -> dict[str, str]:
    return {"Idempotency-Key": value}


async def post_message(chat: Chat, words: str, *, idem: str,
                       extra: dict[str, str] | None = None) -> Any:
    return await chat.client.post(f"/api/conversations/{chat.id}/messages", json={"text": words},
                                  headers={**chat.auth, **key(idem), **(extra or {})})


async def post_action(chat: Chat, action: dict[str, Any], *, idem: str) -> Any:
    return await chat.client.post(f"/api/conversations/{chat.id}/actions", json=action,
                                  headers={**chat.auth, **key(idem)})


async def user_messages(chat: Chat) -> int:
    async with chat.shop.db.session() as session:
        count = await session.scalar(select(func.count()).select_from(ConversationEvent).where(
            ConversationEvent.conversation_id == chat.id, ConversationEvent.role == "user"))
    return int(count or 0)


async def test_a_retried_message_is_replayed_not_run_again(chat_factory: Any) -> None:
    model = echo_model()
    chat: Chat = chat_factory(model)
    await chat.start()
    first = await post_message(chat, "hello", idem="k-1")
    again = await post_message(chat, "hello", idem="k-1")
    assert first.status_code == again.status_code == 200
    assert again.json() == first.json()
    assert again.headers["idempotent-replayed"] == "true"
    assert "idempotent-replayed" not in first.headers
    assert len(model.calls) == 1 and await user_messages(chat) == 1
    # A new key is a new message, even with the same words.
    assert (await post_message(chat, "hello", idem="k-2")).status_code == 200
    assert len(model.calls) == 2 and await user_messages(chat) == 2


async def test_a_streamed_retry_gets_the_final_events(chat_factory: Any) -> None:
    chat: Chat = chat_factory(echo_model())
    await chat.start()
    first = await post_message(chat, "hello", idem="k-sse", extra=SSE)
    again = await post_message(chat, "hello", idem="k-sse", extra=SSE)
    assert [name for name, _ in parse_sse(again.text)] == ["events", "done"]
    assert dict(parse_sse(again.text))["events"] == dict(parse_sse(first.text))["events"]
    assert await user_messages(chat) == 1


async def test_the_same_key_with_other_words_is_refused(chat_factory: Any) -> None:
    chat: Chat = chat_factory(echo_model())
    await chat.start()
    await post_message(chat, "hello", idem="k-1")
    other = await post_message(chat, "something else", idem="k-1")
    assert other.status_code == 422
    assert other.json()["error"]["code"] == "idempotency_key_reused"
    assert await user_messages(chat) == 1


async def test_a_retry_while_the_first_still_runs_is_told_to_wait(chat_factory: Any) -> None:
    release = asyncio.Event()

    async def slow(messages: list[Message], tools: list[ToolSchema]) -> ModelResponse:
        await release.wait()
        return text("Done thinking.")

    chat: Chat = chat_factory(FunctionModel(slow))
    await chat.start()
    first = asyncio.create_task(post_message(chat, "hello", idem="k-slow"))
    for _ in range(100):  # until the first request holds the claim
        await asyncio.sleep(0.01)
        async with chat.shop.db.session() as session:
            if await session.scalar(select(func.count()).select_from(IdempotentRequest)):
                break
    waiting = await post_message(chat, "hello", idem="k-slow")
    assert waiting.status_code == 409 and waiting.headers["retry-after"] == "1"
    assert waiting.json()["error"]["code"] == "request_in_progress"
    release.set()
    assert (await first).status_code == 200
    replay = await post_message(chat, "hello", idem="k-slow")
    assert replay.status_code == 200 and replay.json() == (await first).json()
    assert await user_messages(chat) == 1


async def test_a_retried_add_to_cart_adds_once(chat_factory: Any) -> None:
    chat: Chat = chat_factory(echo_model())
    await chat.start()
    body = {"type": "add_to_cart", "sku": "COF-DRIP", "quantity": 1}
    first = await post_action(chat, body, idem="add-1")
    again = await post_action(chat, body, idem="add-1")
    assert first.json() == again.json()
    assert widget(again.json()["events"], "cart")["lines"][0]["quantity"] == 1
    async with chat.shop.db.session() as session:
        assert await session.scalar(select(func.sum(CartLine.quantity))) == 1


async def test_a_refused_action_releases_its_key(chat_factory: Any) -> None:
    chat: Chat = chat_factory(echo_model())
    await chat.start()
    body = {"type": "add_to_cart", "sku": "NO-SUCH-SKU", "quantity": 1}
    first = await post_action(chat, body, idem="bad-1")
    assert first.status_code == 404
    async with chat.shop.db.session() as session:
        assert await session.scalar(select(func.count()).select_from(IdempotentRequest)) == 0
    again = await post_action(chat, body, idem="bad-1")
    assert again.status_code == 404 and "idempotent-replayed" not in again.headers


async def test_keys_belong_to_one_conversation(chat_factory: Any) -> None:
    model = echo_model()
    one: Chat = chat_factory(model)
    two: Chat = chat_factory(model)
    await one.start()
    await two.start()
    assert (await post_message(one, "hello", idem="shared")).status_code == 200
    answer = await post_message(two, "hello", idem="shared")
    assert answer.status_code == 200 and "idempotent-replayed" not in answer.headers
    assert len(model.calls) == 2


async def test_a_malformed_key_is_a_422(chat_factory: Any) -> None:
    chat: Chat = chat_factory(echo_model())
    await chat.start()
    for bad in ("", "has space", "x" * 65, "k\u00e9y".encode("latin-1")):
        response = await chat.client.post(
            f"/api/conversations/{chat.id}/messages", json={"text": "hi"},
            headers={**chat.auth, "Idempotency-Key": bad})
        assert response.status_code == 422, bad
    assert await user_messages(chat) == 0


async def test_a_claim_left_by_a_dead_process_is_taken_over(chat_factory: Any) -> None:
    model = echo_model()
    chat: Chat = chat_factory(model)
    await chat.start()
    # The first attempt's process stored the message, then died before answering.
    first = await post_message(chat, "hello", idem="k-dead")
    async with chat.shop.db.session() as session:
        row = await session.scalar(select(IdempotentRequest))
        assert row is not None
        fingerprint_of_hello = row.fingerprint
        row.status_code = None
        row.response = None
        row.updated_at = utcnow() - STALE_AFTER - timedelta(seconds=1)
        replies = (await session.scalars(select(ConversationEvent).where(
            ConversationEvent.conversation_id == chat.id, ConversationEvent.role == "assistant")
            .order_by(ConversationEvent.seq.desc()).limit(len(first.json()["events"])))).all()
        for reply in replies:
            await session.delete(reply)
        await session.commit()
    taken = await post_message(chat, "hello", idem="k-dead")
    assert taken.status_code == 200 and "idempotent-replayed" not in taken.headers
    assert await user_messages(chat) == 1  # answered, not stored twice
    async with chat.shop.db.session() as session:
        row = await session.scalar(select(IdempotentRequest))
        assert row is not None and row.status_code == 200
        assert row.fingerprint == fingerprint_of_hello


def test_the_fingerprint_of_a_message_holds_no_card_derivative() -> None:
    path = "/api/conversations/c/messages"
    one = fingerprint(path, {"text": "my card is 4111 1111 1111 1111"})
    other = fingerprint(path, {"text": "my card is 5555 5555 5555 4444"})
    # Both hash the redacted text, so the stored value says nothing about which card it was.
    assert one == other == fingerprint(path, {"text": "my card is [card number removed]"})
    assert fingerprint(path, {"text": "hello"}) != one
