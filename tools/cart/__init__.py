"""The shopper's cart: one per conversation, edited by the model's tools and the cart widget.

This package only houses the cart: its operations (`operations`), the read-only view they return
(`view`) and the refusals they raise (`errors`). Prices, fees and tax come from `tools.pricing`.
"""

from tools.cart.errors import (
    CartFull,
    ConversationNotFound,
    InsufficientStock,
    InvalidQuantity,
    NotInCart,
    ProductNotFound,
)
from tools.cart.operations import (
    add_item,
    clear_cart,
    get_cart,
    normalize_sku,
    remove_item,
    set_quantity,
)
from tools.cart.view import CartLineView, CartView

__all__ = [
    "CartFull",
    "CartLineView",
    "CartView",
    "ConversationNotFound",
    "InsufficientStock",
    "InvalidQuantity",
    "NotInCart",
    "ProductNotFound",
    "add_item",
    "clear_cart",
    "get_cart",
    "normalize_sku",
    "remove_item",
    "set_quantity",
]
