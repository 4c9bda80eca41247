"""ASGI middleware guarding every request: body size, JSON rules, card numbers, security headers.

- Bodies over `max_body_bytes` answer 413 before any route runs.
- Request bodies must be strict JSON (`api.json_body`): another media type answers 415; invalid
  UTF-8, repeated keys, NaN/Infinity or numbers past float range, deep nesting, NUL or lone
  surrogates answer 400. Webhooks are exempt: the gateway chooses their format and signs the bytes.
- A path or query string holding NUL or invalid UTF-8 answers 400: such text can never name a
  stored row, and PostgreSQL would refuse it with a 500 deep inside a query.
- A JSON body holding a card number answers 400 and is never stored or logged: card details belong
  in the gateway's frame. Chat messages are the one exception — a pasted card there is redacted by the
  turn (the shopper gets the secure form), so the digits are dropped, not refused.
- Every response, errors and 404s included, carries a Content-Security-Policy, nosniff, a referrer
  policy and frame protection (a route's own CSP, like the chat page's, wins); CORS stays closed (no
  Access-Control-* headers are ever sent, so browsers keep other origins out).
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any
from urllib.parse import unquote_to_bytes

from agent.redaction import redact
from api.json_body import check_json_body

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

# JSON answers load nothing and may be framed by nobody; the chat page sets its own, wider policy.
API_CSP = b"default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
# FastAPI's /docs and /redoc pages load Swagger UI / ReDoc from a CDN and boot them with an inline
# script. They show the schema only (no shopper data), so that is allowed there and nowhere else.
DOCS_CSP = (b"default-src 'none'; script-src 'unsafe-inline' https://cdn.jsdelivr.net; "
            b"style-src 'unsafe-inline' https://cdn.jsdelivr.net https://fonts.googleapis.com; "
            b"font-src https://fonts.gstatic.com; img-src 'self' data: https://fastapi.tiangolo.com "
            b"https://cdn.jsdelivr.net; connect-src 'self'; worker-src blob:; "
            b"frame-ancestors 'none'; base-uri 'none'; form-action 'none'")
DOCS_PATHS = frozenset({"/docs", "/docs/oauth2-redirect", "/redoc"})

SECURITY_HEADERS: list[tuple[bytes, bytes]] = [
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
    (b"x-frame-options", b"DENY"),
    (b"cross-origin-opener-policy", b"same-origin"),
]


def security_headers(path: str) -> list[tuple[bytes, bytes]]:
    """The headers every response to `path` carries unless the route set its own value."""
    csp = DOCS_CSP if path in DOCS_PATHS else API_CSP
    return [*SECURITY_HEADERS, (b"content-security-policy", csp)]


async def _reply(send: Send, path: str, status: int, code: str, message: str) -> None:
    body = json.dumps({"error": {"code": code, "message": message}}).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"),
                            (b"content-length", str(len(body)).encode()),
                            *security_headers(path)]})
    await send({"type": "http.response.body", "body": body})


def _unreadable_target(scope: Scope) -> bool:
    """Whether the path or query string holds NUL, a lone surrogate or invalid UTF-8."""
    raw_path: bytes = scope.get("raw_path") or scope.get("path", "").encode("utf-8", "surrogatepass")
    for part in (raw_path, scope.get("query_string", b"")):
        decoded = unquote_to_bytes(part.replace(b"+", b" "))
        if b"\x00" in decoded:
            return True
        try:
            decoded.decode("utf-8")  # strict: surrogates are invalid UTF-8 too
        except UnicodeDecodeError:
            return True
    return False


class GuardMiddleware:
    """Size limit, JSON rules, card-number refusal and security headers (see the module docstring)."""

    def __init__(self, app: ASGIApp, *, max_body_bytes: int = 32 * 1024) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope.get("path", "")
        added = security_headers(path)

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                present = {name.lower() for name, _ in message.get("headers", [])}
                message["headers"] = [*message.get("headers", []),
                                      *[h for h in added if h[0] not in present]]
            await send(message)

        if _unreadable_target(scope):
            await _reply(send, path, 400, "bad_request",
                         "The address holds characters no resource name can contain.")
            return
        if scope["method"] not in ("POST", "PUT", "PATCH"):
            await self.app(scope, receive, send_with_headers)
            return
        headers = dict(scope.get("headers", []))
        declared = headers.get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_body_bytes:
            await _reply(send, path, 413, "payload_too_large",
                         f"The request body is larger than {self.max_body_bytes} bytes.")
            return
        chunks: list[bytes] = []
        size = 0
        more = True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body_bytes:
                await _reply(send, path, 413, "payload_too_large",
                             f"The request body is larger than {self.max_body_bytes} bytes.")
                return
            chunks.append(chunk)
            more = message.get("more_body", False)
        body = b"".join(chunks)
        webhook = path.startswith("/api/webhooks/")
        if not webhook:
            content_type = headers.get(b"content-type")
            problem = check_json_body(body, content_type.decode("latin-1")
                                      if content_type is not None else None)
            if problem is not None:
                await _reply(send, path, problem.status, problem.code, problem.message)
                return
        exempt = webhook or path.endswith("/messages")
        if body and not exempt and redact(body.decode("utf-8", errors="replace")).found_card:
            await _reply(send, path, 400, "card_number_not_accepted",
                         "Card numbers are never sent to the shop. Please use the secure card "
                         "form. / カード番号は当店に送信しないでください。"
                         "安全な入力フォームをご利用ください。")
            return
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send_with_headers)
