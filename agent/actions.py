"""Widget actions: what the shopper does with buttons and forms. Deterministic, no model call.

This module only houses the action types (the public contract of `POST .../actions`) and their
handlers. Each handler calls `tools/` directly and returns the events to show; the shopper-facing
assistant events are stored in the transcript so the model sees them in later turns. Refusals are
`DomainError`s (the API answers 4xx and nothing changes). Only `confirm` places an order.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter
from sqlalchemy.ext.asyncio import AsyncSession

from agent import widgets
from agent.flow import confirm_if_ready, confirmation, next_step
from agent.outcomes import outcome_events
from agent.texts import Locale, method_name, say
from agent.transcript import Event, append_events, message_event, widget_event
from agent.widgets import CardFormConfig
from tools import cart as cart_ops
from tools.address import save_address, validate_address
from tools.checkout.payment_choice import choose_payment_method, payment_options
from tools.conversations import load_conversation
from tools.payments.card_intake import accept_card_token
from tools.payments.charging import ChargePolicy, complete_threeds, place_and_pay
from tools.payments.gateway import PaymentGateway
from tools.settings import CommerceSettings
from tools.store.db import Database
from tools.store.models import Conversation


class _Action(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class QuickReply(_Action):
    type: Literal["quick_reply"]
    value: Literal["view_cart", "checkout", "payment_methods", "enter_card", "confirm",
                   "start_over"]


class AddToCart(_Action):
    type: Literal["add_to_cart"]
    sku: str = Field(min_length=1, max_length=64)
    quantity: int = Field(default=1, ge=1, le=999)


class RemoveFromCart(_Action):
    type: Literal["remove_from_cart"]
    sku: str = Field(min_length=1, max_length=64)


class AddressFields(_Action):
    name: str = Field(max_length=100)
    postal_code: str = Field(max_length=20)
    prefecture: str = Field(default="", max_length=20)
    city: str = Field(default="", max_length=100)
    line1: str = Field(max_length=200)
    line2: str = Field(default="", max_length=200)
    phone: str = Field(max_length=30)
    email: str = Field(max_length=254)


class SubmitAddress(_Action):
    type: Literal["submit_address"]
    fields: AddressFields


class ChooseMethod(_Action):
    type: Literal["choose_payment_method"]
    method: Literal["card", "after_delivery", "konbini"]


class CardToken(_Action):
    type: Literal["card_token"]
    token: str = Field(min_length=1, max_length=200)


class Checkout(_Action):
    type: Literal["checkout"]


class Confirm(_Action):
    type: Literal["confirm"]
    quote_id: str = Field(min_length=1, max_length=64)
    quote_hash: str = Field(min_length=1, max_length=128)


class ThreeDSComplete(_Action):
    type: Literal["threeds_complete"]
    payment_id: str = Field(min_length=1, max_length=64)


Action = Annotated[
    QuickReply | AddToCart | RemoveFromCart | SubmitAddress | ChooseMethod | CardToken | Checkout
    | Confirm | ThreeDSComplete,
    Field(discriminator="type"),
]
ACTION_ADAPTER: TypeAdapter[Action] = TypeAdapter(Action)


@dataclass
class ActionContext:
    db: Database
    gateway: PaymentGateway
    commerce: CommerceSettings
    card_form: CardFormConfig
    conversation_id: str
    locale: Locale
    charge_policy: ChargePolicy | None = None
    return_url: str | None = None


async def handle_action(ctx: ActionContext, action: Action) -> list[Event]:
    """Carry out one widget action and store what the shopper is shown."""
    if isinstance(action, Confirm):
        outcome = await place_and_pay(
            ctx.db, ctx.gateway, conversation_id=ctx.conversation_id, quote_id=action.quote_id,
            quote_hash=action.quote_hash, settings=ctx.commerce, policy=ctx.charge_policy,
            return_url=ctx.return_url)
        return await _finish(ctx, lambda s, c: outcome_events(s, outcome, c, ctx.locale,
                                                              ctx.commerce, ctx.card_form))
    if isinstance(action, ThreeDSComplete):
        outcome = await complete_threeds(ctx.db, ctx.gateway, conversation_id=ctx.conversation_id,
                                         payment_id=action.payment_id)
        return await _finish(ctx, lambda s, c: outcome_events(s, outcome, c, ctx.locale,
                                                              ctx.commerce, ctx.card_form))
    async with ctx.db.session() as session:
        conversation = await load_conversation(session, ctx.conversation_id)
        events = await _handle(ctx, session, conversation, action)
        events += await confirm_if_ready(session, conversation, ctx.locale, ctx.commerce, events)
        await append_events(session, conversation.id, events, source="action")
        await session.commit()
        return events


async def _finish(ctx: ActionContext, build: Any) -> list[Event]:
    async with ctx.db.session() as session:
        conversation = await load_conversation(session, ctx.conversation_id)
        events: list[Event] = await build(session, conversation)
        await append_events(session, conversation.id, events, source="action")
        await session.commit()
        return events


async def _handle(ctx: ActionContext, session: AsyncSession, conversation: Conversation,
                  action: Action) -> list[Event]:
    locale, settings = ctx.locale, ctx.commerce
    if isinstance(action, AddToCart):
        view = await cart_ops.add_item(session, conversation.id, action.sku, action.quantity,
                                       settings=settings)
        added = next(li for li in view.lines if li.sku == cart_ops.normalize_sku(action.sku))
        name = added.name_ja if locale == "ja" else added.name
        return [message_event("assistant", say("added", locale, quantity=action.quantity,
                                               name=name)),
                widget_event(widgets.cart(view))]
    if isinstance(action, RemoveFromCart):
        before = await cart_ops.get_cart(session, conversation.id, settings=settings)
        line = next((li for li in before.lines
                     if li.sku == cart_ops.normalize_sku(action.sku)), None)
        view = await cart_ops.remove_item(session, conversation.id, action.sku, settings=settings)
        name = (line.name_ja if locale == "ja" else line.name) if line else action.sku
        return [message_event("assistant", say("removed", locale, name=name)),
                widget_event(widgets.cart(view))]
    if isinstance(action, SubmitAddress):
        address = validate_address(action.fields.model_dump())
        await save_address(session, conversation.id, address)
        saved = [message_event("assistant", say("address_saved", locale,
                                                address=address.one_line(locale)))]
        return saved + await next_step(session, conversation, locale, settings, ctx.card_form)
    if isinstance(action, ChooseMethod):
        method = await choose_payment_method(session, conversation.id, action.method, settings)
        chosen = [message_event("assistant", say("method_chosen", locale,
                                                 method=method_name(method.value, locale)))]
        if method.value == "card" and not conversation.card_token:
            chosen.append(widget_event(widgets.card_form(ctx.card_form, locale, conversation.id)))
            return chosen
        return chosen + await next_step(session, conversation, locale, settings, ctx.card_form)
    if isinstance(action, CardToken):
        info = await accept_card_token(session, ctx.gateway, conversation.id, action.token)
        accepted = [message_event("assistant", say("card_accepted", locale,
                                                   brand=info.brand.upper(), last4=info.last4))]
        return accepted + await next_step(session, conversation, locale, settings, ctx.card_form)
    if isinstance(action, Checkout):
        return await next_step(session, conversation, locale, settings, ctx.card_form)
    assert isinstance(action, QuickReply)  # noqa: S101 - the union is exhausted above
    return await _quick_reply(ctx, session, conversation, action.value)


async def _quick_reply(ctx: ActionContext, session: AsyncSession, conversation: Conversation,
                       value: str) -> list[Event]:
    locale, settings = ctx.locale, ctx.commerce
    if value == "view_cart":
        view = await cart_ops.get_cart(session, conversation.id, settings=settings)
        text = say("cart_empty" if view.is_empty else "cart_here", locale)
        return [message_event("assistant", text), widget_event(widgets.cart(view))]
    if value == "payment_methods":
        options = await payment_options(session, conversation.id, settings)
        return [message_event("assistant", say("ask_method", locale)),
                widget_event(widgets.payment_methods(options, conversation.payment_method))]
    if value == "enter_card":
        return [message_event("assistant", say("ask_card", locale)),
                widget_event(widgets.card_form(ctx.card_form, locale, conversation.id))]
    if value == "confirm":
        shown = await confirmation(session, conversation, locale, settings)
        return shown or await next_step(session, conversation, locale, settings, ctx.card_form)
    if value == "start_over":
        await cart_ops.clear_cart(session, conversation.id, settings=settings)
        return [message_event("assistant", say("cleared", locale))]
    return await next_step(session, conversation, locale, settings, ctx.card_form)
