"""Operator routes of the funnel: `GET /api/operator/funnel` and the conversation search.

- `GET /api/operator/funnel?days=30` (or `since=YYYY-MM-DD&until=YYYY-MM-DD`, inclusive UTC dates)
  → the report of `tools.funnel.report.funnel_report`.
- `GET /api/operator/conversations?order_id=&status=&stage=&limit=20&offset=0`
  → {"conversations": [...], "total": n} (`tools.funnel.search`).
Both need the operator key (`api.operator.auth`). Route functions stay thin: the figures are computed
in `tools.funnel`, which the CLI shares.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query

from api.deps import DatabaseDep
from api.operator.auth import OperatorDep
from tools.checkout.order_status import OrderStatus
from tools.funnel import Period, Stage, funnel_report
from tools.funnel.search import ConversationFilter, search_conversations

router = APIRouter(prefix="/api/operator", tags=["operator"])


async def conversation_filter(
    order_id: Annotated[str | None, Query(max_length=36)] = None,
    status: Annotated[OrderStatus | None, Query(description="An order status.")] = None,
    stage: Annotated[Stage | None, Query(description="The furthest funnel stage.")] = None,
) -> ConversationFilter:
    """The search's query parameters, shared by the list and the export (`api.operator.review`)."""
    return ConversationFilter(order_id=order_id or None,
                              status=status.value if status else None, stage=stage)


ConversationFilterDep = Annotated[ConversationFilter, Depends(conversation_filter)]


@router.get("/funnel")
async def get_funnel(
    _: OperatorDep, database: DatabaseDep,
    days: Annotated[int, Query(ge=1, le=3660, description="Days back from `until`.")] = 30,
    since: Annotated[date | None, Query(description="First UTC date (inclusive).")] = None,
    until: Annotated[date | None, Query(description="Last UTC date (inclusive).")] = None,
) -> dict[str, Any]:
    """Counts, conversion and drop-off per stage, by day, locale, method and prompt variant."""
    try:
        period = Period.resolve(days=days, since=since, until=until)
    except ValueError as exc:
        raise HTTPException(422, str(exc)) from exc
    async with database.session() as session:
        return await funnel_report(session, period)


@router.get("/conversations")
async def list_conversations(
    _: OperatorDep, database: DatabaseDep, query: ConversationFilterDep,
    limit: Annotated[int, Query(ge=1, le=200)] = 20,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> dict[str, Any]:
    """Conversations, newest first, by order id, order status or furthest stage."""
    async with database.session() as session:
        return await search_conversations(session, query, limit=limit, offset=offset)
