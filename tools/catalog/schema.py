"""The shape of one catalogue entry, as a merchant writes it in a catalogue file.

This module only houses `CatalogEntry`, the validated form of a product in a catalogue file (YAML,
JSON, or a list embedded in an eval scenario). It is separate from the ORM class `Product`: the file
format is a contract with merchants and operators, the table is an implementation detail.

Validation is deliberately strict about money: a price is whole yen with tax included, and anything
that is not plainly an integer (`1200.0`, `"1,200"`, `true`) is refused rather than guessed at, so
that a typo in a file can never change what a shopper is charged.
"""

from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator
from pydantic_core import PydanticCustomError

SKU_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}")
TAX_RATES = (8, 10)

AttributeValue = str | int


def _whole_number(value: object, unit: str, example: str) -> int:
    """`value` if it is a genuine int; bools and floats are refused (YAML turns `yes` into True)."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise PydanticCustomError(
            "whole_number",
            "must be a whole number{unit} without quotes or separators (e.g. {example}), "
            "got {value}",
            {"unit": unit, "example": example, "value": repr(value)},
        )
    return value


class CatalogEntry(BaseModel):
    """One product of a catalogue file. Immutable once validated."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True, str_strip_whitespace=True)

    sku: str
    name: str = Field(min_length=1, max_length=200)
    name_ja: str = Field(min_length=1, max_length=200)
    description: str = ""
    description_ja: str = ""
    tags: list[str] = Field(default_factory=list)
    price: int = Field(description="Yen, consumption tax included.")
    tax_rate: int = Field(description="8 (reduced: food and drink) or 10 (standard).")
    stock: int
    category: str = Field(default="", max_length=64)
    attributes: dict[str, AttributeValue] = Field(default_factory=dict)
    active: bool = True

    @field_validator("sku", mode="before")
    @classmethod
    def _check_sku(cls, value: Any) -> str:
        # A bare 12345 in YAML is an int: make the merchant quote it rather than lose leading zeros.
        if not isinstance(value, str):
            raise PydanticCustomError(
                "sku_type", "must be text (quote it in YAML), got {value}", {"value": repr(value)}
            )
        sku = value.strip()
        if not SKU_PATTERN.fullmatch(sku):
            raise PydanticCustomError(
                "sku_format",
                "must be 1-64 letters, digits, '-' or '_', starting with a letter or digit, "
                "got {value}",
                {"value": repr(value)},
            )
        # Upper-case so that uniqueness is case-insensitive everywhere (the column is upper-case).
        return sku.upper()

    @field_validator("price", mode="before")
    @classmethod
    def _check_price(cls, value: Any) -> int:
        price = _whole_number(value, " of yen, tax included,", "1200")
        if price < 0:
            raise PydanticCustomError(
                "price_negative", "must be 0 or more yen, got {value}", {"value": price}
            )
        return price

    @field_validator("tax_rate", mode="before")
    @classmethod
    def _check_tax_rate(cls, value: Any) -> int:
        rate = _whole_number(value, "", "8")
        if rate not in TAX_RATES:
            raise PydanticCustomError(
                "tax_rate_unknown",
                "must be 8 (reduced rate: food and drink) or 10 (standard rate), got {value}",
                {"value": rate},
            )
        return rate

    @field_validator("stock", mode="before")
    @classmethod
    def _check_stock(cls, value: Any) -> int:
        stock = _whole_number(value, "", "50")
        if stock < 0:
            raise PydanticCustomError(
                "stock_negative", "must be 0 or more, got {value}", {"value": stock}
            )
        return stock

    @field_validator("attributes", mode="before")
    @classmethod
    def _check_attributes(cls, value: Any) -> Any:
        # One clear message instead of pydantic's one-per-union-member ("should be a valid
        # string", "should be a valid integer") for a value that is neither.
        if isinstance(value, dict):
            for key, item in value.items():
                if isinstance(item, bool) or not isinstance(item, str | int):
                    raise PydanticCustomError(
                        "attribute_value",
                        "each value must be text or a whole number (e.g. size: M); {key} is "
                        "{value}",
                        {"key": repr(key), "value": repr(item)},
                    )
        return value

    @field_validator("tags")
    @classmethod
    def _drop_blank_tags(cls, tags: list[str]) -> list[str]:
        # Blank tags would match every query in search; duplicates only cost time.
        return list(dict.fromkeys(tag.strip() for tag in tags if tag.strip()))

    @field_validator("category")
    @classmethod
    def _lower_category(cls, category: str) -> str:
        return category.lower()
