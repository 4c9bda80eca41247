"""Guided mode: the deterministic reply when the model is unreachable or keeps answering garbage.

This module only houses that reply. It must let a shopper finish a purchase with no model at all:
if their words name products, it shows them (with add buttons); otherwise it shows the next step of
checkout (address form, payment methods, card form, confirmation) and quick replies for the rest.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from agent import widgets
from agent.flow import missing_steps, next_step
from agent.shop_tools import product_card
from agent.texts import Locale, say
from agent.transcript import Event, message_event, widget_event
from agent.widgets import CardFormConfig
from tools.catalog.search import search_products
from tools.settings import CommerceSettings
from tools.store.models import Conversation

# A search hit this good means the shopper named a product; below it, words like "hello" or
# "checkout" must not turn into a list of loosely matching products.
_CONFIDENT_SCORE = 70.0


async def guided_reply(session: AsyncSession, conversation: Conversation, text: str,
                       locale: Locale, settings: CommerceSettings,
                       card_form: CardFormConfig) -> list[Event]:
    """Events for a shopper message answered without a model."""
    events = [message_event("assistant", say("guided_intro", locale))]
    hits = [hit for hit in await search_products(session, text, limit=6)
            if hit.score >= _CONFIDENT_SCORE]
    if hits:
        events.append(message_event("assistant", say("guided_found", locale)))
        events.append(widget_event(widgets.product_list([product_card(h.product) for h in hits])))
        options = ["view_cart", "checkout"]
    else:
        missing = await missing_steps(session, conversation, settings)
        if missing == ["cart"] or "cart" in missing:
            events.append(message_event("assistant", say("guided_browse", locale)))
            options = ["view_cart"]
        else:
            events.extend(await next_step(session, conversation, locale, settings, card_form))
            options = ["view_cart", "payment_methods", "start_over"]
    events.append(widget_event(widgets.quick_replies(options, locale)))
    return events
