"""The FastAPI application factory: wires settings, the database, the gateway and the agent."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI

from agent.model import Model
from agent.redaction import install_redacting_filter
from agent.turn import ConversationAgent
from agent.widgets import CardFormConfig
from api.errors import install_error_handlers
from api.middleware import GuardMiddleware
from api.operator import funnel as operator_funnel
from api.operator import metrics as operator_metrics
from api.operator import pages as operator_pages
from api.operator import review as operator_review
from api.rate_limit import RateLimiter
from api.routes import conversations, health, pages, privacy, products, webhooks
from api.settings import ServiceSettings
from prompts import load_prompts
from tools.payments.gateway import PaymentGateway
from tools.payments.registry import build_gateway
from tools.settings import CommerceSettings, get_commerce_settings
from tools.store.db import Database


def create_app(
    *,
    commerce: CommerceSettings | None = None,
    service: ServiceSettings | None = None,
    database: Database | None = None,
    gateway: PaymentGateway | None = None,
    model: Model | None = None,
    gateway_url: str | None = None,
    prompt_dir: Path | None = None,
) -> FastAPI:
    """A merchant app. Tests pass their own parts; production builds them from settings."""
    from agent.settings import AgentSettings

    commerce = commerce or get_commerce_settings()
    service = service or ServiceSettings()
    agent_settings = AgentSettings()
    owns_database = database is None
    db = database or Database(commerce.database_url)
    payment_gateway = gateway or build_gateway(service.gateway)
    if model is None:
        from agent.openai_model import create_model

        model = create_model(agent_settings)
    if gateway_url is None:
        from tools.payments.sandbox import SandboxSettings

        gateway_url = SandboxSettings().public_url
    prompts = load_prompts(prompt_dir or agent_settings.prompt_dir)
    agent = ConversationAgent(
        db=db, model=model, commerce=commerce, prompts=prompts,
        card_form=CardFormConfig(gateway_url=gateway_url, merchant_origin=service.public_url),
        max_steps=agent_settings.max_steps_per_turn, history_turns=agent_settings.history_turns)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        yield
        if owns_database:
            await db.dispose()

    app = FastAPI(title="chatpay", version="0.1.0", lifespan=lifespan)
    app.state.database = db
    app.state.commerce = commerce
    app.state.service = service
    app.state.gateway = payment_gateway
    app.state.agent = agent
    app.state.gateway_url = gateway_url
    app.state.rate_limits = {"conversation": RateLimiter(service.rate_limit_conversation),
                             "client": RateLimiter(service.rate_limit_client)}
    install_redacting_filter()  # one redacting filter for every log record of the process
    install_error_handlers(app)
    app.add_middleware(GuardMiddleware)
    app.include_router(health.router)
    app.include_router(conversations.router)
    app.include_router(privacy.router)
    app.include_router(webhooks.router)
    app.include_router(products.router)
    app.include_router(pages.router)
    app.include_router(operator_funnel.router)
    app.include_router(operator_review.router)
    app.include_router(operator_metrics.router)
    app.include_router(operator_pages.router)
    return app
