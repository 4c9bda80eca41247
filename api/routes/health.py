"""Liveness and readiness probes."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from sqlalchemy import text

from api.deps import DatabaseDep

router = APIRouter(tags=["health"])


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    """The process is up."""
    return {"status": "ok"}


@router.get("/readyz", response_model=None)
async def readyz(database: DatabaseDep) -> dict[str, str] | JSONResponse:
    """The database answers; 503 with Retry-After otherwise."""
    try:
        async with database.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
    except Exception:  # noqa: BLE001 - any failure means "not ready"
        return JSONResponse({"status": "unavailable", "database": "unreachable"},
                            status_code=503, headers={"Retry-After": "2"})
    return {"status": "ok", "database": "ok"}
