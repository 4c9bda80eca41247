"""The turn loop: one shopper message in, the assistant's events out.

This module only houses orchestration; every step it takes lives elsewhere (redaction, state block,
tools, guided mode). A turn:

1. Redacts card data first. A message holding a card number gets a fixed reply and the secure card
   form, with no model call; a number split across two messages is scrubbed from both.
2. Stores the (redacted) shopper message at once, so a model failure can never lose it; a
   message sent again after a turn that died unanswered is answered, not stored twice.
3. Calls the model with: the system prompt and tool schemas (byte-identical for the conversation, so
   provider prompt caches hit), a bounded history window, and the checkout state block last.
4. Runs the tool calls it asks for (arguments validated; errors go back to the model as results).
   A reply with text whose tools all succeeded ends the turn, so one model call per message is the
   norm; otherwise the model is called again, at most `max_steps` times.
5. Falls back to guided mode when the model is unreachable after its retries or answers garbage
   twice. Stores the reply, adds a confirmation when checkout is ready, and records usage.

No database transaction is held open while the model is thinking.

A `TurnListener` (the SSE endpoint) hears when the shopper's message is safely stored and, from a
model that can stream, the reply's text as it is written, redacted on the way
(`agent.stream_guard`). The turn's returned events stay the authoritative reply either way.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from typing import Any, Protocol, cast

from sqlalchemy import Table, insert, update
from sqlalchemy.ext.asyncio import AsyncSession

from agent import widgets
from agent.errors import ModelError, ModelHTTPError, ModelResponseInvalid, ModelUnavailable
from agent.flow import confirm_if_ready
from agent.guided import guided_reply
from agent.model import Message, Model, ModelResponse, StreamingModel, ToolSchema
from agent.redaction import redact, redact_fragments, redact_pair
from agent.settings import DEFAULT_HISTORY_TURNS
from agent.shop_tools import ToolContext, ToolOutcome, run_tool
from agent.state import build_state
from agent.state_block import StateBlock, render
from agent.stream_guard import RedactingStream
from agent.texts import Locale, reply_locale, say
from agent.tool_schemas import openai_tools
from agent.transcript import (
    Event,
    StoredEvent,
    append_events,
    history_messages,
    last_user_text,
    load_recent,
    message_event,
    widget_event,
)
from agent.widgets import CardFormConfig, Widget
from prompts import PromptSet
from prompts.variants import variant_prompts
from tools.conversations import load_conversation
from tools.settings import CommerceSettings
from tools.store.db import Database
from tools.store.models import Conversation, ConversationEvent, ModelCall, utcnow

log = logging.getLogger(__name__)

#: Widget kinds of which a reply shows only the newest (a turn that edits the cart twice shows
#: one cart).
_LATEST_ONLY = {"cart", "payment_methods", "card_form", "address_form", "confirm"}
#: More tool calls than this in one model response are refused (a looping or injected model).
MAX_TOOL_CALLS_PER_STEP = 8
#: The largest value an INTEGER column holds on every backend (PostgreSQL's is 32-bit).
_MAX_STORED_INT = 2**31 - 1
#: Tool-result codes that mean the model got the call wrong (not that the shop refused): the
#: model may correct itself, but the text was written for it, never for the shopper.
_MODEL_MISTAKES = frozenset({"invalid_arguments", "unknown_tool", "too_many_tool_calls"})
#: Into the usage table itself: a turn's rows go in with one executemany, past the ORM's unit of
#: work; built once.
_INSERT_MODEL_CALL = insert(cast(Table, ModelCall.__table__))


class TurnListener(Protocol):
    """Hears a turn while it runs (the streaming endpoint implements it)."""

    async def accepted(self) -> None:
        """The shopper's message is stored: from here on, nothing the model does can lose it."""

    async def text(self, step: int, delta: str) -> None:
        """A piece of the reply of model call `step` (a later step's text replaces an earlier's)."""


@dataclass
class TurnResult:
    events: list[Event]
    source: str  # model | guided | fixed
    model_calls: int = 0
    tool_calls: list[str] = field(default_factory=list)
    prompt_tokens: int = 0
    completion_tokens: int = 0


@dataclass
class ConversationAgent:
    """Answers shopper messages for any conversation; holds no per-conversation state."""

    db: Database
    model: Model
    commerce: CommerceSettings
    card_form: CardFormConfig
    prompts: PromptSet
    max_steps: int = 4
    history_turns: int = DEFAULT_HISTORY_TURNS
    shop_name: str = "chatpay general store"
    _system: dict[tuple[str, str], str] = field(default_factory=dict, init=False, repr=False)
    #: Prompt sets of registered variants by name (a registered name never changes directory).
    _variants: dict[str, PromptSet] = field(default_factory=dict, init=False, repr=False)

    def system_prompt(self, locale: Locale, prompts: PromptSet | None = None) -> str:
        """The rendered system prompt of `prompts` (default: the agent's), built once per locale."""
        prompts = prompts or self.prompts
        key = (prompts.hash, locale)
        if key not in self._system:
            c = self.commerce
            self._system[key] = prompts.render(
                "system", locale, shop_name=self.shop_name, shipping_fee=f"{c.shipping_fee:,}",
                free_shipping_from=f"{c.free_shipping_from:,}", fee_card=f"{c.fee_card:,}",
                fee_after_delivery=f"{c.fee_after_delivery:,}",
                fee_konbini=f"{c.fee_konbini:,}",
                after_delivery_limit=f"{c.after_delivery_limit:,}")
        return self._system[key]

    async def _prompts_for(self, session: AsyncSession, conversation: Conversation) -> PromptSet:
        """The conversation's sticky prompt variant, or the agent's prompts when it has none."""
        name = conversation.prompt_variant
        if name is None:
            return self.prompts
        if name not in self._variants:
            found = await variant_prompts(session, name)
            if found is None:
                log.warning("prompt variant %r is not registered or cannot be read; using the "
                            "default prompts", name)
                return self.prompts
            self._variants[name] = found
        return self._variants[name]

    async def respond(self, conversation_id: str, text: str, *,
                      listener: TurnListener | None = None) -> TurnResult:
        """Handle one shopper message; `listener` hears it stored and the reply as it streams."""
        async with self.db.session() as session:
            conversation = await load_conversation(session, conversation_id)
            home: Locale = "ja" if conversation.locale == "ja" else "en"
            rows = await load_recent(session, conversation_id, limit=self.history_turns * 12)
            previous = last_user_text(rows)
            pair = redact_pair(previous[1] if previous else "", text)
            if previous is not None and pair.previous_changed:
                # The earlier message held the first half of a card number: scrub it too.
                await session.execute(update(ConversationEvent)
                                      .where(ConversationEvent.id == previous[0])
                                      .values(text=pair.previous.text))
                # The reply to it may quote that half back ("nothing found for 4944-3725").
                earlier = next(row.seq for row in rows if row.id == previous[0])
                for row in rows:
                    if row.seq > earlier and row.kind == "message" and row.role == "assistant":
                        quoted = redact_fragments(row.text, pair.previous_fragments)
                        if quoted.found_card:
                            row.text = quoted.text  # the history sent to the model, and:
                            await session.execute(update(ConversationEvent)
                                                  .where(ConversationEvent.id == row.id)
                                                  .values(text=quoted.text))
            clean = pair.current.text
            found_card = pair.current.found_card or pair.split_card
            locale = reply_locale(clean, home)
            last = rows[-1] if rows else None
            # The newest event is this very message with no reply after it: the turn that stored
            # it failed before answering (the database went away while the model was thinking),
            # and this is the shopper sending it again. Answer it; do not store it twice.
            resent = (last is not None and last.kind == "message" and last.role == "user"
                      and last.text == clean and not pair.previous_changed)
            # The rows were read in this transaction: their last seq is the conversation's.
            last_seq = rows[-1].seq if rows else 0
            stored: list[StoredEvent] = []
            if not resent:
                last_seq = await append_events(session, conversation_id,
                                               [message_event("user", clean)], source="shopper",
                                               after_seq=last_seq)
                # In memory only (the row went in by executemany): history needs its fields.
                stored = [StoredEvent(id=None, seq=last_seq, kind="message", role="user",
                                      text=clean, widget=None)]
            if found_card:
                # A shopper pasting a card wants to pay by card: take that as the method choice
                # (if none was made) so the token from the form leads straight to a confirmation.
                if conversation.payment_method is None:
                    conversation.payment_method = "card"
                events = [message_event("assistant", say("card_in_chat", locale)),
                          widget_event(widgets.card_form(self.card_form, locale,
                                                         conversation_id))]
                await append_events(session, conversation_id, events, source="fixed",
                                    after_seq=last_seq)
                await session.commit()
                if listener is not None:
                    await listener.accepted()
                return TurnResult(events, "fixed")
            # The rows read above plus the message just stored: no second read of the transcript.
            rows = [*rows, *stored]
            # The first model call's state, read in this transaction rather than a new one.
            state = await build_state(session, conversation, home, rows, self.commerce)
            prompts = await self._prompts_for(session, conversation)
            await session.commit()
        if listener is not None:
            await listener.accepted()
        return await self._run_model(conversation_id, home, locale, clean, rows, state, listener,
                                     prompts)

    async def _run_model(self, conversation_id: str, home: Locale, locale: Locale, text: str,
                         rows: list[StoredEvent], state: StateBlock,
                         listener: TurnListener | None, prompts: PromptSet) -> TurnResult:
        base: list[dict[str, Any]] = [{"role": "system",
                                       "content": self.system_prompt(home, prompts)}]
        base += history_messages(rows, home, max_user_turns=self.history_turns)
        tools = list(openai_tools())
        step_messages: list[dict[str, Any]] = []
        shown: list[Widget] = []
        calls: list[dict[str, Any]] = []
        # Whether `state` still describes the checkout after every tool this turn ran (it is not
        # rebuilt when a reply with text ends the turn right after its tools).
        state_current = True
        result = TurnResult(events=[], source="model")
        final_text: str | None = None
        last_error: str | None = None
        garbage = 0
        for step in range(1, self.max_steps + 1):
            messages = [*base, *step_messages, {"role": "system", "content": render(state)}]
            try:
                response = await self._request(messages, tools, step, listener)
            except ModelError as exc:
                log.warning("model failed for conversation %s: %s", conversation_id,
                            type(exc).__name__)
                calls.append(self._failed_call_row(conversation_id, step, exc, prompts))
                result.source = "guided"
                break
            calls.append(self._call_row(conversation_id, step, response, "ok", prompts))
            result.model_calls += 1
            result.prompt_tokens += response.usage.prompt_tokens
            result.completion_tokens += response.usage.completion_tokens
            if not response.tool_calls:
                if response.content and response.content.strip():
                    final_text = response.content.strip()
                    break
                garbage += 1  # neither text nor tools: ask once more, then guide
                if garbage >= 2:
                    result.source = "guided"
                    break
                continue
            outcomes, after = await self._run_tools(
                conversation_id, home, locale, response, result,
                rows if step < self.max_steps else None)
            state_current = after is not None
            if after is not None:
                state = after
            step_messages.append(response.to_message())
            for call, outcome in zip(response.tool_calls, outcomes, strict=True):
                step_messages.append({"role": "tool", "tool_call_id": call.id,
                                      "content": json.dumps(outcome.result, ensure_ascii=False,
                                                            separators=(",", ":"))})
                shown.extend(outcome.widgets)
            failures = [o for o in outcomes if not o.ok]
            refusals = [o for o in failures if o.result["error"].get("code") not in _MODEL_MISTAKES]
            last_error = str(refusals[-1].result["error"]["message"]) if refusals else None
            if len(failures) == len(outcomes) and not refusals:
                garbage += 1  # not one call could even be run: as useless as an empty answer
                if garbage >= 2:
                    result.source = "guided"
                    break
            if response.content and response.content.strip() and not failures:
                final_text = response.content.strip()
                break
        return await self._finish(conversation_id, home, locale, text, result, final_text,
                                  last_error, shown, calls,
                                  ready=not state.missing if state_current else None)

    async def _request(self, messages: list[Message], tools: list[ToolSchema], step: int,
                       listener: TurnListener | None) -> ModelResponse:
        """One model call, streamed to `listener` when there is one and the model can stream."""
        if listener is None or not isinstance(self.model, StreamingModel):
            return await self.model.request(messages, tools)
        guard = RedactingStream()

        async def forward(delta: str) -> None:
            safe = guard.feed(_storable(delta))  # as the stored reply will read
            if safe:
                await listener.text(step, safe)

        response = await self.model.request_stream(messages, tools, on_text=forward)
        rest = guard.flush()
        if rest:
            await listener.text(step, rest)
        return response

    async def _run_tools(self, conversation_id: str, home: Locale, locale: Locale,
                         response: ModelResponse, result: TurnResult,
                         rows: list[StoredEvent] | None,
                         ) -> tuple[list[ToolOutcome], StateBlock | None]:
        """Run the response's tool calls; with `rows`, also the state for the next model call.

        That state is read in the tools' own transaction (a separate one per model call cost a
        BEGIN and a conversation read more per step), and not at all when this response ends the
        turn: text with every tool succeeding.
        """
        outcomes: list[ToolOutcome] = []
        async with self.db.session() as session:
            conversation = await session.get(Conversation, conversation_id)
            assert conversation is not None  # noqa: S101 - checked by respond
            ctx = ToolContext(session=session, conversation=conversation, locale=locale,
                              commerce=self.commerce, card_form=self.card_form)
            for index, call in enumerate(response.tool_calls):
                result.tool_calls.append(call.name)
                if index >= MAX_TOOL_CALLS_PER_STEP:
                    outcomes.append(ToolOutcome({"ok": False, "error": {
                        "code": "too_many_tool_calls",
                        "message": f"At most {MAX_TOOL_CALLS_PER_STEP} tool calls per reply."}}))
                    continue
                outcomes.append(await run_tool(ctx, call.name, call.arguments, call.parse_error))
            state = None
            ends_turn = bool(response.content and response.content.strip()) and all(
                outcome.ok for outcome in outcomes)
            if rows is not None and not ends_turn:
                # get() again: a tool's rolled-back savepoint may have expired the row.
                conversation = await session.get(Conversation, conversation_id)
                assert conversation is not None  # noqa: S101 - checked by respond
                state = await build_state(session, conversation, home, rows, self.commerce)
            await session.commit()
        return outcomes, state

    async def _finish(self, conversation_id: str, home: Locale, locale: Locale, text: str,
                      result: TurnResult, final_text: str | None, last_error: str | None,
                      shown: list[Widget], calls: list[dict[str, Any]], *,
                      ready: bool | None) -> TurnResult:
        """Store the reply (with a confirmation when checkout is ready) and the usage rows.

        `ready` is what the turn's newest state block said (None: a tool ran after it). A known
        "not ready" skips the readiness queries; the state was read after the turn's last tool,
        and a concurrent widget action that completes the checkout answers with its own
        confirmation.
        """
        async with self.db.session() as session:
            conversation: Conversation | None = None
            if result.source == "guided":
                conversation = await self._conversation(session, conversation_id)
                events = await guided_reply(session, conversation, text, locale, self.commerce,
                                            self.card_form)
            else:
                # Redacted like the streamed pieces were, so the stored reply matches what was shown,
                # and after what storing strips: a NUL between digits must not join them unseen.
                reply = redact(_storable(final_text or last_error or say("cart_here", locale))).text
                events = [message_event("assistant", reply)]
                events += [widget_event(w) for w in _dedupe(shown)]
            if ready is not False and not any(
                    e["type"] == "widget" and e["widget"]["kind"] == "confirm" for e in events):
                conversation = conversation or await self._conversation(session, conversation_id)
                events += await confirm_if_ready(session, conversation, locale, self.commerce,
                                                 events, known_ready=ready)
            await append_events(session, conversation_id, events, source=result.source)
            if calls:
                await session.execute(_INSERT_MODEL_CALL, calls)
            await session.commit()
        result.events = events
        return result

    @staticmethod
    async def _conversation(session: AsyncSession, conversation_id: str) -> Conversation:
        conversation = await session.get(Conversation, conversation_id)
        assert conversation is not None  # noqa: S101 - checked by respond
        return conversation

    def _failed_call_row(self, conversation_id: str, step: int, exc: ModelError,
                         prompts: PromptSet) -> dict[str, Any]:
        # Outcome names as in agent.usage; the attempts are what the retry layer spent, so a storm
        # of 429s reads back as 4 attempts rather than none.
        outcome = ("invalid" if isinstance(exc, ModelResponseInvalid)
                   else "refused" if isinstance(exc, ModelHTTPError) else "unavailable")
        row = self._call_row(conversation_id, step, None, outcome, prompts)
        row["attempts"] = exc.attempts if isinstance(exc, ModelUnavailable) else 0
        return row

    def _call_row(self, conversation_id: str, step: int, response: ModelResponse | None,
                  outcome: str, prompts: PromptSet) -> dict[str, Any]:
        """A `model_calls` row, inserted with the turn's others in one executemany."""
        usage = response.usage if response else None
        return {
            "conversation_id": conversation_id, "model": getattr(self.model, "name", "unknown"),
            "prompt_hash": prompts.hash, "step": step,
            "prompt_tokens": _token_count(usage.prompt_tokens if usage else 0),
            "completion_tokens": _token_count(usage.completion_tokens if usage else 0),
            "cached_prompt_tokens": _token_count(usage.cached_prompt_tokens if usage else 0),
            "latency_ms": response.latency_ms if response else 0.0,
            "attempts": response.attempts if response else 0, "outcome": outcome,
            "created_at": utcnow()}


def _storable(text: str) -> str:
    """The model's text without the characters no database column can store."""
    # NUL is refused by PostgreSQL and a lone surrogate cannot be encoded as UTF-8; either would
    # fail the insert and lose the whole turn (tool effects included) to a 500.
    text = text.replace("\x00", "")
    return "".join("\ufffd" if "\ud800" <= ch <= "\udfff" else ch for ch in text)


def _token_count(reported: int) -> int:
    """A usage figure as the endpoint reported it, clamped to what the INTEGER columns hold.

    The figure comes from the model's endpoint: an absurd one (2**63) must not fail the insert
    and, with it, the reply that was already made.
    """
    return min(max(reported, 0), _MAX_STORED_INT)


def _dedupe(shown: list[Widget]) -> list[Widget]:
    """Keep every product list, but only the newest widget of the kinds that replace each other."""
    latest = {w["kind"]: i for i, w in enumerate(shown) if w["kind"] in _LATEST_ONLY}
    return [w for i, w in enumerate(shown)
            if w["kind"] not in _LATEST_ONLY or latest[w["kind"]] == i]
