"""Cart edits: which product each item of a message means, and the cart tool calls for it.

This module only houses product resolution for one turn (`resolve`) and the plans for adding,
adding more, changing quantities and removing. A product the conversation has not been shown is
searched first (a response with search calls and no text); the next step resolves it among the
search results and acts: the top hit when it clearly matches, otherwise the shopper is asked which
one. Stock shown to the model is respected: a sold-out product is not added, and a quantity above
the stock is offered at what is left; a quantity over the per-product limit is refused at once. The
text of an add names the product as the shopper will read it, so it goes in the same response as
the calls.

Limits: quantities apply per item as written; "remove the mug" with two mugs in the cart asks which
one, while "no mugs" / "マグはいらない" removes every mug.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from agent.offline import replies
from agent.offline.conversation import ToolExchange
from agent.offline.decision import Decision, PlannedCall, Turn, call, respond
from agent.offline.entities import ItemRequest
from agent.offline.language import Lang
from agent.offline.products import (
    Candidate,
    Reference,
    best_matches,
    is_generic,
    only_shop_words,
    resolve_reference,
)
from agent.offline.replies import say

__all__ = ["MAX_QUANTITY", "Resolved", "add_items", "add_more", "remove_items", "resolve",
           "search_first", "set_quantity"]

_REMOVE_ALL = re.compile(r"^\s*no\s|don'?t\s+want|いらない|要らない|いりません|なしで|不要|\ball\b|全部",
                         re.IGNORECASE)
#: The most of one product a cart line takes: the default of the shop's `max_line_quantity`
#: (`tools.settings`). Neither the tool schemas nor the prompt state it, so it is assumed here.
MAX_QUANTITY = 99
_SIZE_SUFFIX = re.compile(r"\s*\b(?:XXL|XL|XS|S|M|L)\b\s*$")
_JAPANESE = re.compile(r"[\u3040-\u30ff\u3400-\u9fff]")
# "a notebook", "any apron": the shopper's words stand for any product of that kind.
_ANY_OF_A_KIND = r"\b(?:a|an|any)\s+{phrase}\b"


@dataclass(frozen=True, slots=True)
class Resolved:
    """What one item turned out to mean."""

    item: ItemRequest
    product: Candidate | None = None
    options: tuple[Candidate, ...] = ()
    search: bool = False  # not among the products the conversation has: search the catalogue
    missing: bool = False  # searched in this turn (or looked for in the cart) and not found
    added: bool = False  # added by the shopper's words in this turn already


def resolve(turn: Turn, item: ItemRequest, *, cart_only: bool = False) -> Resolved:
    """The product an item means, the options to ask about, or that a search is needed."""
    conv = turn.conv
    pool = conv.cart if cart_only else conv.candidates
    if item.phrase:
        return _by_phrase(turn, item, pool, cart_only)
    if item.size and (item.reference is None or item.reference.kind == "this"):
        return _by_size(turn, item, pool)
    reference = item.reference or Reference("this")
    if cart_only:
        if reference.kind == "this":
            line = conv.last_cart_line()
            return Resolved(item, product=line, missing=line is None)
        return Resolved(item, product=resolve_reference(reference, conv.cart, None))
    product = resolve_reference(reference, conv.shown_list, conv.focus)
    if product is None and reference.kind == "this":
        return Resolved(item, options=conv.shown_list[:4])
    return Resolved(item, product=product)


def _by_phrase(turn: Turn, item: ItemRequest, pool: tuple[Candidate, ...],
               cart_only: bool) -> Resolved:
    conv = turn.conv
    searched = None if cart_only else turn.searched(item.query)
    if searched is not None:
        if searched.words is not None and searched.ok:
            return Resolved(item, product=_added(turn, searched), added=True)
        found = searched.found
        if found is None:
            return Resolved(item, missing=True)
        results = [c for c in conv.search_results if c.sku in {r.get("sku") for r in found}]
        matches = best_matches(item.phrase, results, size=item.size)
        if not matches:
            # The search found products my words do not pin down: the shopper sees them; ask.
            return Resolved(item, options=tuple(results[:4]), missing=not results)
    else:
        matches = best_matches(item.phrase, pool, size=item.size)
        if not matches:
            return Resolved(item, missing=True) if cart_only else Resolved(item, search=True)
    if len(matches) > 1 and item.reference is not None:
        if item.reference.kind == "this":
            focus = conv.focus
            if focus is not None and focus.sku in {m.sku for m in matches}:
                return Resolved(item, product=focus)
        else:
            return Resolved(item, product=resolve_reference(item.reference, matches, None))
    if len(matches) == 1:
        return Resolved(item, product=matches[0])
    return Resolved(item, options=tuple(matches))


def _by_size(turn: Turn, item: ItemRequest, pool: tuple[Candidate, ...]) -> Resolved:
    conv = turn.conv
    focus = conv.focus
    stem = _SIZE_SUFFIX.sub("", focus.name) if focus is not None and focus.size else ""
    base = [c for c in (conv.shown_list or pool) if c.size == item.size]
    if stem:
        siblings = [c for c in pool if c.size == item.size and c.name.startswith(stem)]
        if siblings:
            return Resolved(item, product=siblings[0])
        # The variant in this size was never shown: look it up by the product's name.
        return resolve(turn, ItemRequest(stem, item.quantity, None, item.size))
    if len(base) == 1:
        return Resolved(item, product=base[0])
    return Resolved(item, options=tuple(base[:4]))


def _added(turn: Turn, exchange: ToolExchange) -> Candidate:
    """The product an add by the shopper's words put in the cart, as its result names it."""
    added = exchange.result.get("added") if exchange.result is not None else None
    info: Mapping[str, object] = added if isinstance(added, Mapping) else {}
    price = info.get("price")
    in_cart = next((c.in_cart for c in turn.conv.cart if c.sku == exchange.sku), 0)
    return Candidate(exchange.sku, str(info.get("name") or exchange.sku),
                     price if isinstance(price, int) else 0, in_cart=in_cart)


def _by_words(item: ItemRequest) -> bool:
    """Whether an item the conversation never showed can be added by the shopper's words at once.

    The shop adds it only when the words fit one product (else it answers with candidates, read
    like search results), so a search first would only cost a model call. Not for "the cheapest
    tea" (a choice among results) nor for a quantity that needs asking about.
    """
    quantity = 1 if item.quantity is None else item.quantity
    return bool(item.phrase) and item.reference is None and 0 < quantity <= MAX_QUANTITY


def search_first(turn: Turn, resolved: list[Resolved]) -> Decision | None:
    """Search calls (no text) for the items not known yet, or None when every item is known."""
    queries = list(dict.fromkeys(r.item.query for r in resolved if r.search))
    if not queries:
        return None
    return Decision(None, tuple(call("search_products", query=query) for query in queries))


def _clarify(turn: Turn, r: Resolved) -> str:
    """The question or apology for an item that did not resolve to one product."""
    lang = turn.lang
    if r.options:
        stems = {_SIZE_SUFFIX.sub("", c.name) for c in r.options}
        sizes = [c.size for c in r.options if c.size]
        if len(stems) == 1 and len(sizes) == len(r.options):
            return say("which_size", lang, name=stems.pop(),
                       sizes=replies.listing(sizes, lang, alternatives=True))
        if r.item.phrase and not r.item.reference:
            return say("which_named", lang, phrase=r.item.phrase,
                       options=replies.options(r.options, lang))
        return say("which", lang, options=replies.options(r.options, lang))
    if r.missing and r.item.phrase:
        return say("not_found", lang, query=r.item.query)
    return say("what_product", lang)


def _stock_problem(turn: Turn, product: Candidate, quantity: int) -> str | None:
    """Why `quantity` more of a product cannot be added, as an apology plus an offer, or None."""
    lang = turn.lang
    stock = _known_stock(turn, product)
    if stock is None or quantity + product.in_cart <= stock:
        return None
    if stock <= 0:
        return say("sold_out", lang, name=product.name)
    parts = [say("only_left", lang, name=product.name, stock=stock)]
    if product.in_cart:
        parts.append(say("in_cart_already", lang, count=product.in_cart))
    room = stock - product.in_cart
    if room > 0:
        parts.append(replies.offer(product.name, room, lang))
    return replies.join_sentences(parts, lang)


def _known_stock(turn: Turn, product: Candidate) -> int | None:
    if product.stock is not None:
        return product.stock
    for candidate in turn.conv.candidates:
        if candidate.sku == product.sku and candidate.stock is not None:
            return candidate.stock
    return None


def add_items(turn: Turn, items: tuple[ItemRequest, ...], *, then: Decision | None = None
              ) -> Decision:
    """Add each item (searching first for unknown ones); `then` follows when all went in."""
    lang = turn.lang
    resolved = [resolve(turn, item) for item in items]
    if any(r.item.quantity is not None and r.item.quantity > MAX_QUANTITY for r in resolved):
        return _over_limit(turn, resolved)
    by_words = all(_by_words(r.item) for r in resolved if r.search)
    searching = None if by_words else search_first(turn, resolved)
    if searching is not None:
        return searching
    calls: list[PlannedCall] = []
    parts: list[str] = []
    questions = 0
    waiting = False
    for r in resolved:
        if r.search:
            quantity = 1 if r.item.quantity is None else r.item.quantity
            calls.append(call("add_to_cart", product=r.item.query, quantity=quantity))
            said = _added_by_words(turn, r.item, quantity)
            waiting = waiting or said is None
            parts.append(said or "")
            continue
        if r.added and r.product is not None:
            # Went in by the shopper's words in an earlier step of this turn: only say so.
            quantity = 1 if r.item.quantity is None else r.item.quantity
            parts.append(say("added", lang, quantity=quantity, name=r.product.name))
            continue
        if r.product is None:
            parts.append(_clarify(turn, r))
            questions += 1
            continue
        quantity = 1 if r.item.quantity is None else r.item.quantity
        if quantity <= 0:
            parts.append(say("how_many", lang, name=r.product.name))
            questions += 1
            continue
        problem = _stock_problem(turn, r.product, quantity)
        if problem:
            parts.append(problem)
            questions += 1
            continue
        calls.append(call("add_to_cart", sku=r.product.sku, quantity=quantity))
        name = _name_in_result(turn, r.product)
        if _in_other_language(name, lang):
            # Known only by its name in the other language (the shopper switched): call it what
            # the shopper did ("美濃焼の湯呑み") when those words are plainly a product's, else add
            # first and name it from the tool's result.
            phrase = r.item.phrase
            if phrase and not _in_other_language(phrase, lang) and only_shop_words(phrase):
                name = phrase
            else:
                waiting = True
        parts.append(say("added", lang, quantity=quantity, name=name))
    if calls and not questions and then is None and waiting:
        # The product is known by its name in the other language (the shopper switched): add it
        # first, and name it from the tool's result, which is in the shopper's language.
        return Decision(None, tuple(calls))
    if calls and not questions:
        if then is not None:
            return respond(lang, [*parts, then.text or ""], [*calls, *then.calls])
        parts.append(say("anything_else", lang))
    return respond(lang, parts, calls)


def _added_by_words(turn: Turn, item: ItemRequest, quantity: int) -> str | None:
    """The reply to an add by the shopper's words, true whichever product the shop picks; None
    when the shopper must be told which product they got (the add goes first, without text).

    The shop adds only a product those words clearly name, so they may name it when they are
    plainly shop words in the reply's language ("sencha", "湯呑み"). Words for any product of a
    kind ("a notebook") leave the choice to the shop: the reply must say which one it chose, so it
    waits for the result. Other words get a reply that names nothing; the cart shown with it does.
    """
    lang = turn.lang
    phrase = item.phrase
    if re.search(_ANY_OF_A_KIND.format(phrase=re.escape(phrase)), turn.said.text, re.IGNORECASE):
        return None
    if only_shop_words(phrase) and not _in_other_language(phrase, lang):
        name = f"{phrase} {item.size}" if item.size else phrase
        return say("added", lang, quantity=quantity, name=name)
    return say("added_it" if quantity == 1 else "added_count", lang, quantity=quantity)


def _over_limit(turn: Turn, resolved: list[Resolved]) -> Decision:
    """ "1000 erasers": the per-product limit, and the products asked for shown to choose from."""
    lang = turn.lang
    parts = [say("error_quantity", lang, min=1, max=MAX_QUANTITY)]
    queries = list(dict.fromkeys(r.item.query for r in resolved if r.search))
    parts += [say("not_found", lang, query=r.item.query) for r in resolved
              if r.missing and r.item.phrase]
    if queries:
        parts.append(say("browse", lang, query=replies.listing(queries, lang)))
    return respond(lang, parts, [call("search_products", query=query) for query in queries])


def _name_in_result(turn: Turn, product: Candidate) -> str:
    """The product's name as this turn's cart result gives it (the reply's language), if added."""
    for exchange in reversed(turn.conv.exchanges):
        if exchange.name != "add_to_cart" or not exchange.ok or exchange.result is None:
            continue
        cart = exchange.result.get("cart")
        lines = cart.get("lines") if isinstance(cart, Mapping) else None
        for cart_line in lines if isinstance(lines, list) else []:
            if isinstance(cart_line, Mapping) and cart_line.get("sku") == product.sku:
                return str(cart_line.get("name") or product.name)
    return product.name


def _in_other_language(name: str, lang: Lang) -> bool:
    """Whether a product name is written in the other language than the reply's."""
    return bool(_JAPANESE.search(name)) != (lang == "ja")


def add_more(turn: Turn) -> Decision:
    """ "Add another", "two more", "もう一つ": more of the named product, else the last added."""
    said = turn.said
    quantity = said.quantity or 1
    lang = turn.lang
    if said.named_items and said.named_items[0].phrase:
        item = said.named_items[0]
        in_cart = resolve(turn, item, cart_only=True)
        if in_cart.product is None:
            return add_items(turn, (ItemRequest(item.phrase, quantity, None, item.size),))
        target: Candidate | None = in_cart.product
    else:
        target = turn.conv.last_cart_line() or turn.conv.focus
    if target is None:
        return respond(lang, [say("what_product", lang)])
    problem = _stock_problem(turn, target, quantity)
    if problem:
        return respond(lang, [problem])
    key = "added_more" if target.in_cart else "added"
    return respond(lang, [say(key, lang, quantity=quantity, name=target.name),
                          say("anything_else", lang)],
                   [call("add_to_cart", sku=target.sku, quantity=quantity)])


def set_quantity(turn: Turn) -> Decision:
    """ "Actually make it three", "煎茶を5個に変更": set a cart line (0 removes it)."""
    said = turn.said
    lang = turn.lang
    quantity = said.quantity if said.quantity is not None else 1
    named = [item for item in said.items if item.phrase]
    item = named[0] if named else ItemRequest("", quantity, Reference("this"))
    r = resolve(turn, item, cart_only=True) if turn.conv.cart else Resolved(item, missing=True)
    if r.product is None and r.options:
        return respond(lang, [say("which_in_cart", lang,
                                  options=replies.options(r.options, lang))])
    if r.product is None:
        # Not in the cart: "make it three" about a product just shown means adding three.
        return add_items(turn, (ItemRequest(item.phrase, quantity, item.reference, item.size),))
    product = r.product
    if quantity == 0:
        return respond(lang, [say("removed", lang, name=product.name)],
                       [call("remove_from_cart", sku=product.sku)])
    stock = _known_stock(turn, product)
    if stock is not None and quantity > stock:
        return respond(lang, [say("only_left", lang, name=product.name, stock=stock)])
    return respond(lang, [say("quantity_set", lang, name=product.name, quantity=quantity),
                          say("anything_else", lang)],
                   [call("set_cart_quantity", sku=product.sku, quantity=quantity)])


def _plural_kind(phrase: str) -> bool:
    """ "Remove the mugs": a whole kind named in the plural means every line of that kind."""
    return is_generic(phrase) and phrase.lower().endswith("s")


def remove_items(turn: Turn) -> Decision:
    """ "Remove the mug", "no tea", "マグはいらない": remove the matching cart lines."""
    lang = turn.lang
    conv = turn.conv
    if not conv.cart:
        return respond(lang, [say("cart_empty", lang)])
    remove_all = bool(_REMOVE_ALL.search(turn.said.text))
    calls: list[PlannedCall] = []
    parts: list[str] = []
    for item in turn.said.named_items:
        r = resolve(turn, item, cart_only=True)
        targets: list[Candidate] = []
        if r.product is not None:
            targets = [r.product]
        elif r.options and (remove_all or _plural_kind(item.phrase)):
            targets = list(r.options)
        elif r.options:
            parts.append(say("which_in_cart", lang, options=replies.options(r.options, lang)))
        else:
            parts.append(say("not_in_cart_phrase", lang, phrase=item.phrase or "?"))
        for target in targets:
            if all(c.arguments.get("sku") != target.sku for c in calls):
                calls.append(call("remove_from_cart", sku=target.sku))
                parts.append(say("removed", lang, name=target.name))
    return respond(lang, parts, calls)
