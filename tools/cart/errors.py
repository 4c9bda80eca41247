"""Refusals of cart edits, each with a machine code, English and Japanese messages, and details.

This module only houses the cart's domain errors. The facts behind each message (sku, quantities,
limits) are attributes and `details`, so the API and the model can act on them without parsing text.
"""

from __future__ import annotations

from tools.errors import ConflictError, DomainError, NotFoundError


class ConversationNotFound(NotFoundError):
    """The conversation the cart belongs to does not exist."""

    def __init__(self, conversation_id: str) -> None:
        super().__init__(
            "conversation_not_found",
            "This conversation could not be found.",
            "この会話は見つかりませんでした。",
            details={"conversation_id": conversation_id},
        )
        self.conversation_id = conversation_id


class ProductNotFound(NotFoundError):
    """No active product has this sku (unknown, or withdrawn from sale)."""

    def __init__(self, sku: str) -> None:
        if sku:
            en = f"We couldn't find a product with the code “{sku}”."
            ja = f"商品コード「{sku}」の商品は見つかりませんでした。"
        else:
            en = "No product code was given."
            ja = "商品コードが指定されていません。"
        super().__init__("product_not_found", en, ja, details={"sku": sku})
        self.sku = sku


class InvalidQuantity(DomainError):
    """A quantity that is not a whole number, or outside what one cart line may hold.

    `requested` is the quantity the line would have had (None when the input was not an int; the
    raw input is never echoed back, since it is arbitrary text from the model).
    """

    def __init__(
        self,
        message_en: str,
        message_ja: str,
        *,
        sku: str | None,
        requested: int | None,
        minimum: int,
        maximum: int,
    ) -> None:
        details: dict[str, object] = {"min": minimum, "max": maximum}
        if sku is not None:
            details["sku"] = sku
        if requested is not None:
            details["requested"] = requested
        super().__init__("invalid_quantity", message_en, message_ja, details=details)
        self.sku = sku
        self.requested = requested
        self.minimum = minimum
        self.maximum = maximum

    @classmethod
    def not_a_count(cls, *, minimum: int, maximum: int) -> InvalidQuantity:
        """The input is not an int in [minimum, maximum] (before any product is looked at)."""
        if minimum == 0:
            en = f"The quantity must be a whole number from 0 to {maximum} (0 removes the item)."
            ja = f"数量は0から{maximum}までの整数で指定してください(0で商品を削除します)。"
        else:
            en = f"The quantity must be a whole number from {minimum} to {maximum}."
            ja = f"数量は{minimum}から{maximum}までの整数で指定してください。"
        return cls(en, ja, sku=None, requested=None, minimum=minimum, maximum=maximum)

    @classmethod
    def over_line_limit(
        cls, *, sku: str, name: str, name_ja: str, requested: int, in_cart: int, maximum: int
    ) -> InvalidQuantity:
        """The line would hold more than the per-line maximum."""
        en = f"You can buy up to {maximum} of {name} per order."
        ja = f"{name_ja}は1回のご注文につき{maximum}点までご購入いただけます。"
        if in_cart:
            en += f" Your cart already has {in_cart}."
            ja += f"(カート内: {in_cart}点)"
        return cls(en, ja, sku=sku, requested=requested, minimum=1, maximum=maximum)


class InsufficientStock(ConflictError):
    """The line would hold more than the stock on hand."""

    def __init__(
        self, *, sku: str, name: str, name_ja: str, requested: int, available: int
    ) -> None:
        if available <= 0:
            en = f"Sorry, {name} is sold out."
            ja = f"申し訳ありません。{name_ja}は売り切れです。"
        else:
            en = f"Sorry, only {available} of {name} left, not enough for {requested}."
            ja = (
                f"申し訳ありません。{name_ja}の在庫は残り{available}点のため、"
                f"{requested}点はご用意できません。"
            )
        super().__init__(
            "insufficient_stock",
            en,
            ja,
            details={"sku": sku, "requested": requested, "available": max(available, 0)},
        )
        self.sku = sku
        self.requested = requested
        self.available = max(available, 0)


class NotInCart(NotFoundError):
    """The shopper referred to a cart line that is not there."""

    def __init__(self, *, sku: str, name: str, name_ja: str) -> None:
        super().__init__(
            "not_in_cart",
            f"{name} is not in your cart.",
            f"{name_ja}はカートに入っていません。",
            details={"sku": sku},
        )
        self.sku = sku


class CartFull(ConflictError):
    """Adding a new product would exceed the number of distinct products a cart may hold."""

    def __init__(self, *, sku: str, name: str, name_ja: str, max_lines: int) -> None:
        super().__init__(
            "cart_full",
            f"Your cart already holds {max_lines} different products, the most it can take. "
            f"Remove one before adding {name}.",
            f"カートに入れられる商品は{max_lines}種類までです。"
            f"{name_ja}を追加するには、ほかの商品を削除してください。",
            details={"sku": sku, "max_lines": max_lines},
        )
        self.sku = sku
        self.max_lines = max_lines
