"""Test-only controls under `/sandbox/`: what a provider's dashboard or the real world would do.

This module only houses routes that simulate the shopper paying at the store, a screening settling,
and failures of the charge endpoint, plus read-only listings (charges without card data, emitted
events with their signed headers) that tests and the CLI use to count charges and replay webhooks.
All need the merchant's API key.
"""

from __future__ import annotations

import logging
from typing import Annotated, Literal

from fastapi import APIRouter, BackgroundTasks
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from tools.payments.sandbox.deps import ApiKeyDep, RuntimeDep, SandboxRuntime
from tools.payments.sandbox.records import OutboundEvent

log = logging.getLogger("chatpay.payments.sandbox")

router = APIRouter(prefix="/sandbox", tags=["sandbox"], dependencies=[ApiKeyDep])

Count = Annotated[int, Field(ge=0, le=1000)]


class FaultsRequest(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid")

    latency_ms: Annotated[int, Field(ge=0, le=120_000)] = 0
    fail_next: Count = 0
    lose_next: Count = 0
    scope: Literal["charges"] = "charges"


class SettleRequest(BaseModel):
    model_config = ConfigDict(strict=True)

    result: Literal["approved", "rejected"]


def _emitted(
    outbound: OutboundEvent, runtime: SandboxRuntime, background: BackgroundTasks
) -> JSONResponse:
    # Delivery runs after the response: under uvicorn the control call does not wait on the
    # merchant; under httpx's ASGI transport it has finished by the time the call returns.
    background.add_task(runtime.deliver, outbound)
    log.info(
        "event %s %s order=%s", outbound.event.id, outbound.event.type, outbound.event.order_id
    )
    return JSONResponse(outbound.to_json(), background=background)


@router.post("/konbini/{ref}/pay")
async def pay_slip(ref: str, runtime: RuntimeDep, background: BackgroundTasks) -> JSONResponse:
    """The shopper paid at the store: emits `konbini.paid`."""
    return _emitted(runtime.state.pay_slip(ref), runtime, background)


@router.post("/konbini/{ref}/expire")
async def expire_slip(ref: str, runtime: RuntimeDep, background: BackgroundTasks) -> JSONResponse:
    """The deadline passed unpaid: emits `konbini.expired`."""
    return _emitted(runtime.state.expire_slip(ref), runtime, background)


@router.post("/screenings/{ref}/settle")
async def settle_screening(
    ref: str, body: SettleRequest, runtime: RuntimeDep, background: BackgroundTasks
) -> JSONResponse:
    """Finish a screening left in review: emits `screening.approved|rejected`."""
    return _emitted(runtime.state.settle_screening(ref, body.result), runtime, background)


@router.post("/faults")
async def set_faults(body: FaultsRequest, runtime: RuntimeDep) -> JSONResponse:
    """Replace the injected faults of the charge endpoint (all zero clears them)."""
    faults = runtime.state.faults
    faults.latency_ms, faults.fail_next, faults.lose_next = (
        body.latency_ms,
        body.fail_next,
        body.lose_next,
    )
    log.info("faults set: %s", faults.to_json())
    return JSONResponse(faults.to_json())


@router.get("/faults")
async def get_faults(runtime: RuntimeDep) -> JSONResponse:
    return JSONResponse(runtime.state.faults.to_json())


@router.get("/charges")
async def list_charges(runtime: RuntimeDep) -> JSONResponse:
    """Every charge the sandbox recorded (declines included), oldest first; no card data."""
    return JSONResponse({"data": [c.to_json() for c in runtime.state.charges.values()]})


@router.get("/webhooks")
async def list_webhooks(runtime: RuntimeDep) -> JSONResponse:
    """Every emitted event with the exact body and signed headers, oldest first."""
    return JSONResponse({"data": [e.to_json() for e in runtime.state.events]})


@router.post("/reset")
async def reset(runtime: RuntimeDep) -> JSONResponse:
    """Forget all tokens, charges, slips, screenings, events and faults."""
    runtime.state.reset()
    return JSONResponse({"reset": True})
