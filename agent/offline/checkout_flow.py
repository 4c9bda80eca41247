"""Checkout: the next thing needed, the address typed in the chat, the payment method, orders.

This module only houses the checkout plans. They follow the state block's `missing` list in funnel
order (cart → address → payment method → card) and show the widget for the first thing missing, or
call `prepare_checkout` when nothing is: the shopper's own press of Pay places the order, never the
model. An address typed as text is saved with `set_shipping_address`; when every required field was
found, the same response says it is saved (quoting what the shopper typed) and goes on to the next
step, otherwise the call goes alone and the next step explains the shop's field errors. A correction
that gives only what changed keeps the other fields of the shopper's earlier address; a payment
method is chosen and, if that completes everything, the confirmation is prepared in the same
response. Payment after delivery over the limit the system prompt states is declined at once.

Limits: a placed order cannot be canceled from the chat (the reply says to contact the shop); a
payment method named in a question ("can I pay by card?") is explained, not chosen.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from agent.offline.address_text import AddressText, mentions_address, read_address
from agent.offline.decision import Decision, PlannedCall, Turn, call, respond
from agent.offline.language import Lang
from agent.offline.replies import method_name, say, status_name, yen

__all__ = ["address", "address_form", "cancel_order", "card_form", "checkout", "choose_method",
           "clear_cart", "next_step", "order_status", "payment_info", "then_checkout",
           "what_next"]

_PLACED = {"paid", "deferred_approved", "awaiting_screening", "awaiting_store_payment",
           "pending_payment", "requires_action"}


def next_step(turn: Turn, *, done: Iterable[str] = (), method: str | None = None,
              card_form_shown: bool = False, missing: Sequence[str] | None = None
              ) -> tuple[list[PlannedCall], list[str]]:
    """The calls and text for the first thing checkout still needs.

    `done` lists requirements this very response takes care of ("cart" when items are added,
    "address" once saved); `method` is a payment method chosen in it, which settles
    "payment_method" and decides whether a card is needed. `missing` overrides the state block's
    list (a `checkout_incomplete` result is newer than the state).
    """
    lang = turn.lang
    state = turn.conv.state
    if state is None and missing is None:
        # Without the state block the tool itself says what is missing (checkout_incomplete).
        return [call("prepare_checkout")], []
    settled = set(done)
    missing = [m for m in (missing if missing is not None else state.missing if state else [])
               if m not in settled]
    if method is not None:
        missing = [m for m in missing if m != "payment_method"]
        if method != "card":
            missing = [m for m in missing if m != "card"]
        elif (state is None or state.card is None) and "card" not in missing:
            missing.append("card")
    if "cart" in missing:
        return [], [say("cart_empty", lang)]
    if "address" in missing:
        return [call("show_address_form")], [say("ask_address", lang)]
    if "payment_method" in missing:
        return [call("show_payment_methods")], [say("ask_method", lang)]
    if "card" in missing:
        if card_form_shown:
            return [], [say("card_below", lang)]
        return [call("show_card_form")], [say("ask_card", lang)]
    return [call("prepare_checkout")], [say("confirm", lang)]


def checkout(turn: Turn) -> Decision:
    calls, parts = next_step(turn)
    return respond(turn.lang, parts, calls)


def what_next(turn: Turn) -> Decision:
    """ "What should I do next?": find something, check out, or the checkout step still needed."""
    lang = turn.lang
    state = turn.conv.state
    if state is None:
        return checkout(turn)
    if not state.cart:
        return respond(lang, [say("next_browse", lang)])
    if state.address is None and state.payment_method is None:
        # Checkout has not started: say what it involves and let the shopper choose to begin.
        count = sum(line.quantity for line in state.cart)
        return respond(lang, [say("next_cart", lang, count=count, total=yen(state.total))])
    return checkout(turn)


def then_checkout(turn: Turn) -> Decision:
    """What follows adding items when the shopper also asked to check out (or named a method)."""
    method = turn.said.method
    if method is None:
        calls, parts = next_step(turn, done=("cart",))
        return respond(turn.lang, parts, calls)
    return _choose(turn, method, done=("cart",))


def address(turn: Turn) -> Decision:
    """An address typed in the chat: save it, then continue with what checkout needs next."""
    lang = turn.lang
    said = turn.said
    saved = turn.done("set_shipping_address")
    if saved is not None and saved.result is not None:
        parts = [say("address_saved", lang, address=str(saved.result.get("address", "")))]
        method = None
        if said.method is not None and turn.done("choose_payment_method") is not None:
            method = said.method
            parts.append(say("method_chosen", lang, method=method_name(method, lang)))
        calls, more = next_step(turn, done=("address",), method=method,
                                card_form_shown=method == "card")
        return respond(lang, [*parts, *more], calls)
    found = said.address
    if found is not None:
        found = with_earlier_fields(turn, found)
    if found is None or found.found < 2:
        return address_form(turn)
    calls = [call("set_shipping_address", **found.arguments())]
    method = said.method
    state = turn.conv.state
    if found.found < 5 or state is None:
        # A required field is missing (the shop will refuse it and send back the form, pre-filled,
        # for the next step to explain), or without the state the next step is not known: call
        # alone and write the reply once the result is in.
        if method is not None:
            calls.append(call("choose_payment_method", method=method))
        return Decision(None, tuple(calls))
    # Complete: say it is saved and carry on to the next step in this same reply, like a model
    # trusting the tool. An unknown postal code still fails; the next step then explains it.
    parts = [say("address_saved_typed", lang, address=typed_address(found, lang))]
    refusal = _after_delivery_over(turn) if method == "after_delivery" else None
    if refusal is not None:
        return respond(lang, [*parts, refusal], [*calls, call("show_payment_methods")])
    if method is not None:
        calls.append(call("choose_payment_method", method=method))
        parts.append(say("method_chosen", lang, method=method_name(method, lang)))
    card_form_shown = method == "card" and state.card is None
    more_calls, more = next_step(turn, done=("address",), method=method,
                                 card_form_shown=card_form_shown)
    return respond(lang, [*parts, *more], [*calls, *more_calls])


def typed_address(found: AddressText, lang: Lang) -> str:
    """The address as the shopper typed it (postal code, street, building), to quote it back."""
    street = " ".join(part for part in (found.line1, found.line2) if part)
    return f"〒{found.postal_code} {street}" if lang == "ja" else f"{found.postal_code} {street}"


def with_earlier_fields(turn: Turn, found: AddressText) -> AddressText:
    """A correction ("the postal code is 150-0002", a new street without the phone) keeps the
    fields the shopper typed in their latest earlier address; the new message wins where it says
    something. The building goes with the street: a new street drops the old building."""
    if found.found == 5:
        return found
    for role, text in reversed(turn.conv.history):
        if role != "user" or not mentions_address(text):
            continue
        earlier = read_address(text)
        street_from_earlier = not found.line1
        return AddressText(
            name=found.name or earlier.name,
            postal_code=found.postal_code or earlier.postal_code,
            line1=found.line1 or earlier.line1,
            line2=found.line2 or (earlier.line2 if street_from_earlier else ""),
            phone=found.phone or earlier.phone,
            email=found.email or earlier.email,
        )
    return found


def address_form(turn: Turn) -> Decision:
    return respond(turn.lang, [say("ask_address", turn.lang)], [call("show_address_form")])


def choose_method(turn: Turn) -> Decision:
    """ "Card", "後払いで", "konbini": record it, and prepare the confirmation if that was the last
    thing missing (for card, the tool itself shows the card form when no card is entered yet)."""
    method = turn.said.method
    return checkout(turn) if method is None else _choose(turn, method)


def _choose(turn: Turn, method: str, *, done: Iterable[str] = ()) -> Decision:
    lang = turn.lang
    state = turn.conv.state
    refusal = _after_delivery_over(turn) if method == "after_delivery" else None
    if refusal is not None:
        # The system prompt's limit says the shop would refuse it: say so now and show the
        # methods, rather than make the call and explain its failure in a second step.
        return respond(lang, [refusal], [call("show_payment_methods")])
    # The tool shows the card form itself when card is chosen and no card is entered yet.
    needs_card_form = method == "card" and (state is None or state.card is None)
    calls, parts = next_step(turn, done=done, method=method, card_form_shown=needs_card_form)
    return respond(lang, [say("method_chosen", lang, method=method_name(method, lang)), *parts],
                   [call("choose_payment_method", method=method), *calls])


_FEE_QUESTION = re.compile(r"\bfees?\b|\bcharges?\b|\bsurcharge|extra\s+cost|cost\s+extra|手数料"
                           r"|いくらかか|追加料金", re.IGNORECASE)


def payment_info(turn: Turn) -> Decision:
    """Questions about paying: the methods, their fees and the after-delivery limit.

    Fees and the limit are quoted from the system prompt (the payment-methods widget shows them
    too); "can I pay after delivery?" over the limit is answered no, as the tool would refuse it.
    """
    lang = turn.lang
    method = turn.said.method
    facts = turn.conv.payment_facts
    about_fees = bool(_FEE_QUESTION.search(turn.said.text))
    limit = say("after_delivery_limit", lang,
                limit=yen(facts.after_delivery_limit)) if facts is not None else ""
    over = _after_delivery_over(turn) if method == "after_delivery" else None
    if over is not None:
        parts = [over]
    elif method is not None and about_fees and facts is not None:
        parts = [_fee_sentence(method, facts.fees[method], lang),
                 limit if method == "after_delivery" else ""]
    elif method is not None:
        parts = [say("method_yes", lang, method=method_name(method, lang)),
                 limit if method == "after_delivery" else "", say("methods", lang)]
    elif about_fees and facts is not None:
        fees = [f"{method_name(m, lang)} {yen(fee)}" for m, fee in facts.fees.items()]
        parts = [say("fees_all", lang, fees=("、" if lang == "ja" else ", ").join(fees)), limit]
    else:
        parts = [say("methods", lang)]
    return respond(lang, parts, [call("show_payment_methods")])


def _fee_sentence(method: str, fee: int, lang: Lang) -> str:
    if fee == 0:
        text = say("fee_none", lang, method=method_name(method, lang))
    else:
        text = say("fee_is", lang, method=method_name(method, lang), fee=yen(fee))
    return text[:1].upper() + text[1:]


def _after_delivery_over(turn: Turn) -> str | None:
    """The refusal when this cart (with the after-delivery fee) is over the limit, else None."""
    facts = turn.conv.payment_facts
    state = turn.conv.state
    if facts is None or state is None or not state.cart:
        return None
    total = state.subtotal + state.shipping_fee + facts.fees["after_delivery"]
    if total <= facts.after_delivery_limit:
        return None
    return say("after_delivery_over", turn.lang, limit=yen(facts.after_delivery_limit),
               total=yen(total))


def card_form(turn: Turn) -> Decision:
    """ "Enter my card": the secure form (choosing card first when another method is set)."""
    lang = turn.lang
    state = turn.conv.state
    if state is not None and state.payment_method == "card":
        return respond(lang, [say("ask_card", lang)], [call("show_card_form")])
    return respond(lang, [say("method_chosen", lang, method=method_name("card", lang)),
                          say("ask_card", lang)],
                   [call("choose_payment_method", method="card")])


def order_status(turn: Turn) -> Decision:
    """The latest order from the state block; an order named by id is looked up."""
    lang = turn.lang
    said = turn.said
    if said.order_id:
        done = turn.done("order_status")
        if done is None or done.result is None:
            return Decision(None, (call("order_status", order_id=said.order_id),))
        order = done.result.get("order")
        if isinstance(order, dict):
            return respond(lang, [_order_sentence(turn, order)])
    state = turn.conv.state
    if state is None or state.order is None:
        return respond(lang, [say("no_order", lang)])
    return respond(lang, [_order_sentence(turn, state.order.model_dump())])


def _order_sentence(turn: Turn, order: dict[str, object]) -> str:
    lang = turn.lang
    total = order.get("total")
    return say("order_status", lang, order=str(order.get("id", ""))[:8],
               status=status_name(str(order.get("status", "")), lang),
               total=yen(total if isinstance(total, int) else 0),
               method=method_name(str(order.get("payment_method", "")), lang))


def cancel_order(turn: Turn) -> Decision:
    """ "Cancel my order": a placed order is the shop's to cancel; an open cart is emptied."""
    lang = turn.lang
    state = turn.conv.state
    if state is not None and state.order is not None and state.order.status in _PLACED \
            and not state.cart:
        return respond(lang, [say("cancel_placed", lang, order=state.order.id[:8])])
    return clear_cart(turn)


def clear_cart(turn: Turn, *, confirm_first: bool = False) -> Decision:
    lang = turn.lang
    state = turn.conv.state
    if state is not None and not state.cart:
        return respond(lang, [say("already_empty", lang)])
    if confirm_first:
        return respond(lang, [say("confirm_clear", lang)])
    return respond(lang, [say("cleared", lang)], [call("clear_cart")])

