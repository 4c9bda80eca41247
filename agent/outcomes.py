"""Turning a payment outcome into what the shopper sees: a receipt, a slip, a challenge, a retry."""

from __future__ import annotations

from datetime import datetime
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from agent import widgets
from agent.texts import Locale, reason_text, say, yen
from agent.transcript import Event, message_event, widget_event
from agent.widgets import CardFormConfig
from tools.checkout.order_status import OrderStatus
from tools.checkout.orders import get_order
from tools.checkout.payment_choice import payment_options
from tools.payments.charging import PaymentOutcome, PaymentStatus
from tools.settings import CommerceSettings
from tools.store.models import Conversation, Quote


async def outcome_events(session: AsyncSession, outcome: PaymentOutcome,
                         conversation: Conversation, locale: Locale,
                         settings: CommerceSettings, card_form: CardFormConfig) -> list[Event]:
    """Bilingual message and widgets for where the order's payment stands."""
    status = outcome.order_status
    values = {"total": yen(outcome.total), "order_id": outcome.order_id}
    if status in (OrderStatus.PAID, OrderStatus.DEFERRED_APPROVED, OrderStatus.AWAITING_SCREENING):
        key = {OrderStatus.PAID: "paid", OrderStatus.DEFERRED_APPROVED: "deferred_approved",
               OrderStatus.AWAITING_SCREENING: "awaiting_screening"}[status]
        return [message_event("assistant", say(key, locale, **values)),
                widget_event(await _receipt(session, outcome, locale))]
    if status is OrderStatus.AWAITING_STORE_PAYMENT:
        slip = dict(outcome.details.get("slip", {}))
        return [message_event("assistant", say("konbini_slip", locale,
                                               deadline=_tokyo(slip.get("deadline", "")),
                                               **values)),
                widget_event({"kind": "konbini_slip", "order_id": outcome.order_id,
                              "total": outcome.total, "currency": outcome.currency, **slip})]
    if status is OrderStatus.REQUIRES_ACTION:
        return [message_event("assistant", say("threeds", locale)),
                widget_event({"kind": "threeds_challenge", "payment_id": outcome.payment_id,
                              "challenge_url": _framed(outcome.challenge_url, card_form, locale),
                              "origin": card_form.gateway_url, "order_id": outcome.order_id})]
    if status is OrderStatus.PENDING_PAYMENT:
        return [message_event("assistant", say("payment_pending", locale))]
    if status is OrderStatus.FAILED:
        if outcome.payment_status is PaymentStatus.SCREENING_REJECTED:
            options = await payment_options(session, conversation.id, settings)
            return [message_event("assistant", say("screening_rejected", locale)),
                    widget_event(widgets.payment_methods(options, None))]
        reason = reason_text(outcome.reason_code, locale)
        if outcome.method.value == "card":
            return [message_event("assistant", say("declined", locale, reason=reason)),
                    widget_event(widgets.card_form(card_form, locale, conversation.id))]
        return [message_event("assistant", say("payment_failed", locale, reason=reason))]
    return [message_event("assistant", say("order_exists", locale, status=status.value))]


def _tokyo(deadline: str) -> str:
    """A slip deadline as shoppers read it: Japan time, e.g. 2026-11-30 23:59 JST."""
    try:
        moment = datetime.fromisoformat(deadline)
    except ValueError:
        return deadline
    return moment.astimezone(ZoneInfo("Asia/Tokyo")).strftime("%Y-%m-%d %H:%M JST")


def _framed(url: str | None, card_form: CardFormConfig, locale: Locale) -> str | None:
    """The challenge URL ready for the chat's iframe: the page may message only our origin."""
    if not url:
        return url
    joiner = "&" if "?" in url else "?"
    return f"{url}{joiner}{urlencode({'origin': card_form.merchant_origin, 'locale': locale})}"


async def _receipt(session: AsyncSession, outcome: PaymentOutcome,
                   locale: Locale) -> widgets.Widget:
    order = await get_order(session, outcome.order_id)
    # Order lines keep the English name for accounting; the quote the shopper confirmed has both.
    quote = await session.get(Quote, order.quote_id)
    names_ja = {line["sku"]: line.get("name_ja") for line in (quote.content["lines"] if quote
                                                               else [])}
    return {
        "kind": "receipt", "order_id": order.id, "status": order.status, "total": order.total,
        "currency": order.currency, "payment_method": order.payment_method,
        "lines": [{"sku": line.sku,
                   "name": (names_ja.get(line.sku) or line.name) if locale == "ja" else line.name,
                   "quantity": line.quantity, "line_total": line.line_total}
                  for line in order.lines],
        "subtotal": order.subtotal, "shipping_fee": order.shipping_fee,
        "payment_fee": order.payment_fee,
        "tax_included": {"10": order.tax_10, "8": order.tax_8},
    }
