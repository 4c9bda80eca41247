"""Messages as server-sent events: deltas first, then the same events the JSON answer carries.

Driven through the real HTTP API with the embedded offline model (the real openai client, streaming
over an in-process transport) and, for faults, a respx-mocked endpoint.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import respx

from agent.openai_model import OpenAIChatModel, create_model
from agent.retries import RetryPolicy
from agent.settings import AgentSettings
from api.streaming import _RUNNING, stream_turn
from tests.api.conftest import Chat, texts, widget

SSE = {"Accept": "text/event-stream"}
API = "https://api.test/v1/chat/completions"
CARD = "4111111111111111"


def parse_sse(body: str) -> list[tuple[str, dict[str, Any]]]:
    events: list[tuple[str, dict[str, Any]]] = []
    for block in body.split("\n\n"):
        if not block.strip():
            continue
        fields = dict(line.split(": ", 1) for line in block.splitlines())
        events.append((fields["event"], json.loads(fields["data"])))
    return events


async def stream(chat: Chat, text: str) -> list[tuple[str, dict[str, Any]]]:
    response = await chat.client.post(f"/api/conversations/{chat.id}/messages",
                                      json={"text": text}, headers={**chat.auth, **SSE})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/event-stream")
    assert response.headers["cache-control"] == "no-cache"
    return parse_sse(response.text)


def offline() -> OpenAIChatModel:
    return create_model(AgentSettings(model="offline"))


async def transcript(chat: Chat) -> list[dict[str, Any]]:
    response = await chat.client.get(f"/api/conversations/{chat.id}", headers=chat.auth)
    rows: list[dict[str, Any]] = response.json()["transcript"]
    return rows


async def test_a_reply_streams_as_deltas_then_the_events(chat_factory: Any) -> None:
    chat: Chat = chat_factory(offline())
    await chat.start()
    sent = await stream(chat, "hello, what can you do?")
    names = [name for name, _ in sent]
    assert names[-2:] == ["events", "done"]
    deltas = [data["text"] for name, data in sent if name == "delta"]
    assert len(deltas) > 5  # word by word, not one block
    events = sent[-2][1]["events"]
    assert "".join(deltas) == texts(events)  # the preview adds up to the final reply
    # The stored transcript holds exactly what the JSON answer would have held.
    stored = await transcript(chat)
    assert stored[-len(events):] == events
    assert [r["text"] for r in stored if r["type"] == "message" and r["role"] == "user"] == [
        "hello, what can you do?"]


async def test_widgets_come_in_the_events_of_a_streamed_turn(chat_factory: Any) -> None:
    chat: Chat = chat_factory(offline())
    await chat.start()
    sent = await stream(chat, "any green tea?")
    events = dict(sent)["events"]["events"]
    assert widget(events, "product_list")["products"]


async def test_the_json_answer_is_unchanged_without_sse(chat_factory: Any) -> None:
    chat: Chat = chat_factory(offline())
    await chat.start()
    events = await chat.say("hello, what can you do?")
    assert texts(events)


async def test_refusals_before_the_stream_are_plain_json(chat_factory: Any) -> None:
    chat: Chat = chat_factory(offline())
    await chat.start()
    other: Chat = chat_factory(offline())
    await other.start()
    url = f"/api/conversations/{chat.id}/messages"
    no_token = await chat.client.post(url, json={"text": "hi"}, headers=SSE)
    wrong = await chat.client.post(url, json={"text": "hi"}, headers={**other.auth, **SSE})
    empty = await chat.client.post(url, json={"text": ""}, headers={**chat.auth, **SSE})
    assert (no_token.status_code, wrong.status_code, empty.status_code) == (401, 404, 422)
    for response in (no_token, wrong, empty):
        assert response.headers["content-type"].startswith("application/json")
        assert response.json()["error"]["code"]
    assert [r for r in await transcript(chat) if r["type"] == "message" and r["role"] == "user"] \
        == []


async def test_a_pasted_card_streams_no_text_and_shows_the_form(chat_factory: Any) -> None:
    chat: Chat = chat_factory(offline())
    await chat.start()
    sent = await stream(chat, f"my card is {CARD}")
    assert [name for name, _ in sent] == ["events", "done"]
    assert widget(sent[0][1]["events"], "card_form")
    assert CARD not in json.dumps(sent) and CARD not in json.dumps(await transcript(chat))


async def test_a_stream_broken_mid_reply_ends_in_a_guided_reply(chat_factory: Any) -> None:
    class Breaking(httpx.AsyncByteStream):
        async def __aiter__(self) -> AsyncIterator[bytes]:
            yield (b'data: {"id":"c","object":"chat.completion.chunk","created":1,"model":"m",'
                   b'"choices":[{"index":0,"delta":{"content":"Let me look "},'
                   b'"finish_reason":null}]}\n\n')
            raise httpx.ReadError("connection reset")

    with respx.mock() as router:
        route = router.post(API).mock(side_effect=lambda request: httpx.Response(
            200, headers={"content-type": "text/event-stream"}, stream=Breaking()))
        model = OpenAIChatModel("gpt-test", api_key="sk", base_url="https://api.test/v1",
                                http_client=httpx.AsyncClient(), retry=RetryPolicy(max_attempts=3))
        chat: Chat = chat_factory(model)
        await chat.start()
        sent = await stream(chat, "any green tea?")
    assert route.call_count == 1  # text was shown: no retry that could contradict it
    assert [name for name, _ in sent] == ["delta", "events", "done"]
    events = sent[1][1]["events"]
    assert texts(events)  # guided mode answered as a normal reply
    users = [r for r in await transcript(chat) if r["type"] == "message" and r["role"] == "user"]
    assert [r["text"] for r in users] == ["any green tea?"]  # stored once


async def test_a_client_that_leaves_mid_reply_loses_nothing(chat_factory: Any) -> None:
    chat: Chat = chat_factory(offline())
    await chat.start()
    transport = chat.client._transport
    assert isinstance(transport, httpx.ASGITransport)
    agent = transport.app.state.agent  # type: ignore[attr-defined]
    response = await stream_turn(
        lambda listener: agent.respond(chat.id, "hello, what can you do?", listener=listener),
        "en")
    body = response.body_iterator
    first = await body.__anext__()  # type: ignore[union-attr]
    assert "event: delta" in str(first)
    await body.aclose()  # type: ignore[union-attr] # the tab was closed
    await asyncio.gather(*_RUNNING)
    stored = await transcript(chat)
    assert stored[-1]["type"] == "message" and stored[-1]["role"] == "assistant"
    assert stored[-2]["text"] == "hello, what can you do?"


def test_a_stream_ended_by_a_database_outage_says_unavailable() -> None:
    """The same outage rule as the JSON 503s: asyncpg reports an outage as a plain DBAPIError."""
    from sqlalchemy.exc import DBAPIError

    from api.streaming import _error_of

    lost = DBAPIError(statement="SELECT 1", params=None, orig=Exception("connection lost"),
                      connection_invalidated=True)
    assert _error_of(lost, "en")["error"]["code"] == "unavailable"  # type: ignore[index]
    assert _error_of(RuntimeError("bug"), "en")["error"]["code"] == "internal"  # type: ignore[index]
