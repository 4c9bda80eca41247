"""The operator dashboard at `/operator`: its login, logout, page and static files.

This module only houses the page routes. The dashboard itself is plain JavaScript
(`api/static/operator.js`) that reads the operator JSON APIs on its own origin with the session
cookie; the page holds no data of its own. Like the chat page it is served with a strict
Content-Security-Policy: only its own script and stylesheet, no inline code, no frames, no other
origin.

Logging in: the page's script posts `{"key": ...}` as JSON (every request body of this service
must be JSON, see `api.middleware`; that also keeps cross-site HTML forms out). The right key sets
the `chatpay_operator` cookie, an HMAC of the key (`api.operator.auth.session_value`), HttpOnly,
SameSite=Strict, Secure behind https. Attempts are rate-limited per client address, so the key
cannot be guessed online even when an operator chose a short-ish one.
"""

from __future__ import annotations

import html
from collections.abc import Mapping
from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from api.operator.auth import (
    COOKIE,
    configured_key,
    key_matches,
    require_operator,
    session_value,
)
from api.rate_limit import RateLimiter
from api.routes.pages import static_response, static_text
from api.settings import ServiceSettings

router = APIRouter(tags=["operator"], include_in_schema=False)

#: Login attempts per client address per minute (right or wrong: a login is rare).
LOGIN_ATTEMPTS_PER_MINUTE = 10
#: How long a browser keeps the session cookie (the value itself never changes with the key).
SESSION_MAX_AGE_S = 12 * 3600
#: A longer "key" is not a key (settings cap nothing, but nobody types 1 KiB by hand).
MAX_KEY_CHARS = 1024

# The only files `/operator/static/...` serves: an allow-list, so no path reaches the filesystem.
STATIC_TYPES = {
    "operator.js": "text/javascript; charset=utf-8",
    "operator.css": "text/css; charset=utf-8",
}

CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; frame-src 'none'; frame-ancestors 'none'; base-uri 'none'; "
    "form-action 'self'"
)

# Why a login failed, in both languages; the script shows the one of the chosen language.
_ERRORS = {
    "wrong_key": ("That key is not right.", "キーが正しくありません。"),
    "rate_limited": (
        "Too many attempts. Please wait a minute and try again.",
        "試行回数が多すぎます。1分ほど待ってからもう一度お試しください。",
    ),
}
_ERROR_SLOT = "<!-- login-error -->"


def page_headers() -> dict[str, str]:
    """Headers of the dashboard and login pages: a CSP that allows this origin's files only."""
    return {
        "Content-Security-Policy": CSP,
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "same-origin",
        # The login page and the dashboard share a URL: never let a cache hand one for the other.
        "Cache-Control": "no-store",
    }


def _service(request: Request) -> ServiceSettings:
    service: ServiceSettings = request.app.state.service
    return service


def _logged_in(request: Request) -> bool:
    try:
        require_operator(request)
    except HTTPException as exc:
        if exc.status_code == 401:
            return False
        raise
    return True


def login_page(
    error: str | None = None, status_code: int = 200, headers: Mapping[str, str] | None = None
) -> HTMLResponse:
    """The login form, with the reason the last attempt failed when there was one."""
    page = static_text("operator-login.html")
    if error is not None:
        english, japanese = _ERRORS[error]
        page = page.replace(
            _ERROR_SLOT,
            (
                f'<p class="login-error" role="alert" data-error="{error}" '
                f'data-en="{html.escape(english)}" data-ja="{html.escape(japanese)}">'
                f"{html.escape(english)}</p>"
            ),
        )
    return HTMLResponse(
        page, status_code=status_code, headers={**page_headers(), **(headers or {})}
    )


def _login_limiter(request: Request) -> RateLimiter:
    # One limiter per app, made on first use: the app factory need not know about the dashboard.
    limiter: RateLimiter | None = getattr(request.app.state, "operator_login_limiter", None)
    if limiter is None:
        limiter = request.app.state.operator_login_limiter = RateLimiter(LOGIN_ATTEMPTS_PER_MINUTE)
    return limiter


async def _submitted_key(request: Request) -> str:
    """`key` of the JSON body; "" for anything else (answered like a wrong key)."""
    if not await request.body():
        return ""
    document = await request.json()  # the guard middleware has already refused non-JSON
    candidate = document.get("key") if isinstance(document, dict) else None
    return candidate if isinstance(candidate, str) and len(candidate) <= MAX_KEY_CHARS else ""


@router.get("/operator", response_class=HTMLResponse)
async def dashboard(request: Request) -> HTMLResponse:
    """The dashboard for a logged-in operator; the login form for anyone else."""
    configured_key(request)
    if not _logged_in(request):
        return login_page()
    return HTMLResponse(static_text("operator.html"), headers=page_headers())


@router.post("/operator/login")
async def login(request: Request) -> Response:
    """Check the key; set the session cookie and go to the dashboard, or show the form again."""
    key = configured_key(request)
    try:
        _login_limiter(request).hit(request.client.host if request.client else "unknown")
    except HTTPException as exc:
        return login_page("rate_limited", 429, headers=exc.headers)
    if not key_matches(await _submitted_key(request), key):
        return login_page("wrong_key", 401)
    response = RedirectResponse("/operator", status_code=303, headers={"Cache-Control": "no-store"})
    response.set_cookie(COOKIE, session_value(key), max_age=SESSION_MAX_AGE_S,
                        **_cookie_scope(request))
    return response


def _cookie_scope(request: Request) -> dict[str, Any]:
    """The session cookie's attributes; deleting it must repeat them for browsers to match it."""
    return {"path": "/", "secure": _service(request).public_url.lower().startswith("https://"),
            "httponly": True, "samesite": "strict"}


@router.post("/operator/logout")
async def logout(request: Request) -> Response:
    """Forget the session cookie and go back to the login form."""
    configured_key(request)
    response = RedirectResponse("/operator", status_code=303, headers={"Cache-Control": "no-store"})
    response.delete_cookie(COOKIE, **_cookie_scope(request))
    return response


@router.get("/operator/static/{name}")
async def static_file(request: Request, name: str) -> Response:
    """The dashboard's script and stylesheet (public: they hold no data, the login page needs them)."""
    configured_key(request)
    return static_response(name, STATIC_TYPES)
