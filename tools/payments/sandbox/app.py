"""The sandbox gateway as an ASGI app: `create_app(settings, clock=..., send_webhook=...)`.

This module only houses the factory that wires settings, state, routers and error handling. Errors
always answer `{"error": {"code", "message"}}`; request validation errors list the offending field
names but never the submitted values (FastAPI's default would echo the input, and the input of a
payment endpoint may be a card number).
"""

from __future__ import annotations

import asyncio

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from tools.payments.sandbox import api, controls, pages
from tools.payments.sandbox.clock import Clock, system_clock
from tools.payments.sandbox.delivery import HttpWebhookSender, Sleep, WebhookSender
from tools.payments.sandbox.deps import SandboxRuntime
from tools.payments.sandbox.records import SandboxError
from tools.payments.sandbox.settings import SandboxSettings
from tools.payments.sandbox.state import SandboxState


def _sandbox_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, SandboxError)  # noqa: S101 - registered for this type only
    headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else None
    return JSONResponse(exc.body(), status_code=exc.status, headers=headers)


def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)  # noqa: S101 - registered for this type only
    fields = sorted(
        {
            ".".join(str(part) for part in err.get("loc", ()) if part != "body")
            for err in exc.errors()
        }
    )
    return JSONResponse(
        {
            "error": {
                "code": "invalid_request",
                "message": "Invalid or missing fields: " + ", ".join(fields),
                "fields": fields,
            }
        },
        status_code=400,
    )


def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)  # noqa: S101 - registered for this type only
    code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
    return JSONResponse(
        {"error": {"code": code, "message": str(exc.detail)}},
        status_code=exc.status_code,
        headers=exc.headers,
    )


def create_app(
    settings: SandboxSettings | None = None,
    *,
    clock: Clock = system_clock,
    send_webhook: WebhookSender | None = None,
    sleep: Sleep = asyncio.sleep,
) -> FastAPI:
    """A fresh sandbox gateway with empty state.

    `clock` drives token expiry, slip deadlines and webhook timestamps; `send_webhook` makes one
    delivery attempt of an emitted event (default: POST to `settings.webhook_url` with httpx);
    `sleep` is awaited for the latency fault and between delivery retries.
    """
    settings = settings or SandboxSettings()
    runtime = SandboxRuntime(
        settings=settings,
        state=SandboxState(settings, clock),
        send_webhook=send_webhook or HttpWebhookSender(timeout_s=settings.webhook_timeout_seconds),
        sleep=sleep,
    )
    app = FastAPI(title="chatpay sandbox gateway", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.sandbox = runtime
    app.add_exception_handler(SandboxError, _sandbox_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.include_router(api.router)
    app.include_router(controls.router)
    app.include_router(pages.router)
    return app
