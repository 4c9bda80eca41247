"""The FastAPI application factory: wires settings, the database and the routers together."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from api.routes import health, pages, products, webhooks
from api.settings import ServiceSettings
from tools.payments.gateway import PaymentGateway
from tools.payments.registry import build_gateway
from tools.settings import CommerceSettings, get_commerce_settings
from tools.store.db import Database


def create_app(
    *,
    commerce: CommerceSettings | None = None,
    database: Database | None = None,
    gateway: PaymentGateway | None = None,
) -> FastAPI:
    """A merchant app. Tests pass their own database and gateway; production reads settings."""
    commerce = commerce or get_commerce_settings()
    owns_database = database is None
    db = database or Database(commerce.database_url)
    payment_gateway = gateway or build_gateway(ServiceSettings().gateway)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        yield
        if owns_database:
            await db.dispose()

    app = FastAPI(title="chatpay", version="0.1.0", lifespan=lifespan)
    app.state.database = db
    app.state.commerce = commerce
    app.state.gateway = payment_gateway
    app.include_router(health.router)
    app.include_router(webhooks.router)
    app.include_router(products.router)
    app.include_router(pages.router)
    return app
