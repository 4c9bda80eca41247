"""What the OpenAPI schema must say that FastAPI cannot see: error bodies and the bearer token.

This module only houses the standard error body's models and the schema post-processing that
declares, per operation, the refusals the guard middleware, the error handlers and the conversation
dependency really answer. FastAPI on its own declares a 422 with its `{"detail": [...]}` body (which
this service never sends) and nothing else, so a client generated from the schema, or a schema-driven
fuzzer, would meet undeclared 400/401/404/413/415/429 answers.
"""

from __future__ import annotations

import json
from typing import Any

from fastapi import FastAPI
from pydantic import BaseModel, ConfigDict

BEARER_SCHEME = "conversationToken"
OPERATOR_SCHEME = "operatorKey"
_METHODS = frozenset({"get", "put", "post", "delete", "patch", "head", "options", "trace"})

_REASONS = {
    400: "Malformed request: invalid JSON or a card number in the body, or NUL or invalid UTF-8 "
         "in the path or query.",
    401: "No bearer token, or a malformed Authorization header.",
    404: "Unknown conversation, or the token belongs to another one (indistinguishable).",
    409: "The request is valid but the state moved on (stale quote, stock gone, ...).",
    413: "The request body is larger than 32 KB.",
    415: "The request body is not JSON.",
    422: "The request does not match the schema; the fields and problems are listed.",
    429: "Too many requests; retry after the Retry-After seconds.",
    503: "The database is briefly unavailable; retry after the Retry-After seconds.",
}


class ErrorDetail(BaseModel):
    """`code` is stable for programs; `message` is for people (English, or Japanese by locale)."""

    model_config = ConfigDict(extra="allow")  # `fields` (422) or `details` (domain refusals)
    code: str
    message: str


class ErrorBody(BaseModel):
    """Every refusal of the service: `{"error": {"code", "message", ...}}`."""

    error: ErrorDetail


def _is_operator_operation(path: str) -> bool:
    # The operator surface (api.operator): funnel, review, metrics. Its own key, not a shopper's.
    return path.startswith("/api/operator") or path == "/metrics"


def _is_conversation_operation(operation: dict[str, Any]) -> bool:
    # Every route that opens a conversation takes `ConversationDep`, whose `conversation_id`
    # parameter FastAPI publishes as a path parameter: the schema itself says which ones need a token.
    return any(p.get("in") == "path" and p.get("name") == "conversation_id"
               for p in operation.get("parameters", []))


def _error_statuses(path: str, method: str, operation: dict[str, Any]) -> set[int]:
    """The error statuses an operation can answer (see `_REASONS`)."""
    webhook = path.startswith("/api/webhooks/")
    statuses: set[int] = set()
    if operation.get("parameters") or "requestBody" in operation:
        statuses |= {400, 422}
    if method in ("post", "put", "patch"):
        statuses |= {400, 413} | (set() if webhook else {415, 422, 429})
    if _is_operator_operation(path):
        statuses |= {401, 404}  # 404: no operator key is configured
    elif _is_conversation_operation(operation):
        statuses |= {401, 404}
        if method == "post":
            statuses |= {400, 404, 409, 422}  # domain refusals of messages and actions
    # Health probes answer in their own format to load balancers; every other operation reads the
    # database and reports it unavailable with the standard body.
    if "health" not in operation.get("tags", []):
        statuses.add(503)
    return statuses


def declare_error_responses(schema: dict[str, Any]) -> dict[str, Any]:
    """Add the standard error responses and the bearer scheme to a FastAPI-generated schema.

    Idempotent: responses a route declared itself are kept, except FastAPI's default 422.
    """
    components = schema.setdefault("components", {})
    schemas = components.setdefault("schemas", {})
    body_schema = ErrorBody.model_json_schema(ref_template="#/components/schemas/{model}")
    schemas.update(body_schema.pop("$defs", {}))
    schemas["ErrorBody"] = body_schema
    components.setdefault("securitySchemes", {})[BEARER_SCHEME] = {
        "type": "http", "scheme": "bearer",
        "description": "The token returned when the conversation was started."}
    components["securitySchemes"][OPERATOR_SCHEME] = {
        "type": "http", "scheme": "bearer",
        "description": "CHATPAY_OPERATOR_KEY (or the dashboard's login cookie)."}
    error_ref = {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}}
    for path, path_item in schema.get("paths", {}).items():
        for method, operation in path_item.items():
            if method not in _METHODS:
                continue
            responses = operation.setdefault("responses", {})
            for status in sorted(_error_statuses(path, method, operation)):
                declared = responses.get(str(status))
                # FastAPI's default 422 describes a body this service never sends: replace it.
                if declared is None or "HTTPValidationError" in json.dumps(declared):
                    responses[str(status)] = {"description": _REASONS[status],
                                              "content": error_ref}
            if _is_operator_operation(path):
                operation["security"] = [{OPERATOR_SCHEME: []}]
            elif _is_conversation_operation(operation):
                operation["security"] = [{BEARER_SCHEME: []}]
    for unused in ("HTTPValidationError", "ValidationError"):  # in this order: one refers to the other
        if unused in schemas and f"#/components/schemas/{unused}\"" not in json.dumps(schema):
            del schemas[unused]
    return schema


def install_openapi(app: FastAPI) -> None:
    """Make `app.openapi()` (and so /openapi.json and /docs) include the declarations above."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        # FastAPI caches its schema and rebuilds it when routes change; process each build once.
        schema = generate()
        if "ErrorBody" not in schema.get("components", {}).get("schemas", {}):
            declare_error_responses(schema)
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
