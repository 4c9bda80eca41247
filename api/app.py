"""The FastAPI application factory: wires settings, the database and the routers together."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from api.routes import health, pages, products
from tools.settings import CommerceSettings, get_commerce_settings
from tools.store.db import Database


def create_app(
    *, commerce: CommerceSettings | None = None, database: Database | None = None
) -> FastAPI:
    """A merchant app. Tests pass their own database; production reads CHATPAY_DATABASE_URL."""
    commerce = commerce or get_commerce_settings()
    owns_database = database is None
    db = database or Database(commerce.database_url)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        yield
        if owns_database:
            await db.dispose()

    app = FastAPI(title="chatpay", version="0.1.0", lifespan=lifespan)
    app.state.database = db
    app.state.commerce = commerce
    app.include_router(health.router)
    app.include_router(products.router)
    app.include_router(pages.router)
    return app
