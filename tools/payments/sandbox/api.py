"""The sandbox's server API: `/v1` tokens, charges, screenings and convenience-store slips.

This module only houses the routes and their request schemas; the rules live in `state.py`. Every
route except `POST /v1/tokens` needs the merchant's API key. `POST /v1/tokens` is called by the
hosted card form and the terminal chat (the shopper's side), so it takes no key, parses its body by
hand (a validation error must never echo the number back), and its body is never logged.
"""

from __future__ import annotations

import json
import logging
from typing import Annotated, Any
from urllib.parse import urlsplit

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, field_validator

from tools.payments.gateway import Buyer
from tools.payments.sandbox.deps import ApiKeyDep, RuntimeDep
from tools.payments.sandbox.records import Charge, SandboxError

log = logging.getLogger("chatpay.payments.sandbox")

router = APIRouter(prefix="/v1", tags=["v1"])

MAX_TOKEN_BODY = 4096
MAX_AMOUNT = 10**10
NO_STORE = {"Cache-Control": "no-store"}

Ident = Annotated[str, Field(min_length=1, max_length=128)]
Amount = Annotated[int, Field(gt=0, le=MAX_AMOUNT)]


class _Strict(BaseModel):
    # Strict: "100" is not an amount and 1.5 is not rounded; a merchant bug should fail loudly.
    model_config = ConfigDict(strict=True, extra="ignore")


class ChargeRequest(_Strict):
    order_id: Ident
    amount: Amount
    currency: str = Field(pattern=r"^[A-Z]{3}$")
    token: Annotated[str, Field(min_length=1, max_length=256)]
    idempotency_key: Ident
    return_url: str | None = None
    capture: bool = True  # False: authorise only, capture later with /capture

    @field_validator("return_url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value is not None and (
            urlsplit(value).scheme not in {"http", "https"} or not urlsplit(value).netloc
        ):
            raise ValueError("return_url must be an absolute http(s) URL")
        return value


class AmountRequest(_Strict):
    amount: Amount


class RefundRequest(_Strict):
    amount: Amount
    idempotency_key: Ident


class BuyerBody(_Strict):
    name: Annotated[str, Field(min_length=1, max_length=100)]
    postal_code: Annotated[str, Field(min_length=1, max_length=16)]
    address: Annotated[str, Field(min_length=1, max_length=300)]
    phone: Annotated[str, Field(min_length=1, max_length=32)]
    email: Annotated[str, Field(min_length=3, max_length=254)]

    def to_buyer(self) -> Buyer:
        return Buyer(
            name=self.name,
            postal_code=self.postal_code,
            address=self.address,
            phone=self.phone,
            email=self.email,
        )


class ScreeningRequest(_Strict):
    order_id: Ident
    amount: Amount
    buyer: BuyerBody
    idempotency_key: Ident


class SlipRequest(ScreeningRequest):
    store_chain: Annotated[str, Field(min_length=1, max_length=32)]


def _charge_response(charge: Charge, *, replayed: bool) -> JSONResponse:
    headers = {"Idempotent-Replayed": "true"} if replayed else {}
    return JSONResponse(charge.to_json(), status_code=200 if replayed else 201, headers=headers)


# --- tokens (shopper side, no key) ---------------------------------------------------------------


@router.post("/tokens", status_code=201)
async def create_token(request: Request, runtime: RuntimeDep) -> JSONResponse:
    """Tokenise card details; answers public facts only."""
    if request.headers.get("content-type", "").split(";")[0].strip() != "application/json":
        # Requiring JSON makes a cross-site form post impossible without a CORS preflight.
        raise SandboxError(415, "unsupported_media_type", "Send application/json.")
    raw = await request.body()
    if len(raw) > MAX_TOKEN_BODY:
        raise SandboxError(413, "too_large", "Request body too large.")
    try:
        payload: Any = json.loads(raw)
    except ValueError:
        raise SandboxError(400, "invalid_request", "Body is not valid JSON.") from None
    if not isinstance(payload, dict):
        raise SandboxError(400, "invalid_request", "Body must be a JSON object.")
    token = runtime.state.create_token(payload)
    # Brand and last four only; the token id is left out too (it is what a charge needs).
    log.info("token issued brand=%s last4=%s", token.brand, token.last4)
    return JSONResponse(token.public(), status_code=201, headers=NO_STORE)


@router.get("/tokens/{token}", dependencies=[ApiKeyDep])
async def get_token(token: str, runtime: RuntimeDep) -> JSONResponse:
    """Public facts of a token that can still be charged (404 unknown, 410 used or expired)."""
    return JSONResponse(runtime.state.usable_token(token).public(), headers=NO_STORE)


# --- charges -------------------------------------------------------------------------------------


@router.post("/charges", status_code=201, dependencies=[ApiKeyDep])
async def create_charge(body: ChargeRequest, runtime: RuntimeDep) -> JSONResponse:
    """Charge a token under an idempotency key (201 new, 200 replay); faults apply here."""
    faults = runtime.state.faults
    if faults.latency_ms:
        await runtime.sleep(faults.latency_ms / 1000)
    if faults.fail_next > 0:
        faults.fail_next -= 1
        log.info("fault: charge %s refused before processing", body.idempotency_key)
        raise SandboxError(
            503, "service_unavailable", "Injected fault; nothing was charged.", retryable=True
        )
    charge, replayed = runtime.state.charge(
        order_id=body.order_id,
        amount=body.amount,
        currency=body.currency,
        token=body.token,
        idempotency_key=body.idempotency_key,
        return_url=body.return_url,
        capture=body.capture,
    )
    log.info(
        "charge %s order=%s key=%s status=%s reason=%s replayed=%s",
        charge.ref,
        charge.order_id,
        charge.idempotency_key,
        charge.status,
        charge.reason_code,
        replayed,
    )
    if faults.lose_next > 0:
        faults.lose_next -= 1
        log.info("fault: charge %s applied, response dropped", charge.ref)
        # Deliberately not retryable: the charge happened, the merchant must look it up.
        return JSONResponse(
            {"error": {"code": "internal_error", "message": "Internal error."}}, status_code=500
        )
    return _charge_response(charge, replayed=replayed)


@router.get("/charges", dependencies=[ApiKeyDep])
async def find_charge(
    runtime: RuntimeDep,
    order_id: str | None = Query(default=None),
    idempotency_key: str | None = Query(default=None),
) -> JSONResponse:
    """The charge under a key (optionally checked against the order), or an order's latest."""
    if not order_id and not idempotency_key:
        raise SandboxError(400, "invalid_request", "Give order_id and/or idempotency_key.")
    charge = runtime.state.find_charge(order_id=order_id, idempotency_key=idempotency_key)
    return JSONResponse(charge.to_json())


@router.get("/charges/{ref}", dependencies=[ApiKeyDep])
async def get_charge(ref: str, runtime: RuntimeDep) -> JSONResponse:
    return JSONResponse(runtime.state.get_charge(ref).to_json())


@router.post("/charges/{ref}/capture", dependencies=[ApiKeyDep])
async def capture_charge(ref: str, body: AmountRequest, runtime: RuntimeDep) -> JSONResponse:
    charge = runtime.state.capture(ref, body.amount)
    log.info("charge %s captured %d", ref, charge.captured_amount)
    return JSONResponse(charge.to_json())


@router.post("/charges/{ref}/void", dependencies=[ApiKeyDep])
async def void_charge(ref: str, runtime: RuntimeDep) -> JSONResponse:
    charge = runtime.state.void(ref)
    log.info("charge %s voided", ref)
    return JSONResponse(charge.to_json())


@router.post("/charges/{ref}/refund", dependencies=[ApiKeyDep])
async def refund_charge(ref: str, body: RefundRequest, runtime: RuntimeDep) -> JSONResponse:
    charge, refund = runtime.state.refund(ref, body.amount, body.idempotency_key)
    log.info("charge %s refund %s amount=%d", ref, refund.ref, refund.amount)
    return JSONResponse({**charge.to_json(), "refund": refund.to_json()})


# --- payment after delivery and convenience stores -----------------------------------------------


@router.post("/screenings", dependencies=[ApiKeyDep])
async def create_screening(body: ScreeningRequest, runtime: RuntimeDep) -> JSONResponse:
    screening = runtime.state.screen(
        order_id=body.order_id,
        amount=body.amount,
        buyer=body.buyer.to_buyer(),
        idempotency_key=body.idempotency_key,
    )
    log.info("screening %s order=%s status=%s", screening.ref, screening.order_id, screening.status)
    return JSONResponse(screening.to_json())


@router.post("/konbini-slips", status_code=201, dependencies=[ApiKeyDep])
async def create_slip(body: SlipRequest, runtime: RuntimeDep) -> JSONResponse:
    slip = runtime.state.create_slip(
        order_id=body.order_id,
        amount=body.amount,
        store_chain=body.store_chain,
        idempotency_key=body.idempotency_key,
    )
    log.info("konbini slip %s order=%s chain=%s", slip.ref, slip.order_id, slip.store_chain)
    return JSONResponse(slip.to_json(), status_code=201)
