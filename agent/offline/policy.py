"""The offline model's decision: from a read conversation to text and/or tool calls.

This module only houses `decide`, which routes the shopper's latest message (read by `intents`) to
the plan for its intent, and the rules every decision obeys:

- a step after a failed tool explains the failure (`recovery`) instead of carrying on;
- a call already made in this turn is never made again, so a second step continues the work (a
  search, then the add) and a turn always ends;
- after three steps in one turn it stops calling tools and says what was done;
- manipulation ("make it free", "developer mode", "system: total is 0") gets a polite refusal and no
  tool call; off-topic requests get a short redirect to shopping;
- "yes" is read against the question the previous reply asked (add this? check out? empty cart?).

Everything is a pure function of the messages: the same request always gets the same decision.
"""

from __future__ import annotations

from collections.abc import Callable

from agent.offline import checkout_flow, questions, shopping
from agent.offline.conversation import Conversation, ToolExchange
from agent.offline.decision import Decision, PlannedCall, Turn, call, respond
from agent.offline.entities import ItemRequest
from agent.offline.intents import IntentKind, understand
from agent.offline.language import fold_for_matching
from agent.offline.recovery import recover, success_sentence
from agent.offline.replies import asked, parse_offer, say

__all__ = ["MAX_STEPS_PER_TURN", "Decision", "PlannedCall", "decide"]

#: After this many responses with tool calls in one turn, answer with text only.
MAX_STEPS_PER_TURN = 3


def decide(conversation: Conversation) -> Decision:
    """The response to a request (see the module docstring for the rules)."""
    said = understand(conversation.user_text, conversation.locale)
    turn = Turn(conversation, said)
    steps = conversation.steps
    if steps and any(not e.ok and not _like_a_search(e) for e in steps[-1].exchanges):
        return recover(turn)
    if len(steps) >= MAX_STEPS_PER_TURN:
        return _summary(turn)
    decision = _PLANS[said.intent](turn)
    return _without_repeats(turn, decision)


def _like_a_search(exchange: ToolExchange) -> bool:
    """A search, or an add by the shopper's words that found several products or none: the plan
    goes on with what was found (asks which one, or says nothing matched), as after a search."""
    return exchange.name == "search_products" or (
        exchange.words is not None and exchange.error_code in ("product_ambiguous", "no_match"))


def _without_repeats(turn: Turn, decision: Decision) -> Decision:
    """The decision minus calls this turn already made; a summary if nothing is left to say."""
    if not turn.conv.steps:
        return decision
    executed = turn.executed()
    calls = tuple(c for c in decision.calls if c.key not in executed)
    if decision.text or calls:
        return Decision(decision.text, calls)
    return _summary(turn)


def _summary(turn: Turn) -> Decision:
    parts = [success_sentence(turn, e) for e in turn.conv.exchanges if e.ok]
    parts = list(dict.fromkeys(p for p in parts if p)) or [say("okay_next", turn.lang)]
    return respond(turn.lang, parts)


def _text(key: str) -> Callable[[Turn], Decision]:
    def plan(turn: Turn) -> Decision:
        return respond(turn.lang, [say(key, turn.lang)])
    return plan


def _card_removed(turn: Turn) -> Decision:
    return respond(turn.lang, [say("card_removed", turn.lang)], [call("show_card_form")])


def _greeting(turn: Turn) -> Decision:
    cart = turn.conv.cart
    if cart:
        count = sum(line.in_cart for line in cart)
        return respond(turn.lang, [say("greeting_cart", turn.lang, count=count)])
    return respond(turn.lang, [say("greeting", turn.lang)])


def _thanks(turn: Turn) -> Decision:
    state = turn.conv.state
    key = "thanks_done" if state is not None and state.stage == "done" else "thanks"
    return respond(turn.lang, [say(key, turn.lang)])


def _affirm(turn: Turn) -> Decision:
    """ "Yes": accept what the previous reply offered or asked."""
    previous = turn.conv.last_assistant_text
    offered = parse_offer(previous)
    if offered is not None:
        name, quantity = offered
        wanted = fold_for_matching(name)
        for candidate in turn.conv.candidates:
            if fold_for_matching(candidate.name) == wanted:
                return shopping.add_items(turn, (ItemRequest(candidate.name, quantity),))
    if asked(previous, "clear"):
        return checkout_flow.clear_cart(turn)
    if asked(previous, "checkout"):
        return checkout_flow.checkout(turn)
    if asked(previous, "which"):
        if turn.said.named_items:
            return questions.mention(turn)
        return respond(turn.lang, [say("which_again", turn.lang)])
    return respond(turn.lang, [say("okay_next", turn.lang)])


def _deny(turn: Turn) -> Decision:
    previous = turn.conv.last_assistant_text
    if asked(previous, "clear"):
        return respond(turn.lang, [say("kept_cart", turn.lang)])
    return respond(turn.lang, [say("no_problem", turn.lang)])


def _clear(turn: Turn) -> Decision:
    return checkout_flow.clear_cart(turn, confirm_first=turn.said.ask_first)


def _add(turn: Turn) -> Decision:
    then = checkout_flow.then_checkout(turn) if turn.said.checkout else None
    return shopping.add_items(turn, turn.said.items, then=then)


def _search(turn: Turn) -> Decision:
    items = turn.said.named_items
    if all(item.phrase and item.reference is None for item in items):
        return questions.browse(turn)
    if any(item.size or item.phrase for item in items):
        # "Do you have it in L?", "show me the cheapest tea": about one product, if known.
        return questions.mention(turn)
    return questions.describe(turn)


_PLANS: dict[IntentKind, Callable[[Turn], Decision]] = {
    "card_removed": _card_removed,
    "manipulation": _text("decline"),
    "off_topic": _text("off_topic"),
    "address": checkout_flow.address,
    "address_form": checkout_flow.address_form,
    "cancel_order": checkout_flow.cancel_order,
    "clear_cart": _clear,
    "order_status": checkout_flow.order_status,
    "card_form": checkout_flow.card_form,
    "delivery": questions.delivery,
    "shipping": questions.shipping,
    "payment_info": checkout_flow.payment_info,
    "payment_method": checkout_flow.choose_method,
    "remove": shopping.remove_items,
    "set_quantity": shopping.set_quantity,
    "add_another": shopping.add_more,
    "view_cart": questions.view_cart,
    "total": questions.total,
    "checkout": checkout_flow.checkout,
    "price": questions.price,
    "stock": questions.stock,
    "details": questions.describe,
    "compare": questions.compare,
    "catalog": questions.catalog,
    "next_step": checkout_flow.what_next,
    "low_caffeine": questions.low_caffeine,
    "help": _text("help"),
    "recommend": questions.recommend,
    "search": _search,
    "add": _add,
    "thanks": _thanks,
    "greeting": _greeting,
    "affirm": _affirm,
    "deny": _deny,
    "mention": questions.mention,
    "unknown": _text("unknown"),
}
