"""The operator key: who may see funnels, transcripts and metrics.

This module only houses the check. An operator proves the key in one of two ways:
- `Authorization: Bearer <key>` (scripts, `curl`, Prometheus' `authorization` setting);
- the `chatpay_operator` cookie the dashboard's login form sets: an HMAC of the key, so the key
  itself never sits in the browser, HttpOnly and SameSite=Strict (no other site can ride on it).

With no key configured the operator surface does not exist (404), so a deployment that never set
one exposes nothing. A wrong or missing key is 401; keys are compared in constant time.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Annotated

from fastapi import Depends, HTTPException, Request

from api.settings import ServiceSettings

COOKIE = "chatpay_operator"


def configured_key(request: Request) -> str:
    """The operator key; 404 when none is configured (the surface then does not exist)."""
    service: ServiceSettings = request.app.state.service
    if service.operator_key is None:
        raise HTTPException(404, "Not found.")
    return service.operator_key.get_secret_value()


def session_value(key: str) -> str:
    """The cookie value that stands for `key` (stable, so a restart keeps operators logged in)."""
    return hmac.new(key.encode(), b"chatpay operator session v1", hashlib.sha256).hexdigest()


def key_matches(candidate: str, key: str) -> bool:
    return hmac.compare_digest(candidate.encode(), key.encode())


def require_operator(request: Request) -> None:
    """Dependency: 404 without a configured key, 401 without the right one."""
    key = configured_key(request)
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and key_matches(token.strip(), key):
        return
    cookie = request.cookies.get(COOKIE)
    if cookie is not None and key_matches(cookie, session_value(key)):
        return
    raise HTTPException(401, "The operator key is required.",
                        headers={"WWW-Authenticate": "Bearer"})


OperatorDep = Annotated[None, Depends(require_operator)]
