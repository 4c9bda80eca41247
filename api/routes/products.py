"""Catalogue browsing: `GET /api/products` (list or search)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel
from sqlalchemy import select

from api.deps import SessionDep
from tools.catalog.search import search_products
from tools.store.models import Product

router = APIRouter(prefix="/api/products", tags=["products"])


class ProductOut(BaseModel):
    sku: str
    name: str
    name_ja: str
    description: str
    description_ja: str
    category: str
    price: int
    tax_rate: int
    stock: int
    currency: str = "JPY"


def _out(product: Product) -> ProductOut:
    return ProductOut(
        sku=product.sku, name=product.name, name_ja=product.name_ja,
        description=product.description, description_ja=product.description_ja,
        category=product.category, price=product.price, tax_rate=product.tax_rate,
        stock=product.stock,
    )


@router.get("")
async def list_products(
    session: SessionDep,
    q: Annotated[str | None, Query(max_length=200, description="Search words (en/ja)")] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
) -> list[ProductOut]:
    """Active products, ranked by relevance when `q` is given."""
    if q and q.strip():
        hits = await search_products(session, q, limit=limit)
        skus = [hit.sku for hit in hits]
        rows = {p.sku: p for p in (await session.scalars(
            select(Product).where(Product.sku.in_(skus)))).all()}
        return [_out(rows[sku]) for sku in skus if sku in rows]
    products = await session.scalars(
        select(Product).where(Product.active.is_(True))
        .order_by(Product.category, Product.sku).limit(limit)
    )
    return [_out(p) for p in products]
