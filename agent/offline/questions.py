"""Answers to the shopper's questions and browsing: products, prices, stock, cart, shipping.

This module only houses the plans that inform rather than change anything: searching and showing
products, naming a product's price or stock, describing it (after `product_details`), showing the
cart, the total, the shipping fee and the usual delivery time, and offering to add what was asked
about. Amounts come from the state block, tool results, or (for the shipping rule only) the system
prompt; nothing is estimated. Delivery dates are never promised: the shop ships in 1-2 business days
and the carrier decides the rest.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from agent.offline import replies
from agent.offline.decision import Decision, Turn, call, respond
from agent.offline.entities import ItemRequest
from agent.offline.products import Candidate, Reference, unique_by_sku
from agent.offline.replies import say, yen
from agent.offline.shopping import Resolved, add_items, resolve, search_first

__all__ = ["browse", "catalog", "compare", "delivery", "describe", "low_caffeine", "mention", "price",
           "recommend", "shipping", "stock", "total", "view_cart"]


def _targets(turn: Turn) -> list[ItemRequest]:
    named = list(turn.said.named_items)
    return named or [ItemRequest("", turn.said.items[0].quantity if turn.said.items else None,
                                 Reference("this"))]


def browse(turn: Turn, *, recommend: bool = False) -> Decision:
    """Show products for the shopper's words (a search with the text that goes with it)."""
    lang = turn.lang
    queries = list(dict.fromkeys(item.query for item in turn.said.named_items if item.phrase))
    if not queries:
        return describe(turn)
    missing = [q for q in queries if (s := turn.searched(q)) is not None and not s.ok]
    if missing:
        # Only a failed search brings the model back here: say what was not found.
        return respond(lang, [say("not_found", lang, query=q) for q in missing])
    shown = replies.listing([f"{q}" for q in queries], lang)
    key = "browse_recommend" if recommend else "browse"
    return respond(lang, [say(key, lang, query=shown)],
                   [call("search_products", query=q) for q in queries])


def recommend(turn: Turn) -> Decision:
    if any(item.phrase for item in turn.said.named_items):
        return browse(turn, recommend=True)
    return respond(turn.lang, [say("recommend_ask", turn.lang)])


def _offer_for(turn: Turn, product: Candidate, quantity: int | None) -> str:
    if product.in_cart or product.stock == 0:
        return ""
    return replies.offer(product.name, quantity or 1, turn.lang)


def price(turn: Turn) -> Decision:
    """ "How much is the sencha?": the price from what the conversation shows (search if needed)."""
    lang = turn.lang
    targets = _targets(turn)
    if not turn.said.named_items and turn.conv.focus is None and turn.conv.cart:
        return total(turn)
    resolved = [resolve(turn, item) for item in targets]
    searching = search_first(turn, resolved)
    if searching is not None:
        return searching
    parts: list[str] = []
    for r in resolved:
        if r.product is not None:
            parts.append(_price_sentence(turn, r.product, r.item.quantity))
        elif r.options:
            parts.append(say("prices", lang, options=replies.options(r.options, lang, limit=5)))
        else:
            parts.append(_unresolved(turn, r))
    single = [r.product for r in resolved if r.product is not None]
    if len(single) == 1 and len(resolved) == 1:
        parts.append(_offer_for(turn, single[0], resolved[0].item.quantity))
    return respond(lang, parts)


def _price_sentence(turn: Turn, product: Candidate, quantity: int | None) -> str:
    lang = turn.lang
    if quantity and quantity > 1:
        return say("price_many", lang, name=product.name, price=yen(product.price),
                   total=yen(product.price * quantity), quantity=quantity)
    return say("price", lang, name=product.name, price=yen(product.price))


def _unresolved(turn: Turn, r: Resolved) -> str:
    lang = turn.lang
    if r.missing and r.item.phrase:
        return say("not_found", lang, query=r.item.query)
    return say("what_product", lang)


def _details_result(turn: Turn, sku: str) -> Mapping[str, Any] | None:
    for exchange in reversed(turn.conv.exchanges):
        if exchange.name == "product_details" and exchange.ok and exchange.result is not None \
                and str(exchange.arguments.get("sku", "")).upper() == sku.upper():
            product = exchange.result.get("product")
            return product if isinstance(product, Mapping) else None
    return None


def stock(turn: Turn) -> Decision:
    """ "Is the matcha in stock?": from the state's stock, or `product_details` when unknown."""
    lang = turn.lang
    resolved = [resolve(turn, item) for item in _targets(turn)]
    searching = search_first(turn, resolved)
    if searching is not None:
        return searching
    parts: list[str] = []
    lookups = []
    for r in resolved:
        product = r.product
        if product is None:
            parts.append(say("which", lang, options=replies.options(r.options, lang))
                         if r.options else _unresolved(turn, r))
            continue
        count = product.stock
        if count is None:
            details = _details_result(turn, product.sku)
            count = details.get("stock") if details is not None else None
        if not isinstance(count, int):
            lookups.append(call("product_details", sku=product.sku))
            continue
        if count <= 0:
            parts.append(say("sold_out", lang, name=product.name))
        else:
            parts.append(say("in_stock", lang, name=product.name, stock=count))
            if len(resolved) == 1:
                parts.append(_offer_for(turn, product, r.item.quantity))
    if lookups:
        return Decision(None, tuple(lookups))
    return respond(lang, parts)


def describe(turn: Turn) -> Decision:
    """ "Tell me about the gyokuro": `product_details` first, then its description."""
    lang = turn.lang
    resolved = [resolve(turn, item) for item in _targets(turn)][:1]
    searching = search_first(turn, resolved)
    if searching is not None:
        return searching
    r = resolved[0]
    if r.product is None:
        if r.options:
            return respond(lang, [say("which", lang, options=replies.options(r.options, lang))])
        return respond(lang, [_unresolved(turn, r)])
    details = _details_result(turn, r.product.sku)
    if details is None:
        return Decision(None, (call("product_details", sku=r.product.sku),))
    name = str(details.get("name") or r.product.name)
    parts = [say("details", lang, name=name, price=yen(int(details.get("price") or r.product.price)),
                 description=str(details.get("description") or "").strip())]
    count = details.get("stock")
    if isinstance(count, int):
        parts.append(say("sold_out", lang, name=name) if count <= 0
                     else say("in_stock", lang, name=name, stock=count))
    variants = details.get("variants")
    if isinstance(variants, list) and len(variants) > 1:
        sizes = [str(v).rsplit("-", 1)[-1] for v in variants]
        parts.append(say("sizes", lang, sizes=replies.listing(sizes, lang)))
    if isinstance(count, int) and count > 0:
        parts.append(_offer_for(turn, r.product, r.item.quantity))
    return respond(lang, parts)


def mention(turn: Turn) -> Decision:
    """Product words without a verb: a choice after "which one?", else show or quote them."""
    said = turn.said
    lang = turn.lang
    choosing = replies.asked(turn.conv.last_assistant_text, "which")
    if choosing or any(item.quantity for item in said.named_items):
        return add_items(turn, said.named_items)
    resolved = [resolve(turn, item) for item in said.named_items]
    if any(r.search or (r.options and r.item.phrase) for r in resolved):
        return browse(turn)
    known = [r.product for r in resolved if r.product is not None]
    if len(known) == 1 and len(resolved) == 1:
        product = known[0]
        parts = [_price_sentence(turn, product, None)]
        if product.stock is not None:
            parts.append(say("sold_out", lang, name=product.name) if product.stock <= 0
                         else say("in_stock", lang, name=product.name, stock=product.stock))
        parts.append(_offer_for(turn, product, None))
        return respond(lang, parts)
    if known:
        return respond(lang, [_price_sentence(turn, product, None) for product in known])
    return respond(lang, [_clarify_options(turn, resolved[0]) if resolved
                          else say("what_product", lang)])


def compare(turn: Turn) -> Decision:
    """ "What's the difference between A and B?": describe each (after `product_details`) and ask
    which one; nothing is added, since a comparison is not a choice."""
    lang = turn.lang
    resolved = [resolve(turn, item) for item in turn.said.named_items]
    searching = search_first(turn, resolved)
    if searching is not None:
        return searching
    products: list[Candidate] = []
    parts: list[str] = []
    for r in resolved:
        if r.product is not None:
            products.append(r.product)
        elif len(r.options) == 2 and len(resolved) == 1:
            products.extend(r.options)  # "sencha vs gyokuro" read as one phrase that fits both
        else:
            parts.append(_clarify_options(turn, r))
    products = unique_by_sku(products)
    lookups = [call("product_details", sku=p.sku) for p in products
               if _details_result(turn, p.sku) is None]
    if lookups:
        return Decision(None, tuple(lookups))
    for product in products:
        details = _details_result(turn, product.sku) or {}
        name = str(details.get("name") or product.name)
        price = details.get("price")
        parts.append(say("details", lang, name=name,
                         price=yen(price if isinstance(price, int) else product.price),
                         description=str(details.get("description") or "").strip()))
    if len(products) > 1:
        parts.append(say("which", lang, options=replies.options(products, lang)))
    elif products:
        parts.append(_offer_for(turn, products[0], None))
    return respond(lang, parts)


def low_caffeine(turn: Turn) -> Decision:
    """ "Which tea has little caffeine?": hojicha and barley tea, shown with a search."""
    lang = turn.lang
    queries = ("ほうじ茶", "麦茶") if lang == "ja" else ("hojicha", "barley tea")
    return respond(lang, [say("low_caffeine", lang)],
                   [call("search_products", query=query) for query in queries])


def catalog(turn: Turn) -> Decision:
    """ "What do you sell?": the shop's range (the categories the vocabulary knows)."""
    return respond(turn.lang, [say("catalog", turn.lang)])


def _clarify_options(turn: Turn, r: Resolved) -> str:
    if r.options:
        return say("which", turn.lang, options=replies.options(r.options, turn.lang))
    return _unresolved(turn, r)


def _cart_lines(turn: Turn) -> str:
    lang = turn.lang
    parts = [f"{line.in_cart} × {line.name} ({yen(line.price * line.in_cart)})" if lang == "en"
             else f"{line.name}×{line.in_cart}（{yen(line.price * line.in_cart)}）"
             for line in turn.conv.cart]
    return replies.listing(parts, lang)


def view_cart(turn: Turn) -> Decision:
    lang = turn.lang
    state = turn.conv.state
    if state is not None and not state.cart:
        return respond(lang, [say("cart_empty", lang)])
    if state is None:
        return Decision(None, (call("view_cart"),))
    return respond(lang, [say("cart_here", lang, lines=_cart_lines(turn), total=yen(state.total))],
                   [call("view_cart")])


def total(turn: Turn) -> Decision:
    """The total from the state block, with its parts."""
    lang = turn.lang
    state = turn.conv.state
    if state is None:
        return Decision(None, (call("view_cart"),))
    if not state.cart:
        return respond(lang, [say("cart_empty", lang)])
    fee = say("total_fee", lang, fee=yen(state.payment_fee)) if state.payment_fee else ""
    parts = [say("total", lang, total=yen(state.total), subtotal=yen(state.subtotal),
                 shipping=yen(state.shipping_fee), fee=fee)]
    if state.payment_method is None:
        parts.append(say("total_fee_later", lang))
    return respond(lang, parts)


def shipping(turn: Turn) -> Decision:
    """The shipping fee: the cart's own from the state, the rule from the system prompt."""
    lang = turn.lang
    state = turn.conv.state
    facts = turn.conv.shipping_facts
    parts: list[str] = []
    if state is not None and state.cart:
        if state.shipping_fee == 0:
            parts.append(say("shipping_free", lang))
        else:
            parts.append(say("shipping_cart", lang, fee=yen(state.shipping_fee)))
            if facts is not None and state.subtotal < facts[1]:
                parts.append(say("shipping_gap", lang, gap=yen(facts[1] - state.subtotal),
                                 free_from=yen(facts[1])))
    elif facts is not None:
        parts.append(say("shipping_rule", lang, fee=yen(facts[0]), free_from=yen(facts[1])))
    else:
        parts.append(say("shipping_later", lang))
    return respond(lang, parts)


def delivery(turn: Turn) -> Decision:
    return respond(turn.lang, [say("delivery", turn.lang)])
