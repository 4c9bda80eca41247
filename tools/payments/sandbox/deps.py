"""FastAPI dependencies of the sandbox app: its runtime (state, clock, webhooks) and API-key auth.

This module only houses what route functions receive by injection, as `Annotated` aliases.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request

from tools.payments.sandbox.delivery import Sleep, WebhookSender, dispatch
from tools.payments.sandbox.records import OutboundEvent, SandboxError
from tools.payments.sandbox.settings import SandboxSettings
from tools.payments.sandbox.state import SandboxState


@dataclass
class SandboxRuntime:
    """Everything one sandbox app instance runs on; stored on `app.state.sandbox`."""

    settings: SandboxSettings
    state: SandboxState
    send_webhook: WebhookSender
    sleep: Sleep  # injected so tests check the latency fault without waiting

    async def deliver(self, outbound: OutboundEvent) -> None:
        """Deliver one emitted event (run as a background task after the response)."""
        await dispatch(
            outbound, self.send_webhook, attempts=self.settings.webhook_attempts, sleep=self.sleep
        )


def get_runtime(request: Request) -> SandboxRuntime:
    runtime: SandboxRuntime = request.app.state.sandbox
    return runtime


RuntimeDep = Annotated[SandboxRuntime, Depends(get_runtime)]


def require_api_key(request: Request, runtime: RuntimeDep) -> None:
    """Merchant calls carry `Authorization: Bearer <api_key>`; browsers never hold the key."""
    scheme, _, presented = request.headers.get("authorization", "").partition(" ")
    expected = runtime.settings.api_key.encode()
    if scheme.lower() != "bearer" or not hmac.compare_digest(presented.strip().encode(), expected):
        raise SandboxError(401, "unauthorized", "Missing or wrong API key.")


ApiKeyDep = Depends(require_api_key)
