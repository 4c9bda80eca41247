"""The tools the model may call: names, argument models and descriptions (the public tool contract).

This module only houses the schemas. What each tool does lives in `agent.shop_tools`, which calls the
deterministic core in `tools/`. The schemas are rendered once per process into OpenAI tool dicts, so
the prompt prefix (system prompt + tools) is byte-identical across calls.

The model is shown a lean schema: types, required fields, enums and the few descriptions that carry
meaning. Limits and defaults (maxLength, minimum, default, ...) stay on the argument models, which
validate every call and refuse unknown fields, so repeating them to the model on every request would
only cost tokens: a call that breaks one comes back as an `invalid_arguments` result.

No tool places an order or charges money: only the shopper's confirm action (a button in the chat)
does. `prepare_checkout` shows the confirmation; the shopper presses "Pay".

Tool results are compact JSON objects. Success: `{"ok": true, ...data}`. A domain error (unknown
product, not enough stock, invalid address field, ...): `{"ok": false, "error": {"code", "message",
"details"?}}` — the model reads it and recovers (asks the shopper, picks another product, ...).
"""

from __future__ import annotations

import json
from functools import cache
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    field_validator,
    model_validator,
)


def _not_a_bool(value: object) -> object:
    # pydantic would read `true` as 1 and `false` as 0 (set_cart_quantity's "remove"); the cart
    # refuses booleans as quantities, so the tool must not turn one into a number first.
    if isinstance(value, bool):
        raise ValueError("a quantity must be a number, not true/false")
    return value


Quantity = Annotated[int, BeforeValidator(_not_a_bool)]


class _Args(BaseModel):
    # Unknown fields are refused: a model inventing {"price": 1} or {"discount": 100} gets an error
    # back instead of having it silently ignored or, worse, honoured.
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    @field_validator("*", mode="after")
    @classmethod
    def _no_nul(cls, value: object) -> object:
        # PostgreSQL refuses NUL in text, so a sku or address holding one would fail its query with
        # a 500 instead of coming back as an error result. (pydantic already refuses lone
        # surrogates, the other thing no column can store.)
        if isinstance(value, str) and "\x00" in value:
            raise ValueError("the text holds a NUL character")
        return value


class SearchProductsArgs(_Args):
    """Find products by the shopper's words; shows product cards."""

    query: str = Field(min_length=1, max_length=200)
    limit: int = Field(default=5, ge=1, le=10)


class ProductDetailsArgs(_Args):
    """One product's description, stock and sizes."""

    sku: str = Field(min_length=1, max_length=64)


class AddToCartArgs(_Args):
    """Add a product by sku, or by the shopper's words if not shown yet (unclear words return
    candidates)."""

    sku: str | None = Field(default=None, min_length=1, max_length=64)
    # The shopper's words for one product; the shop adds it only when they fit one product alone.
    product: str | None = Field(default=None, min_length=1, max_length=200)
    quantity: Quantity = Field(default=1)

    @model_validator(mode="after")
    def _sku_or_product(self) -> AddToCartArgs:
        if (self.sku is None) == (self.product is None):
            raise ValueError("give exactly one of sku or product")
        return self


class SetCartQuantityArgs(_Args):
    """Set a cart line's quantity; 0 removes it."""

    sku: str = Field(min_length=1, max_length=64)
    quantity: Quantity


class RemoveFromCartArgs(_Args):
    """Remove a product from the cart."""

    sku: str = Field(min_length=1, max_length=64)


class ViewCartArgs(_Args):
    """Show the cart with totals."""


class ClearCartArgs(_Args):
    """Empty the cart (start over or cancel)."""


class SetShippingAddressArgs(_Args):
    """Save the address the shopper wrote (errors per field; the postal code fills prefecture
    and city)."""

    name: str = Field(max_length=100)
    postal_code: str = Field(max_length=20)
    prefecture: str = Field(default="", max_length=20)
    city: str = Field(default="", max_length=100)
    line1: str = Field(max_length=200, description="street and number, e.g. 2-21-1")
    line2: str = Field(default="", max_length=200, description="building, room")
    phone: str = Field(max_length=30)
    email: str = Field(max_length=254)


class ShowAddressFormArgs(_Args):
    """Show the address form."""


class ShowPaymentMethodsArgs(_Args):
    """Show the payment methods with their fees."""


class ChoosePaymentMethodArgs(_Args):
    """Record the shopper's payment method (card also shows the card form)."""

    method: Literal["card", "after_delivery", "konbini"]


class ShowCardFormArgs(_Args):
    """Show the secure card form."""


class PrepareCheckoutArgs(_Args):
    """Show the order confirmation with a Pay button, or what is missing."""


class OrderStatusArgs(_Args):
    """Status of the latest order (or of order_id)."""

    order_id: str | None = Field(default=None, max_length=36)


#: name -> argument model, in the order the tools are presented to the model.
TOOL_ARGS: dict[str, type[_Args]] = {
    "search_products": SearchProductsArgs,
    "product_details": ProductDetailsArgs,
    "add_to_cart": AddToCartArgs,
    "set_cart_quantity": SetCartQuantityArgs,
    "remove_from_cart": RemoveFromCartArgs,
    "view_cart": ViewCartArgs,
    "clear_cart": ClearCartArgs,
    "set_shipping_address": SetShippingAddressArgs,
    "show_address_form": ShowAddressFormArgs,
    "show_payment_methods": ShowPaymentMethodsArgs,
    "choose_payment_method": ChoosePaymentMethodArgs,
    "show_card_form": ShowCardFormArgs,
    "prepare_checkout": PrepareCheckoutArgs,
    "order_status": OrderStatusArgs,
}


#: The JSON Schema keywords the model is shown (titles, limits and defaults stay with the models).
_SHOWN_KEYWORDS = frozenset({"type", "enum", "description", "properties", "required", "items",
                             "$ref", "$defs"})


def _lean(schema: dict[str, Any]) -> dict[str, Any]:
    """The schema with only `_SHOWN_KEYWORDS`; an optional `X | None` property shown as plain X."""
    variants = [v for v in schema.get("anyOf", []) if v.get("type") != "null"]
    if len(variants) == 1 and len(schema["anyOf"]) == 2:
        # Leaving the property out already means None; a model never needs to send null.
        schema = {**schema, **variants[0]}
    lean = {key: value for key, value in schema.items() if key in _SHOWN_KEYWORDS}
    for key in ("properties", "$defs"):
        if key in lean:
            lean[key] = {name: _lean(sub) for name, sub in lean[key].items()}
    if "items" in lean:
        lean["items"] = _lean(lean["items"])
    return lean


def _schema(model: type[_Args]) -> dict[str, Any]:
    schema = _lean(model.model_json_schema())
    schema.pop("description", None)  # the docstring, sent as the tool's description instead
    schema.setdefault("properties", {})
    return schema


@cache
def openai_tools() -> tuple[dict[str, Any], ...]:
    """The tool list in OpenAI Chat Completions form, built once per process."""
    tools = []
    for name, model in TOOL_ARGS.items():
        function: dict[str, Any] = {"name": name,
                                    "description": " ".join((model.__doc__ or "").split())}
        if model.model_fields:
            function["parameters"] = _schema(model)
        # else no `parameters` at all: in the Chat Completions API that declares a function
        # without arguments, and saves half of a no-argument tool's tokens on every request.
        tools.append({"type": "function", "function": function})
    return tuple(tools)


@cache
def openai_tools_json() -> str:
    """Canonical JSON of the tool list (for the prompt hash and token counting)."""
    return json.dumps(list(openai_tools()), sort_keys=True, separators=(",", ":"),
                      ensure_ascii=False)
