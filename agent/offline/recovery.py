"""The step after a tool failed: say what went wrong, in the shopper's words, and what to do.

This module only houses the reading of failed tool results (`{"ok": false, "error": {...}}`) and
of the successes that came with them. The agent shows none of the earlier step's text when a tool
failed, so the reply written here covers the whole turn: what did happen ("Added 2 × Sencha") and
what did not ("Sorry, only 3 of the mug left. Shall I add 3?"). Where a widget is the fix (the
payment methods after an unavailable method, the missing step after `checkout_incomplete`) it is
shown again; a call that already ran in this turn is never repeated.

Known error codes get their own wording; any other code falls back to the tool's own message,
which the shop writes in the shopper's language.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from agent.offline import replies
from agent.offline.checkout_flow import next_step
from agent.offline.conversation import ToolExchange
from agent.offline.decision import Decision, PlannedCall, Turn, call, respond
from agent.offline.replies import method_name, say, yen

__all__ = ["recover", "success_sentence"]

_FIELD_NAMES: dict[str, tuple[str, str]] = {
    "name": ("name", "お名前"), "postal_code": ("postal code", "郵便番号"),
    "prefecture": ("prefecture", "都道府県"), "city": ("city", "市区町村"),
    "line1": ("street address", "番地"), "line2": ("building", "建物名"),
    "phone": ("phone", "電話番号"), "email": ("e-mail", "メールアドレス"),
}


def _name_of(turn: Turn, sku: str, result: Mapping[str, Any] | None = None) -> str:
    if result is not None:
        cart = result.get("cart")
        lines = cart.get("lines") if isinstance(cart, Mapping) else None
        for line in lines if isinstance(lines, list) else []:
            if isinstance(line, Mapping) and str(line.get("sku", "")).upper() == sku.upper():
                return str(line.get("name") or sku)
    for candidate in turn.conv.candidates:
        if candidate.sku.upper() == sku.upper():
            return candidate.name
    return sku


def success_sentence(turn: Turn, exchange: ToolExchange) -> str:
    """What a successful state-changing call did, in one sentence ("" for read-only calls)."""
    lang = turn.lang
    args = exchange.arguments
    sku = str(args.get("sku", ""))
    name = exchange.name
    if name == "add_to_cart":
        return say("added", lang, quantity=args.get("quantity", 1),
                   name=_name_of(turn, exchange.sku, exchange.result))
    if name == "set_cart_quantity":
        if args.get("quantity") == 0:
            return say("removed", lang, name=_name_of(turn, sku))
        return say("quantity_set", lang, quantity=args.get("quantity"),
                   name=_name_of(turn, sku, exchange.result))
    if name == "remove_from_cart":
        return say("removed", lang, name=_name_of(turn, sku))
    if name == "clear_cart":
        return say("cleared", lang)
    if name == "set_shipping_address" and exchange.result is not None:
        return say("address_saved", lang, address=str(exchange.result.get("address", "")))
    if name == "choose_payment_method":
        return say("method_chosen", lang, method=method_name(str(args.get("method", "")), lang))
    return ""


def _explain(turn: Turn, exchange: ToolExchange) -> tuple[str, list[PlannedCall]]:
    """The apology/explanation for one failed call, and the calls that help fix it."""
    lang = turn.lang
    error = exchange.error
    code = str(error.get("code", ""))
    details = error.get("details")
    info: Mapping[str, Any] = details if isinstance(details, Mapping) else {}
    sku = str(info.get("sku") or exchange.arguments.get("sku") or "")
    if code == "no_match":
        query = exchange.arguments.get("query") or exchange.words or ""
        return say("not_found", lang, query=query), []
    if code == "insufficient_stock":
        # An add by the shopper's words names the product the shop chose in the details.
        name = str(info.get("name") or _name_of(turn, sku))
        available = info.get("available")
        if not isinstance(available, int) or available <= 0:
            return say("sold_out", lang, name=name), []
        in_cart = next((c.in_cart for c in turn.conv.cart if c.sku == sku), 0)
        text = say("only_left", lang, name=name, stock=available)
        room = available - in_cart
        if room > 0 and exchange.name == "add_to_cart":
            text = replies.join_sentences([text, replies.offer(name, room, lang)], lang)
        return text, []
    if code == "invalid_quantity":
        return say("error_quantity", lang, min=info.get("min", 1), max=info.get("max", 99)), []
    if code == "not_in_cart":
        return say("not_in_cart", lang, name=_name_of(turn, sku)), []
    if code == "product_not_found":
        return say("error_no_product", lang), []
    if code == "cart_full":
        return say("error_cart_full", lang, max=info.get("max_lines", "")), []
    if code == "invalid_input" and exchange.name == "set_shipping_address":
        return _address_problems(turn, info), []
    if code == "checkout_incomplete":
        missing = info.get("missing")
        needed = [str(m) for m in missing] if isinstance(missing, list) else None
        calls, parts = next_step(turn, missing=needed)
        return replies.join_sentences(parts, lang), calls
    if code == "payment_method_unavailable":
        limit = info.get("limit")
        text = say("error_method", lang, limit=yen(limit) if isinstance(limit, int) else "")
        return text, [call("show_payment_methods")]
    if code == "unknown_payment_method":
        return say("ask_method", lang), [call("show_payment_methods")]
    if code == "order_not_found":
        return say("no_order", lang), []
    message = error.get("message")
    if isinstance(message, str) and message and code not in ("invalid_arguments", "unknown_tool",
                                                                "too_many_tool_calls", "no_result"):
        return message, []
    return say("error_generic", lang), []


def _address_problems(turn: Turn, info: Mapping[str, Any]) -> str:
    lang = turn.lang
    fields = info.get("fields")
    problems: list[str] = []
    for field, problem in (fields.items() if isinstance(fields, Mapping) else []):
        label = _FIELD_NAMES.get(str(field), (str(field), str(field)))[1 if lang == "ja" else 0]
        message = problem.get(lang) if isinstance(problem, Mapping) else None
        if isinstance(message, str) and lang == "en":
            message = message.rstrip(". ")  # the template puts the sentences together
        problems.append(f"{label}: {message}" if message else label)
    listed = ("" if lang == "ja" else "; ").join(problems) if problems else ""
    return say("address_form_prefilled", lang, problems=listed)


def recover(turn: Turn) -> Decision:
    """The reply after a step in which some tool failed (covers the whole turn)."""
    lang = turn.lang
    parts: list[str] = []
    calls: list[PlannedCall] = []
    executed = turn.executed()
    address_refused = any(e.name == "set_shipping_address" and not e.ok
                          for e in turn.conv.exchanges)
    for exchange in turn.conv.exchanges:
        if exchange.ok:
            parts.append(success_sentence(turn, exchange))
            continue
        if address_refused and exchange.error_code == "checkout_incomplete":
            # The confirmation went with the address in one response: the address's own
            # explanation and pre-filled form are the fix; a blank form must not replace it.
            continue
        text, fixes = _explain(turn, exchange)
        parts.append(text)
        calls.extend(fix for fix in fixes if fix.key not in executed
                     and all(fix.key != c.key for c in calls))
    if address_refused and turn.done("show_payment_methods") is not None:
        # The methods went out with the address in one response and are on screen already.
        parts.append(say("methods_after_address", lang))
    return respond(lang, list(dict.fromkeys(p for p in parts if p)), calls)
