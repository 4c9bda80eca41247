"""The hosted pages the shopper's browser loads from the sandbox's own origin.

This module only houses the card-fields page (inside the chat's iframe), the 3-D Secure challenge
page, and their static assets. Because these pages are served from the gateway's origin, the chat
page's scripts cannot read what is typed into them; the card form talks only to its own origin
(`POST /v1/tokens`) and hands the resulting token to the parent window with `postMessage`, addressed
to one exact origin from the allow-list — never "*", which would hand the token to whoever
framed the page.

Every page answers with a strict Content-Security-Policy: no inline script or style, no external
resources, `connect-src 'self'`, `form-action 'none'` (the inputs have no `name` either, so a page
whose script failed can never submit the number in a URL), and `frame-ancestors` limited to the one
origin the page will talk to.
"""

from __future__ import annotations

import html
import json
import logging
from functools import cache
from importlib.resources import files
from string import Template
from typing import Any, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response

from tools.payments.sandbox.deps import RuntimeDep
from tools.payments.sandbox.records import Outcome, SandboxError
from tools.payments.sandbox.settings import normalize_origin

log = logging.getLogger("chatpay.payments.sandbox")

router = APIRouter(tags=["pages"])

Locale = Literal["en", "ja"]

ASSET_TYPES = {
    "card_form.js": "text/javascript; charset=utf-8",
    "threeds.js": "text/javascript; charset=utf-8",
    "sandbox.css": "text/css; charset=utf-8",
}

LABELS: dict[str, dict[Locale, str]] = {
    "card_title": {"en": "Card details", "ja": "カード情報"},
    # No test card number here: no response of the sandbox ever carries a full card number.
    "sandbox_note": {
        "en": "Sandbox: no real card is charged. Use a test card from the README.",
        "ja": "テスト環境です。実際の請求は発生しません。README のテストカードをお使いください。",
    },
    "number": {"en": "Card number", "ja": "カード番号"},
    "exp": {"en": "Expiry (MM/YY)", "ja": "有効期限 (MM/YY)"},
    "cvc": {"en": "Security code", "ja": "セキュリティコード"},
    "name": {"en": "Name on card", "ja": "カード名義"},
    "submit": {"en": "Use this card", "ja": "このカードを使う"},
    "threeds_title": {"en": "Verify your card", "ja": "本人認証"},
    "threeds_intro": {
        "en": "Enter the one-time code sent by your card issuer.",
        "ja": "カード会社から届いたワンタイムコードを入力してください。",
    },
    "threeds_hint": {
        "en": "Sandbox: 123456 passes, any other code fails.",
        "ja": "テスト環境: 123456 で成功、それ以外は失敗します。",
    },
    "code": {"en": "One-time code", "ja": "ワンタイムコード"},
    "verify": {"en": "Verify", "ja": "認証する"},
    "closed": {
        "en": "This verification is already complete.",
        "ja": "この認証はすでに完了しています。",
    },
}


@cache
def _asset(name: str) -> str:
    return (files("tools.payments.sandbox") / "assets" / name).read_text(encoding="utf-8")


def _render(template: str, values: dict[str, str]) -> str:
    # Every value is HTML-escaped: the session and locale come straight from the query string.
    return Template(_asset(template)).substitute({k: html.escape(v) for k, v in values.items()})


def page_headers(frame_origin: str | None) -> dict[str, str]:
    """Security headers of a hosted page that only `frame_origin` may frame (none if None)."""
    ancestors = frame_origin or "'none'"
    csp = (
        "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
        "img-src 'self'; form-action 'none'; base-uri 'none'; "
        f"frame-ancestors {ancestors}"
    )
    return {
        "Content-Security-Policy": csp,
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
        "Cache-Control": "no-store",
    }


def _allowed_origin(origin: str | None, allowed: list[str]) -> str | None:
    """The normalised origin if it is on the allow-list; None otherwise."""
    normalised = normalize_origin(origin) if origin else None
    return normalised if normalised in allowed else None


def _refusal(message: str, status: int = 400) -> HTMLResponse:
    return HTMLResponse(
        f"<!doctype html><title>{status}</title><p>{html.escape(message)}</p>",
        status_code=status,
        headers=page_headers(None),
    )


def _labels(locale: Locale) -> dict[str, str]:
    return {f"label_{key}": text[locale] for key, text in LABELS.items()}


@router.get("/card-form", response_class=HTMLResponse)
async def card_form(
    runtime: RuntimeDep,
    origin: str | None = Query(default=None),
    locale: str = Query(default="en"),
    session: str = Query(default="", max_length=200),
) -> HTMLResponse:
    """The card-fields page for the chat's iframe; 400 unless `origin` is an allowed origin."""
    parent = _allowed_origin(origin, runtime.settings.allowed_origins)
    if parent is None:
        log.warning("card form refused for an origin not on the allow-list")
        return _refusal("This page may only be embedded by an allowed merchant origin.")
    lang: Locale = "ja" if locale == "ja" else "en"
    body = _render(
        "card_form.html", {"lang": lang, "origin": parent, "session": session, **_labels(lang)}
    )
    return HTMLResponse(body, headers=page_headers(parent))


@router.get("/3ds/{charge_ref}", response_class=HTMLResponse)
async def threeds_page(
    charge_ref: str,
    runtime: RuntimeDep,
    origin: str | None = Query(default=None),
    locale: str = Query(default="en"),
) -> HTMLResponse:
    """The challenge page: framed by an allowed `origin`, or opened top-level (return_url flow)."""
    parent = _allowed_origin(origin, runtime.settings.allowed_origins)
    if origin is not None and parent is None:
        return _refusal("This page may only be embedded by an allowed merchant origin.")
    charge = runtime.state.charges.get(charge_ref)
    if charge is None:
        return _refusal("Unknown payment.", 404)
    lang: Locale = "ja" if locale == "ja" else "en"
    if charge.status is not Outcome.REQUIRES_ACTION:
        return _refusal(LABELS["closed"][lang], 409)
    body = _render(
        "threeds.html",
        {
            "lang": lang,
            "origin": parent or "",
            "ref": charge.ref,
            "amount": f"{charge.amount:,} {charge.currency}",
            **_labels(lang),
        },
    )
    return HTMLResponse(body, headers=page_headers(parent))


@router.post("/3ds/{charge_ref}")
async def threeds_submit(charge_ref: str, request: Request, runtime: RuntimeDep) -> JSONResponse:
    """Complete the challenge with the shopper's code (called by the page's own script)."""
    if request.headers.get("content-type", "").split(";")[0].strip() != "application/json":
        raise SandboxError(415, "unsupported_media_type", "Send application/json.")
    try:
        payload: Any = json.loads(await request.body())
    except ValueError:
        raise SandboxError(400, "invalid_request", "Body is not valid JSON.") from None
    code = payload.get("code") if isinstance(payload, dict) else None
    if not isinstance(code, str) or len(code) > 32:
        raise SandboxError(400, "invalid_request", 'Send {"code": "..."}.')
    charge = runtime.state.complete_challenge(charge_ref, code)
    log.info("3ds %s completed: %s", charge.ref, charge.status)
    return JSONResponse(
        {
            "payment_ref": charge.ref,
            "status": charge.status.value,
            "reason_code": charge.reason_code,
            "return_url": charge.return_url,
        },
        headers={"Cache-Control": "no-store"},
    )


@router.get("/assets/{name}")
async def asset(name: str) -> Response:
    """The pages' scripts and stylesheet (the only things CSP lets them load)."""
    media_type = ASSET_TYPES.get(name)
    if media_type is None:
        raise SandboxError(404, "not_found", "No such asset.")
    return Response(
        _asset(name),
        media_type=media_type,
        headers={"X-Content-Type-Options": "nosniff", "Cache-Control": "public, max-age=300"},
    )
