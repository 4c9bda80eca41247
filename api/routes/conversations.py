"""The shopper's conversation API: start a chat, send messages, press widgets, read the transcript.

Contract (other tools depend on it):
- `POST /api/conversations` {"locale"?} → 201 {"id", "token", "events"}
- `POST /api/conversations/{id}/messages` {"text"} → {"events"}  (Bearer token); with
  `Accept: text/event-stream`, the same events streamed after the reply's text deltas (api.streaming)
- `POST /api/conversations/{id}/actions` {"type", ...} → {"events"}  (Bearer token)
- `GET /api/conversations/{id}` → transcript, cart, stage, order  (Bearer token)
Widget actions never call the model; only the `confirm` action places an order.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Header, Request
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select

from agent.actions import Action, ActionContext, handle_action
from agent.flow import missing_steps
from agent.state import build_state
from agent.texts import Locale, say
from agent.transcript import Event, append_events, as_public, load_events, message_event
from agent.transcript import widget_event as widget_event_of
from agent.turn import TurnResult
from agent.widgets import quick_replies
from api import idempotency
from api.deps import AgentDep, CommerceDep, ConversationDep, DatabaseDep, GatewayDep, ServiceDep
from api.streaming import QueueListener, stream_turn
from api.tokens import hash_token, new_token
from prompts.variants import choose_variant
from tools.cart import get_cart
from tools.store.models import Conversation, Order

router = APIRouter(prefix="/api/conversations", tags=["conversations"])


class StartRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    locale: Literal["en", "ja"] = "en"


class StartResponse(BaseModel):
    id: str
    token: str
    events: list[dict[str, Any]]


class MessageRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    text: str = Field(min_length=1, max_length=2000)


class EventsResponse(BaseModel):
    events: list[dict[str, Any]]


@router.post("", status_code=201)
async def start_conversation(request: Request, database: DatabaseDep,
                             body: StartRequest | None = None) -> StartResponse:
    """Open a conversation; the token in the answer is the shopper's credential for it alone.

    The conversation draws its prompt variant here, once (weighted by the registry, see
    `prompts.variants`); every later turn uses that variant's prompts. `app.state.variant_rng`,
    when a test sets it, makes the draw reproducible.
    """
    request.app.state.rate_limits["client"].hit(request.client.host if request.client else "-")
    locale = body.locale if body else "en"
    token = new_token()
    events: list[Event] = [message_event("assistant", say("welcome", locale)),
                           widget_event_of(quick_replies(["view_cart"], locale))]
    async with database.session() as session:
        variant = await choose_variant(session, getattr(request.app.state, "variant_rng", None))
        conversation = Conversation(id=str(uuid.uuid4()), token_hash=hash_token(token),
                                    locale=locale, prompt_variant=variant)
        session.add(conversation)
        await session.flush()
        await append_events(session, conversation.id, events, source="fixed")
        await session.commit()
    return StartResponse(id=conversation.id, token=token, events=events)


IdempotencyKey = Annotated[str | None, Header(
    alias=idempotency.HEADER, pattern=idempotency.KEY_PATTERN,
    description="Send a retried request with the key of its first attempt: it is answered from "
                "the first attempt's result and never runs twice.")]


@router.post("/{conversation_id}/messages", response_model=EventsResponse, responses={
    200: {"content": {"text/event-stream": {"schema": {
        "type": "string", "description": "With `Accept: text/event-stream`: `delta` events "
        "({step, text}), then `events` ({events}) or `error` ({error}), then `done`."}}}}})
async def post_message(request: Request, body: MessageRequest, conversation: ConversationDep,
                       agent: AgentDep, database: DatabaseDep,
                       idempotency_key: IdempotencyKey = None) -> Response | EventsResponse:
    """The shopper's words; the assistant's reply events (streamed when the client accepts SSE)."""
    streaming = "text/event-stream" in request.headers.get("accept", "")
    held: idempotency.Claim | None = None
    if idempotency_key is not None:
        outcome = await idempotency.claim(
            database, conversation.id, idempotency_key,
            idempotency.fingerprint(request.url.path, {"text": body.text}))
        if not isinstance(outcome, idempotency.Claim):
            return idempotency.answer(outcome, streaming=streaming)
        held = outcome

    async def run(listener: QueueListener | None) -> TurnResult:
        try:
            result = await agent.respond(conversation.id, body.text, listener=listener)
        except Exception:
            if held is not None:
                await idempotency.release(database, held)
            raise
        if held is not None:
            await idempotency.finish(database, held, 200, {"events": result.events})
        return result

    if streaming:
        return await stream_turn(run, conversation.locale)
    return EventsResponse(events=(await run(None)).events)


@router.post("/{conversation_id}/actions", response_model=EventsResponse)
async def post_action(request: Request, action: Annotated[Action, Body()],
                      conversation: ConversationDep, database: DatabaseDep, gateway: GatewayDep,
                      commerce: CommerceDep, agent: AgentDep, service: ServiceDep,
                      idempotency_key: IdempotencyKey = None) -> Response | EventsResponse:
    """A widget action (button, form); deterministic, no model call."""
    held: idempotency.Claim | None = None
    if idempotency_key is not None:
        outcome = await idempotency.claim(
            database, conversation.id, idempotency_key,
            idempotency.fingerprint(request.url.path, action.model_dump(mode="json")))
        if not isinstance(outcome, idempotency.Claim):
            return idempotency.answer(outcome, streaming=False)
        held = outcome
    ctx = ActionContext(db=database, gateway=gateway, commerce=commerce,
                        card_form=agent.card_form, conversation_id=conversation.id,
                        locale="ja" if conversation.locale == "ja" else "en",
                        return_url=f"{service.public_url}/")
    try:
        events = await handle_action(ctx, action)
    except Exception:
        if held is not None:
            await idempotency.release(database, held)
        raise
    if held is not None:
        await idempotency.finish(database, held, 200, {"events": events})
    return EventsResponse(events=events)


@router.get("/{conversation_id}")
async def get_conversation(conversation: ConversationDep, database: DatabaseDep,
                           commerce: CommerceDep) -> dict[str, Any]:
    """The redacted transcript, the cart, the checkout stage and the latest order."""
    locale: Locale = "ja" if conversation.locale == "ja" else "en"
    async with database.session() as session:
        fresh = await session.get(Conversation, conversation.id)
        assert fresh is not None  # noqa: S101 - the dependency loaded it
        rows = await load_events(session, conversation.id)
        view = await get_cart(session, conversation.id, settings=commerce)
        state = await build_state(session, fresh, locale, rows, commerce)
        missing = await missing_steps(session, fresh, commerce)
        order = await session.scalar(select(Order).where(Order.conversation_id == conversation.id)
                                     .order_by(Order.created_at.desc()).limit(1))
    return {
        "id": conversation.id,
        "locale": locale,
        "transcript": [as_public(row) for row in rows],
        "cart": view.as_dict(),
        "checkout_stage": state.stage,
        "missing": missing,
        "payment_method": fresh.payment_method,
        "card": ({"brand": fresh.card_brand, "last4": fresh.card_last4}
                 if fresh.card_token else None),
        "order": ({"id": order.id, "status": order.status, "total": order.total,
                   "currency": order.currency, "payment_method": order.payment_method}
                  if order else None),
    }
