"""The shopper-facing web chat page at `/` and its static script and stylesheet.

This module only houses the routes that serve `api/static/` (chat.html, chat.js, chat.css) and the
security headers of that page. The page is plain JavaScript that talks to the conversation API on
its own origin; card details are typed only into the gateway's iframe, so the page's
Content-Security-Policy allows framing exactly one other origin (the gateway's) and nothing else:
no inline script or style, no third-party script, no `fetch` to anyone but this server.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from importlib.resources import files
from urllib.parse import urlsplit

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse, Response

router = APIRouter(tags=["pages"])

# The only files `/static/...` serves: an allow-list, so no path ever reaches the filesystem.
STATIC_TYPES = {
    "chat.js": "text/javascript; charset=utf-8",
    "chat.css": "text/css; charset=utf-8",
}


@cache
def static_text(name: str) -> str:
    """A file of `api/static/`, read once per process."""
    return (files("api") / "static" / name).read_text(encoding="utf-8")


def static_response(name: str, allowed: Mapping[str, str]) -> Response:
    """A script or stylesheet of `api/static/` if `allowed` (name -> media type) lists it, else 404.

    The chat page and the operator dashboard each serve their own allow-list through this.
    """
    media_type = allowed.get(name)
    if media_type is None:
        raise HTTPException(404, "No such file.")
    return Response(
        static_text(name),
        media_type=media_type,
        headers={"X-Content-Type-Options": "nosniff", "Cache-Control": "no-cache"},
    )


def origin_of(url: str) -> str:
    """`scheme://host[:port]` of `url`: CSP `frame-src` and the page's origin checks use origins."""
    parts = urlsplit(url.strip())
    if parts.scheme not in {"http", "https"} or not parts.netloc:
        raise ValueError(f"not an http(s) URL: {url!r}")
    return f"{parts.scheme}://{parts.netloc}".lower()


@cache
def _sandbox_origin() -> str:
    # Settings are read once (on the first page view) and kept. This is the fallback until the app
    # factory hands the page the same gateway URL it gives the card form (`app.state.gateway_url`);
    # the import is local because only the sandbox deployment needs it.
    from tools.payments.sandbox import SandboxSettings

    return origin_of(SandboxSettings().public_url)


def gateway_origin(request: Request) -> str:
    """The origin of the gateway's card and 3-D Secure frames: the one origin the page may frame."""
    configured = getattr(request.app.state, "gateway_url", None)
    return origin_of(configured) if isinstance(configured, str) else _sandbox_origin()


def page_headers(frame_origin: str) -> dict[str, str]:
    """Headers of the chat page: a strict CSP that only lets `frame_origin` into an iframe."""
    csp = (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        f"connect-src 'self'; frame-src {frame_origin}; frame-ancestors 'none'; "
        "base-uri 'none'; form-action 'self'"
    )
    return {
        "Content-Security-Policy": csp,
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "same-origin",
        # The page holds no personal data (that comes from the API with a token), but a stale page
        # paired with a newer chat.js would break; revalidate on each load.
        "Cache-Control": "no-cache",
    }


@router.get("/", response_class=HTMLResponse, include_in_schema=False)
async def index(request: Request) -> HTMLResponse:
    """The chat page."""
    return HTMLResponse(static_text("chat.html"), headers=page_headers(gateway_origin(request)))


@router.get("/static/{name}", include_in_schema=False)
async def static_file(name: str) -> Response:
    """The page's script and stylesheet (the only resources its CSP lets it load)."""
    return static_response(name, STATIC_TYPES)
