"""Factories for test rows. Tests build what they need here instead of repeating INSERTs."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from tools.store.models import Conversation, Product

# A small catalogue that tests can reason about; the shipped demo catalogue may change independently.
SMALL_CATALOG: list[dict[str, Any]] = [
    {"sku": "TEA-SENCHA", "name": "Sencha green tea 100 g", "name_ja": "煎茶 100g",
     "tags": ["tea", "green tea", "緑茶"], "price": 1200, "tax_rate": 8, "stock": 50},
    {"sku": "COF-DRIP", "name": "Drip coffee bags x10", "name_ja": "ドリップコーヒー 10袋",
     "tags": ["coffee", "コーヒー"], "price": 980, "tax_rate": 8, "stock": 5},
    {"sku": "MUG-HASAMI", "name": "Hasami porcelain mug", "name_ja": "波佐見焼マグカップ",
     "tags": ["mug", "マグ"], "price": 2750, "tax_rate": 10, "stock": 20},
    {"sku": "PEN-BALL", "name": "Ballpoint pen", "name_ja": "ボールペン",
     "tags": ["pen", "stationery", "文房具"], "price": 330, "tax_rate": 10, "stock": 200},
]


async def make_conversation(session: AsyncSession, **overrides: Any) -> Conversation:
    """A conversation row (flushed, not committed)."""
    values: dict[str, Any] = {"id": str(uuid.uuid4()), "locale": "en"}
    values.update(overrides)
    conversation = Conversation(**values)
    session.add(conversation)
    await session.flush()
    return conversation


async def make_product(session: AsyncSession, **overrides: Any) -> Product:
    """A product row; defaults to the first product of SMALL_CATALOG."""
    values: dict[str, Any] = dict(SMALL_CATALOG[0])
    values.update(overrides)
    values["sku"] = values["sku"].upper()
    values.setdefault("description", "")
    values.setdefault("description_ja", "")
    product = Product(**values)
    session.add(product)
    await session.flush()
    return product


async def make_small_catalog(session: AsyncSession) -> dict[str, Product]:
    """All SMALL_CATALOG products, keyed by sku."""
    return {row["sku"]: await make_product(session, **row) for row in SMALL_CATALOG}
