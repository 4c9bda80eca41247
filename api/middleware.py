"""ASGI middleware guarding every request: body size, card numbers in bodies, security headers.

- Bodies over `max_body_bytes` answer 413 before any route runs.
- A JSON body holding a card number answers 400 and is never stored or logged: card details belong
  in the gateway's frame. Chat messages are the one exception — a pasted card there is redacted by the
  turn (the shopper gets the secure form), so the digits are dropped, not refused.
- Every response carries nosniff, a referrer policy and frame protection; CORS stays closed (no
  Access-Control-* headers are ever sent).
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from agent.redaction import redact

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

_SECURITY_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
    (b"x-frame-options", b"DENY"),
    (b"cross-origin-opener-policy", b"same-origin"),
]


async def _reply(send: Send, status: int, code: str, message: str) -> None:
    body = json.dumps({"error": {"code": code, "message": message}}).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"),
                            (b"content-length", str(len(body)).encode()), *_SECURITY_HEADERS]})
    await send({"type": "http.response.body", "body": body})


class GuardMiddleware:
    """Size limit, card-number refusal and security headers (see the module docstring)."""

    def __init__(self, app: ASGIApp, *, max_body_bytes: int = 32 * 1024) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                present = {name.lower() for name, _ in message.get("headers", [])}
                message["headers"] = [*message.get("headers", []),
                                      *[h for h in _SECURITY_HEADERS if h[0] not in present]]
            await send(message)

        if scope["method"] not in ("POST", "PUT", "PATCH"):
            await self.app(scope, receive, send_with_headers)
            return
        declared = dict(scope.get("headers", [])).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_body_bytes:
            await _reply(send, 413, "payload_too_large",
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
                await _reply(send, 413, "payload_too_large",
                             f"The request body is larger than {self.max_body_bytes} bytes.")
                return
            chunks.append(chunk)
            more = message.get("more_body", False)
        body = b"".join(chunks)
        path = scope.get("path", "")
        exempt = path.endswith("/messages") or path.startswith("/api/webhooks/")
        if body and not exempt and redact(body.decode("utf-8", errors="replace")).found_card:
            await _reply(send, 400, "card_number_not_accepted",
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
