"""What each model tool does: validated arguments in, compact JSON result and widgets out.

This module only houses the tool implementations; their schemas are in `agent.tool_schemas`. Each
tool calls the deterministic core in `tools/` inside the turn's database session. Nothing here
places an order or charges: `prepare_checkout` shows a confirmation, the shopper's button confirms.
Domain errors become `{"ok": false, "error": {...}}` results the model can recover from.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from agent import tool_schemas as schemas
from agent import widgets
from agent.texts import Locale
from agent.widgets import CardFormConfig, Widget
from tools import cart as cart_ops
from tools.address import save_address, validate_address
from tools.catalog.resolve import Ambiguous, NotFound, resolve_product
from tools.catalog.search import search_products
from tools.checkout.orders import get_order
from tools.checkout.payment_choice import choose_payment_method, payment_options
from tools.checkout.quote import prepare_quote
from tools.errors import DomainError, ValidationFailed
from tools.settings import CommerceSettings
from tools.store.models import Conversation, Order, Product


@dataclass
class ToolContext:
    """What a tool may touch: the turn's session and this conversation only (never another's)."""

    session: AsyncSession
    conversation: Conversation
    locale: Locale
    commerce: CommerceSettings
    card_form: CardFormConfig


@dataclass
class ToolOutcome:
    result: dict[str, Any]
    widgets: list[Widget] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return bool(self.result.get("ok"))


class _RefusedWithWidgets(Exception):
    """A domain refusal that should show widgets too (run_tool still rolls the change back)."""

    def __init__(self, error: DomainError, shown: list[Widget]) -> None:
        super().__init__(error.code)
        self.error = error
        self.shown = shown


def _error(code: str, message: str, **details: Any) -> ToolOutcome:
    error: dict[str, Any] = {"code": code, "message": message}
    if details:
        error["details"] = details
    return ToolOutcome({"ok": False, "error": error})


def product_card(product: Any) -> dict[str, Any]:
    """The product as shown in a product_list widget and returned to the model."""
    attributes = dict(getattr(product, "attributes", {}) or {})
    return {"sku": product.sku, "name": product.name, "name_ja": product.name_ja,
            "price": product.price, "tax_rate": product.tax_rate, "stock": product.stock,
            "category": product.category, "size": str(attributes.get("size", ""))}


def _cart_result(view: cart_ops.CartView, locale: Locale) -> dict[str, Any]:
    name_key = "name_ja" if locale == "ja" else "name"
    totals = view.totals
    return {"lines": [{"sku": line.sku, "name": getattr(line, name_key),
                       "quantity": line.quantity, "unit_price": line.unit_price,
                       "line_total": line.line_total} for line in view.lines],
            "subtotal": totals.subtotal, "shipping_fee": totals.shipping_fee,
            "payment_fee": totals.payment_fee, "total": totals.total}


def _cart_outcome(view: cart_ops.CartView, locale: Locale) -> ToolOutcome:
    return ToolOutcome({"ok": True, "cart": _cart_result(view, locale)}, [widgets.cart(view)])


def _result_rows(cards: list[dict[str, Any]], locale: Locale) -> list[dict[str, Any]]:
    """Product cards as the model reads them in a search result: the name in the locale."""
    name_key = "name_ja" if locale == "ja" else "name"
    # Only products that come in sizes carry one: an empty "size" on every result is noise.
    return [{"sku": c["sku"], "name": c[name_key], "price": c["price"], "stock": c["stock"],
             "category": c["category"], **({"size": c["size"]} if c["size"] else {})}
            for c in cards]


async def _search(ctx: ToolContext, args: schemas.SearchProductsArgs) -> ToolOutcome:
    hits = await search_products(ctx.session, args.query, limit=args.limit)
    if not hits:
        return _error("no_match", f"No product matches {args.query!r}.", query=args.query)
    cards = [product_card(hit.product) for hit in hits]
    return ToolOutcome({"ok": True, "query": args.query, "results": _result_rows(cards, ctx.locale)},
                       [widgets.product_list(cards)])


async def _details(ctx: ToolContext, args: schemas.ProductDetailsArgs) -> ToolOutcome:
    sku = cart_ops.normalize_sku(args.sku)
    product = await ctx.session.scalar(select(Product).where(Product.sku == sku,
                                                             Product.active.is_(True)))
    if product is None:
        return _error("product_not_found", f"No product with sku {args.sku!r}.")
    variant_of = (product.attributes or {}).get("variant_of")
    variants: list[str] = []
    if variant_of:
        rows = await ctx.session.scalars(select(Product.sku).where(
            Product.sku.like(f"{variant_of}-%"), Product.active.is_(True)))
        variants = list(rows)
    card = product_card(product)
    ja = ctx.locale == "ja"
    detail = {**card, "name": product.name_ja if ja else product.name,
              "description": product.description_ja if ja else product.description,
              "variants": variants}
    return ToolOutcome({"ok": True, "product": detail}, [widgets.product_list([card])])


async def _add(ctx: ToolContext, args: schemas.AddToCartArgs) -> ToolOutcome:
    if args.product is None:
        assert args.sku is not None  # noqa: S101 - the argument model requires one of the two
        view = await cart_ops.add_item(ctx.session, ctx.conversation.id, args.sku, args.quantity,
                                       settings=ctx.commerce)
        return _cart_outcome(view, ctx.locale)
    return await _add_by_words(ctx, args.product, args.quantity)


async def _add_by_words(ctx: ToolContext, words: str, quantity: int) -> ToolOutcome:
    """Add the product the shopper's words mean, only when the catalogue says they mean one."""
    found = await resolve_product(ctx.session, words)
    if isinstance(found, NotFound):
        return _error("no_match", f"No product matches {words!r}.", query=words)
    if isinstance(found, Ambiguous):
        cards = [product_card(product) for product in found.candidates]
        # The candidates go to the model to ask which one, and on screen for the shopper to pick;
        # a failed result may carry widgets (like the address form of a refused address).
        outcome = _error("product_ambiguous",
                         f"{words!r} does not name one product clearly: ask which one.",
                         query=words, candidates=_result_rows(cards, ctx.locale))
        outcome.widgets.append(widgets.product_list(cards))
        return outcome
    product = found.product
    name = product.name_ja if ctx.locale == "ja" else product.name
    try:
        view = await cart_ops.add_item(ctx.session, ctx.conversation.id, product.sku, quantity,
                                       settings=ctx.commerce)
    except DomainError as exc:
        # The model has not seen this product: the refusal ("only 2 left") must say which one the
        # words meant, and the shopper sees its card to accept what is left.
        exc.details.setdefault("sku", product.sku)
        exc.details["name"] = name
        raise _RefusedWithWidgets(exc, [widgets.product_list([product_card(product)])]) from exc
    # Which product the words meant, for the model to name it (the cart alone does not say).
    added = {"sku": product.sku, "name": name, "price": product.price}
    return ToolOutcome({"ok": True, "added": added, "cart": _cart_result(view, ctx.locale)},
                       [widgets.cart(view)])


async def _set_quantity(ctx: ToolContext, args: schemas.SetCartQuantityArgs) -> ToolOutcome:
    view = await cart_ops.set_quantity(ctx.session, ctx.conversation.id, args.sku, args.quantity,
                                       settings=ctx.commerce)
    return _cart_outcome(view, ctx.locale)


async def _remove(ctx: ToolContext, args: schemas.RemoveFromCartArgs) -> ToolOutcome:
    view = await cart_ops.remove_item(ctx.session, ctx.conversation.id, args.sku,
                                      settings=ctx.commerce)
    return _cart_outcome(view, ctx.locale)


async def _view(ctx: ToolContext, args: schemas.ViewCartArgs) -> ToolOutcome:
    view = await cart_ops.get_cart(ctx.session, ctx.conversation.id, settings=ctx.commerce)
    return _cart_outcome(view, ctx.locale)


async def _clear(ctx: ToolContext, args: schemas.ClearCartArgs) -> ToolOutcome:
    view = await cart_ops.clear_cart(ctx.session, ctx.conversation.id, settings=ctx.commerce)
    return _cart_outcome(view, ctx.locale)


async def _set_address(ctx: ToolContext, args: schemas.SetShippingAddressArgs) -> ToolOutcome:
    fields = args.model_dump()
    try:
        address = validate_address(fields)
    except ValidationFailed as exc:
        lang = "ja" if ctx.locale == "ja" else "en"
        errors = {name: err[lang] for name, err in exc.fields.items()}
        outcome = _error(exc.code, exc.message(ctx.locale), fields=exc.fields)
        # The form, pre-filled with what was understood, lets the shopper fix it by hand.
        outcome.widgets.append(widgets.address_form(
            {k: v for k, v in fields.items() if isinstance(v, str)}, errors))
        return outcome
    await save_address(ctx.session, ctx.conversation.id, address)
    return ToolOutcome({"ok": True, "address": address.one_line(ctx.locale)})


async def _address_form(ctx: ToolContext, args: schemas.ShowAddressFormArgs) -> ToolOutcome:
    return ToolOutcome({"ok": True, "shown": "address_form"}, [widgets.address_form()])


async def _methods(ctx: ToolContext, args: schemas.ShowPaymentMethodsArgs) -> ToolOutcome:
    options = await payment_options(ctx.session, ctx.conversation.id, ctx.commerce)
    return ToolOutcome(
        {"ok": True, "methods": [{"method": o.method.value, "fee": o.fee,
                                  "available": o.available} for o in options]},
        [widgets.payment_methods(options, ctx.conversation.payment_method)])


async def _choose(ctx: ToolContext, args: schemas.ChoosePaymentMethodArgs) -> ToolOutcome:
    method = await choose_payment_method(ctx.session, ctx.conversation.id, args.method,
                                         ctx.commerce)
    shown: list[Widget] = []
    if method.value == "card" and not ctx.conversation.card_token:
        shown.append(widgets.card_form(ctx.card_form, ctx.locale, ctx.conversation.id))
    return ToolOutcome({"ok": True, "method": method.value}, shown)


async def _card_form(ctx: ToolContext, args: schemas.ShowCardFormArgs) -> ToolOutcome:
    return ToolOutcome({"ok": True, "shown": "card_form"},
                       [widgets.card_form(ctx.card_form, ctx.locale, ctx.conversation.id)])


async def _prepare(ctx: ToolContext, args: schemas.PrepareCheckoutArgs) -> ToolOutcome:
    quote = await prepare_quote(ctx.session, ctx.conversation.id, ctx.commerce)
    return ToolOutcome({"ok": True, "total": quote.total, "shown": "confirm"},
                       [widgets.confirm(quote)])


async def _order_status(ctx: ToolContext, args: schemas.OrderStatusArgs) -> ToolOutcome:
    if args.order_id:
        order = await get_order(ctx.session, args.order_id, conversation_id=ctx.conversation.id)
    else:
        latest = await ctx.session.scalar(
            select(Order).where(Order.conversation_id == ctx.conversation.id)
            .order_by(Order.created_at.desc()).limit(1))
        if latest is None:
            return _error("order_not_found", "There is no order in this conversation yet.")
        order = latest
    return ToolOutcome({"ok": True, "order": {"id": order.id, "status": order.status,
                                              "total": order.total,
                                              "payment_method": order.payment_method}})


Handler = Callable[[ToolContext, Any], Awaitable[ToolOutcome]]

HANDLERS: dict[str, Handler] = {
    "search_products": _search,
    "product_details": _details,
    "add_to_cart": _add,
    "set_cart_quantity": _set_quantity,
    "remove_from_cart": _remove,
    "view_cart": _view,
    "clear_cart": _clear,
    "set_shipping_address": _set_address,
    "show_address_form": _address_form,
    "show_payment_methods": _methods,
    "choose_payment_method": _choose,
    "show_card_form": _card_form,
    "prepare_checkout": _prepare,
    "order_status": _order_status,
}
assert HANDLERS.keys() == schemas.TOOL_ARGS.keys()  # noqa: S101 - every schema has a handler


async def run_tool(ctx: ToolContext, name: str, arguments: dict[str, Any] | None,
                   parse_error: str | None = None) -> ToolOutcome:
    """Validate and run one tool call. Never raises for bad calls: they become error results."""
    model = schemas.TOOL_ARGS.get(name)
    if model is None:
        return _error("unknown_tool", f"There is no tool named {name[:60]!r}.",
                      tools=list(schemas.TOOL_ARGS))
    if arguments is None:
        return _error("invalid_arguments", f"Arguments must be a JSON object ({parse_error}).")
    try:
        args = model.model_validate(arguments)
    except ValidationError as exc:
        problems = [{"field": ".".join(str(p) for p in e["loc"]), "problem": e["msg"]}
                    for e in exc.errors(include_url=False, include_input=False)]
        return _error("invalid_arguments", "The tool arguments are not valid.",
                      problems=problems[:10])
    savepoint = await ctx.session.begin_nested()
    try:
        outcome = await HANDLERS[name](ctx, args)
    except DomainError as exc:
        await savepoint.rollback()  # a refused change leaves nothing half-done
        return ToolOutcome({"ok": False, "error": exc.to_dict(ctx.locale)})
    except _RefusedWithWidgets as refused:
        await savepoint.rollback()
        return ToolOutcome({"ok": False, "error": refused.error.to_dict(ctx.locale)},
                           refused.shown)
    await savepoint.commit()
    return outcome
