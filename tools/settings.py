"""Settings of the commerce core (prefix `CHATPAY_`), read once at start-up and passed down."""

from __future__ import annotations

from functools import lru_cache

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class CommerceSettings(BaseSettings):
    """Money rules and storage location. Every field maps to a `CHATPAY_<NAME>` variable."""

    model_config = SettingsConfigDict(env_prefix="CHATPAY_", extra="ignore")

    database_url: str = Field(
        default="sqlite+aiosqlite:///./var/chatpay.db",
        description="SQLAlchemy async URL: sqlite+aiosqlite:///path or postgresql+asyncpg://...",
    )
    currency: str = Field(default="JPY", description="ISO 4217 currency of all prices.")
    shipping_fee: int = Field(default=600, ge=0, description="Shipping fee in yen, tax included.")
    free_shipping_from: int = Field(
        default=5000, ge=0, description="Goods subtotal (yen) from which shipping is free."
    )
    fee_card: int = Field(default=0, ge=0, description="Payment fee for card (yen).")
    fee_after_delivery: int = Field(
        default=250, ge=0, description="Payment fee for payment after delivery (yen)."
    )
    fee_konbini: int = Field(default=200, ge=0, description="Convenience-store payment fee (yen).")
    after_delivery_limit: int = Field(
        default=55000, ge=0, description="Largest order total (yen) offered payment after delivery."
    )
    quote_ttl_minutes: int = Field(default=15, ge=1, description="Lifetime of a quote.")
    max_line_quantity: int = Field(default=99, ge=1, le=999, description="Largest quantity per line.")
    max_cart_lines: int = Field(default=30, ge=1, description="Most distinct products in a cart.")


@lru_cache(maxsize=1)
def get_commerce_settings() -> CommerceSettings:
    """The process-wide settings, read from the environment once."""
    return CommerceSettings()
