"""The sandbox gateway on its own port, with a probe: `python -m tests.reliability.probed_gateway`.

This module only houses that server for the killed-server tests. It is the shipped sandbox app
(`CHATPAY_SANDBOX_*` settings, fault controls included) behind one extra read-only route,
`GET /_probe/charges-in-flight`: how many `POST /v1/charges` requests the gateway is working on
right now. That is the observable moment a test waits for before it kills the merchant, so "the
charge was in flight" is a fact of the run, not a guess about timing.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlsplit

import uvicorn

from tools.payments.sandbox import SandboxSettings, create_app

PROBE_PATH = "/_probe/charges-in-flight"


class InFlightProbe:
    """ASGI wrapper counting charge requests from arrival until the gateway has answered."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.in_flight = 0

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http" and scope["path"] == PROBE_PATH:
            body = json.dumps({"charges_in_flight": self.in_flight}).encode()
            await send({"type": "http.response.start", "status": 200,
                        "headers": [(b"content-type", b"application/json")]})
            await send({"type": "http.response.body", "body": body})
            return
        charging = (scope["type"] == "http" and scope["method"] == "POST"
                    and scope["path"] == "/v1/charges")
        if not charging:
            await self.app(scope, receive, send)
            return
        self.in_flight += 1
        try:
            await self.app(scope, receive, send)
        finally:
            self.in_flight -= 1


def main() -> None:
    settings = SandboxSettings()
    where = urlsplit(settings.public_url)
    uvicorn.run(InFlightProbe(create_app(settings)), host=where.hostname or "127.0.0.1",
                port=where.port or 8001, log_level="warning")


if __name__ == "__main__":
    main()
