"""Dependency aliases for route functions (`SessionDep`, `CommerceDep`, `GatewayDep`, ...)."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, HTTPException, Request
from sqlalchemy import bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession

from agent.turn import ConversationAgent
from api.settings import ServiceSettings
from api.tokens import token_matches
from tools.payments.gateway import PaymentGateway
from tools.settings import CommerceSettings
from tools.store.db import Database
from tools.store.models import Conversation

# Conversation ids are UUIDs; anything else names no row and is answered without a query (a path
# can carry text a database would refuse with an error rather than "no such row").
CONVERSATION_ID = re.compile(r"[0-9A-Za-z-]{1,36}")


def database_of(request: Request) -> Database:
    """The app's database (for code that holds the request; dependencies take `DatabaseDep`)."""
    database: Database = request.app.state.database
    return database


# The dependencies are `async def` although they only read app state: FastAPI runs a plain `def`
# dependency in its thread pool, a thread hand-over per dependency per request.
async def get_database(request: Request) -> Database:
    return database_of(request)


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    async with database_of(request).session() as session:
        yield session


async def get_commerce(request: Request) -> CommerceSettings:
    settings: CommerceSettings = request.app.state.commerce
    return settings


async def get_gateway(request: Request) -> PaymentGateway:
    gateway: PaymentGateway = request.app.state.gateway
    return gateway


async def get_agent(request: Request) -> ConversationAgent:
    agent: ConversationAgent = request.app.state.agent
    return agent


async def get_service(request: Request) -> ServiceSettings:
    settings: ServiceSettings = request.app.state.service
    return settings


@dataclass(frozen=True, slots=True)
class OpenedConversation:
    """The conversation a request's bearer token opened: what routes need before their own work."""

    id: str
    locale: str


async def get_conversation(conversation_id: str, request: Request) -> OpenedConversation:
    """The conversation the bearer token opens: 401 without a token, 404 for any other.

    A token of another conversation and an unknown id answer the same 404, so a shopper can never
    learn whether someone else's conversation exists.
    """
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise HTTPException(401, "A bearer token is required.",
                            headers={"WWW-Authenticate": "Bearer"})
    row = None
    if CONVERSATION_ID.fullmatch(conversation_id):
        # Every shopper request passes here first, and the work it opens runs in transactions
        # of its own: this read needs none (see Database.single_statement).
        async with database_of(request).single_statement() as connection:
            row = (await connection.execute(_OPEN, {"id": conversation_id})).first()
    if row is None or not token_matches(token.strip(), row.token_hash):
        raise HTTPException(404, "Conversation not found.")
    opened = OpenedConversation(id=conversation_id, locale=row.locale)
    request.state.locale = opened.locale
    if request.method == "POST":
        limits = request.app.state.rate_limits
        limits["client"].hit(request.client.host if request.client else "unknown")
        limits["conversation"].hit(opened.id)
    return opened


_OPEN = select(Conversation.token_hash, Conversation.locale).where(
    Conversation.id == bindparam("id"))


DatabaseDep = Annotated[Database, Depends(get_database)]
SessionDep = Annotated[AsyncSession, Depends(get_session)]
CommerceDep = Annotated[CommerceSettings, Depends(get_commerce)]
GatewayDep = Annotated[PaymentGateway, Depends(get_gateway)]
AgentDep = Annotated[ConversationAgent, Depends(get_agent)]
ServiceDep = Annotated[ServiceSettings, Depends(get_service)]
ConversationDep = Annotated[OpenedConversation, Depends(get_conversation)]
