"""The tools the model may call: names, argument models and descriptions (the public tool contract).

This module only houses the schemas. What each tool does lives in `agent.shop_tools`, which calls the
deterministic core in `tools/`. The schemas are rendered once per process into OpenAI tool dicts, so
the prompt prefix (system prompt + tools) is byte-identical across calls.

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

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, field_validator


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
    """Search the catalogue by the shopper's words (English or Japanese); shows product cards."""

    query: str = Field(min_length=1, max_length=200, description="What the shopper is looking for.")
    limit: int = Field(default=5, ge=1, le=10)


class ProductDetailsArgs(_Args):
    """Full details of one product: description, price, tax rate, stock, sizes."""

    sku: str = Field(min_length=1, max_length=64)


class AddToCartArgs(_Args):
    """Add a product to the cart (adds to the quantity already there)."""

    sku: str = Field(min_length=1, max_length=64)
    quantity: Quantity = Field(default=1, description="How many to add (1-99).")


class SetCartQuantityArgs(_Args):
    """Set the quantity of a product already in the cart; 0 removes it."""

    sku: str = Field(min_length=1, max_length=64)
    quantity: Quantity = Field(description="The new quantity (0-99).")


class RemoveFromCartArgs(_Args):
    """Remove a product from the cart."""

    sku: str = Field(min_length=1, max_length=64)


class ViewCartArgs(_Args):
    """Show the cart with totals."""


class ClearCartArgs(_Args):
    """Empty the cart (the shopper wants to start over or cancel)."""


class SetShippingAddressArgs(_Args):
    """Save the shipping address the shopper gave in the chat; errors come back per field.

    Prefecture and city may be left empty: they are filled from the postal code.
    """

    name: str = Field(max_length=100)
    postal_code: str = Field(max_length=20)
    prefecture: str = Field(default="", max_length=20)
    city: str = Field(default="", max_length=100)
    line1: str = Field(max_length=200, description="Street, block and number (e.g. 2-21-1).")
    line2: str = Field(default="", max_length=200, description="Building, room (optional).")
    phone: str = Field(max_length=30)
    email: str = Field(max_length=254)


class ShowAddressFormArgs(_Args):
    """Show the address form so the shopper can type the address into fields."""


class ShowPaymentMethodsArgs(_Args):
    """Show the payment methods (card, payment after delivery, convenience store) with fees."""


class ChoosePaymentMethodArgs(_Args):
    """Record the payment method the shopper chose. For card, the secure card form is shown."""

    method: Literal["card", "after_delivery", "konbini"]


class ShowCardFormArgs(_Args):
    """Show the secure card form (served by the payment gateway). Never ask for card numbers."""


class PrepareCheckoutArgs(_Args):
    """Show the order confirmation with the final amount and a Pay button, or say what is missing."""


class OrderStatusArgs(_Args):
    """Status of the shopper's latest order (or the given order id)."""

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


def _schema(model: type[_Args]) -> dict[str, Any]:
    schema = model.model_json_schema()
    schema.pop("title", None)
    schema.pop("description", None)
    for prop in schema.get("properties", {}).values():
        prop.pop("title", None)
    schema.setdefault("properties", {})
    return schema


@cache
def openai_tools() -> tuple[dict[str, Any], ...]:
    """The tool list in OpenAI Chat Completions form, built once per process."""
    tools = []
    for name, model in TOOL_ARGS.items():
        description = " ".join((model.__doc__ or "").split())
        tools.append({"type": "function", "function": {
            "name": name, "description": description, "parameters": _schema(model)}})
    return tuple(tools)


@cache
def openai_tools_json() -> str:
    """Canonical JSON of the tool list (for the prompt hash and token counting)."""
    return json.dumps(list(openai_tools()), sort_keys=True, separators=(",", ":"),
                      ensure_ascii=False)
