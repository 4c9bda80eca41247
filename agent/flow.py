"""The deterministic checkout flow: what the shopper needs to see next, without any model.

This module only houses the decisions shared by guided mode, widget actions and the end of a model
turn: which widget moves the checkout forward from where it stands, and the rule that whenever cart,
address, method (and card) are all in place, the reply carries a fresh confirmation.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from agent import widgets
from agent.texts import Locale, say
from agent.transcript import Event, message_event, widget_event
from agent.widgets import CardFormConfig
from tools.checkout.payment_choice import payment_options
from tools.checkout.quote import CheckoutIncomplete, checkout_state, prepare_quote
from tools.errors import DomainError
from tools.settings import CommerceSettings
from tools.store.models import Conversation


async def missing_steps(session: AsyncSession, conversation: Conversation,
                        settings: CommerceSettings) -> list[str]:
    """What checkout still needs, in order: cart, address, payment_method, card."""
    return (await checkout_state(session, conversation, settings)).missing


async def next_step(session: AsyncSession, conversation: Conversation, locale: Locale,
                    settings: CommerceSettings, card_form: CardFormConfig) -> list[Event]:
    """The events that move checkout forward: a form, the methods, or the confirmation."""
    missing = await missing_steps(session, conversation, settings)
    if not missing:
        return await confirmation(session, conversation, locale, settings)
    first = missing[0]
    if first == "cart":
        return [message_event("assistant", say("cart_empty", locale) + " "
                              + say("guided_browse", locale))]
    if first == "address":
        return [message_event("assistant", say("ask_address", locale)),
                widget_event(widgets.address_form())]
    if first == "payment_method":
        options = await payment_options(session, conversation.id, settings)
        return [message_event("assistant", say("ask_method", locale)),
                widget_event(widgets.payment_methods(options, conversation.payment_method))]
    return [message_event("assistant", say("ask_card", locale)),
            widget_event(widgets.card_form(card_form, locale, conversation.id))]


async def confirmation(session: AsyncSession, conversation: Conversation, locale: Locale,
                       settings: CommerceSettings) -> list[Event]:
    """A fresh confirmation widget, or the reason none can be shown."""
    try:
        quote = await prepare_quote(session, conversation.id, settings)
    except CheckoutIncomplete:
        return []
    except DomainError as exc:
        return [message_event("assistant", exc.message(locale))]
    return [message_event("assistant", say("confirm_ready", locale)),
            widget_event(widgets.confirm(quote))]


async def confirm_if_ready(session: AsyncSession, conversation: Conversation, locale: Locale,
                           settings: CommerceSettings, already: list[Event], *,
                           known_ready: bool | None = None) -> list[Event]:
    """A confirmation to append when everything is in place and none was shown in this reply.

    `known_ready` is the caller's word on readiness (a turn's state block, read after its last
    tool): True skips the cart and address reads (the quote reads them anyway and refuses an
    incomplete checkout), False skips everything.
    """
    if known_ready is False:
        return []
    if any(e["type"] == "widget" and e["widget"]["kind"] == "confirm" for e in already):
        return []
    if known_ready is None and await missing_steps(session, conversation, settings):
        return []
    try:
        quote = await prepare_quote(session, conversation.id, settings)
    except DomainError:
        return []
    return [widget_event(widgets.confirm(quote))]
