"""Dependency aliases for route functions (`SessionDep`, `CommerceDep`, `GatewayDep`, ...)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession

from tools.payments.gateway import PaymentGateway
from tools.settings import CommerceSettings
from tools.store.db import Database


def get_database(request: Request) -> Database:
    database: Database = request.app.state.database
    return database


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    async with get_database(request).session() as session:
        yield session


def get_commerce(request: Request) -> CommerceSettings:
    settings: CommerceSettings = request.app.state.commerce
    return settings


def get_gateway(request: Request) -> PaymentGateway:
    gateway: PaymentGateway = request.app.state.gateway
    return gateway


DatabaseDep = Annotated[Database, Depends(get_database)]
SessionDep = Annotated[AsyncSession, Depends(get_session)]
CommerceDep = Annotated[CommerceSettings, Depends(get_commerce)]
GatewayDep = Annotated[PaymentGateway, Depends(get_gateway)]
