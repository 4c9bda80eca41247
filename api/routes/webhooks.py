"""`POST /api/webhooks/gateway`: the gateway's notifications (store payments, screening results).

The body is read raw (the signature covers the exact bytes) and never logged: notifications of some
gateways carry personal data. Verification failures answer 400 and change nothing.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response

from api.deps import DatabaseDep, GatewayDep
from tools.payments.gateway import GatewayError, WebhookVerificationError
from tools.payments.notifications import handle_webhook

router = APIRouter(prefix="/api/webhooks", tags=["webhooks"])

MAX_WEBHOOK_BYTES = 64 * 1024


@router.post("/gateway", response_model=None)
async def gateway_webhook(request: Request, database: DatabaseDep,
                          gateway: GatewayDep) -> Response:
    """Verify and apply one notification; replays answer 200 with outcome `duplicate`."""
    body = await request.body()
    if len(body) > MAX_WEBHOOK_BYTES:
        return JSONResponse({"error": {"code": "payload_too_large",
                                       "message": "Webhook body too large."}}, status_code=413)
    headers = {key.lower(): value for key, value in request.headers.items()}
    try:
        result = await handle_webhook(database, gateway, headers, body)
    except WebhookVerificationError as exc:
        return JSONResponse({"error": {"code": exc.code, "message": "Webhook refused."}},
                            status_code=400)
    except GatewayError as exc:  # the gateway could not confirm it now: ask it to resend
        return JSONResponse({"error": {"code": exc.code, "message": "Try again later."}},
                            status_code=503, headers={"Retry-After": "60"})
    if gateway.name == "gmo":
        return PlainTextResponse("0")  # GMO's result notification protocol expects exactly "0"
    return JSONResponse({"event_id": result.event_id, "outcome": result.outcome})
