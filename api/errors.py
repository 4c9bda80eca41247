"""Error bodies: every refusal is `{"error": {"code", "message"}}` with a 4xx status, never a 500.

Validation errors never echo the input back (a pasted card number must not bounce into a response or
a log); they name the fields and what is wrong with them. Installing the handlers also declares these
bodies in the OpenAPI schema (`api.openapi`), so the schema describes what the handlers answer.
"""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DBAPIError, OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException

from agent.redaction import redact
from api.middleware import security_headers
from api.openapi import install_openapi
from tools.errors import DomainError

log = logging.getLogger(__name__)


def error_body(code: str, message: str, **extra: object) -> dict[str, object]:
    return {"error": {"code": code, "message": message, **extra}}


def _locale(request: Request) -> str:
    return getattr(request.state, "locale", "en")


async def _domain(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, DomainError)  # noqa: S101 - registered for DomainError only
    body = exc.to_dict("ja" if _locale(request) == "ja" else "en")
    return JSONResponse({"error": body}, status_code=exc.http_status)


async def _validation(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)  # noqa: S101
    # A field's path can hold input too (the name of an unexpected key), so it is redacted.
    fields = [{"field": redact(".".join(str(p) for p in err.get("loc", ())[1:])).text or "body",
               "problem": err.get("msg", "invalid")} for err in exc.errors()]
    return JSONResponse(error_body("invalid_request", "The request body is not valid.",
                                   fields=fields[:20]), status_code=422)


async def _http(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)  # noqa: S101
    codes = {400: "bad_request", 401: "unauthorized", 404: "not_found",
             405: "method_not_allowed", 413: "payload_too_large", 415: "unsupported_media_type",
             429: "rate_limited"}
    message = exc.detail if isinstance(exc.detail, str) else "Request refused."
    return JSONResponse(error_body(codes.get(exc.status_code, "http_error"), message),
                        status_code=exc.status_code, headers=getattr(exc, "headers", None))


def unavailable_body() -> dict[str, object]:
    """The body of every "database briefly unavailable" answer, JSON or streamed."""
    return error_body("unavailable", "The service is briefly unavailable; please retry.")


def is_database_outage(exc: BaseException) -> bool:
    """Whether `exc` means the database cannot serve anyone now (503), not a bug (500)."""
    if isinstance(exc, OperationalError | ConnectionRefusedError):
        return True
    return isinstance(exc, DBAPIError) and _database_unreachable(exc)


async def _database_down(request: Request, exc: Exception) -> JSONResponse:
    log.warning("database unavailable: %s", type(exc).__name__)
    return JSONResponse(unavailable_body(), status_code=503, headers={"Retry-After": "2"})


# SQLSTATE classes that mean "the database cannot serve anyone right now": connection exception
# (08), insufficient resources (53: too many connections, disk full), operator intervention (57:
# shutdown, restart, session terminated). PostgreSQL refuses a database that is not accepting
# connections with 55000, which elsewhere also means a bug (currval before nextval), so that code
# counts only when it came from connecting (no statement).
_UNAVAILABLE_SQLSTATE_CLASSES = ("08", "53", "57")


def _database_unreachable(exc: DBAPIError) -> bool:
    if isinstance(exc, OperationalError) or exc.connection_invalidated:
        return True
    state = str(getattr(exc.orig, "sqlstate", None) or getattr(exc.orig, "pgcode", None) or "")
    return (state[:2] in _UNAVAILABLE_SQLSTATE_CLASSES
            or (state == "55000" and exc.statement is None))


async def _database_error(request: Request, exc: Exception) -> JSONResponse:
    """asyncpg reports an outage as a plain DBAPIError or an InterfaceError, not OperationalError."""
    if not is_database_outage(exc):
        raise exc  # a bug or a violated constraint: the server's 500 and its log, not a retry
    return await _database_down(request, exc)


async def _internal(request: Request, exc: Exception) -> JSONResponse:
    # Starlette answers unhandled exceptions outside every middleware, so the guard's security
    # headers are added here; the exception is re-raised afterwards and logged (redacted) by the
    # server. The body names no detail of the failure.
    headers = {name.decode(): value.decode()
               for name, value in security_headers(request.url.path)}
    message = ("問題が発生しました。もう一度お試しください。" if _locale(request) == "ja"
               else "Something went wrong on our side. Please retry.")
    return JSONResponse(error_body("internal_error", message), status_code=500, headers=headers)


def install_error_handlers(app: FastAPI) -> None:
    install_openapi(app)
    app.add_exception_handler(Exception, _internal)
    app.add_exception_handler(DomainError, _domain)
    app.add_exception_handler(RequestValidationError, _validation)
    app.add_exception_handler(StarletteHTTPException, _http)
    app.add_exception_handler(OperationalError, _database_down)
    app.add_exception_handler(DBAPIError, _database_error)
    app.add_exception_handler(ConnectionRefusedError, _database_down)
