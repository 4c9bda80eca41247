"""`GET /metrics`: operational figures in the Prometheus text format, behind the operator key.

This module only houses the scrape: every figure is computed from the database when Prometheus asks,
so any number of server workers answer the same numbers and nothing is lost on a restart. They are
totals over the rows stored *now*, not event counters: the retention purge (`chatpay purge`) deletes
transcripts, which lowers the turn figures. That is why they are exported as gauges; graph them with
`delta()`/`deriv()`, not `rate()`. Model calls and payments are kept by the purge.

Exported:
- chatpay_conversations: conversations stored;
- chatpay_user_turns: shopper messages stored (widget presses are not turns);
- chatpay_guided_turns: replies made by the guided fallback (the model failed or was useless): runs
  of consecutive `source='guided'` transcript events, one per reply;
- chatpay_model_calls{outcome}: model requests by outcome (ok | invalid | refused | unavailable);
- chatpay_model_latency_seconds: histogram of the latency of successful model requests;
- chatpay_model_tokens{kind}: prompt, completion and cached prompt tokens of all model requests;
- chatpay_payments{method,status,reason}: payment attempts by method, status and gateway reason.
Tool errors (a tool refusing the model's call) are answered to the model and are not stored
anywhere, so they cannot be exported; `chatpay_model_calls{outcome="invalid"}` counts the model's own
malformed answers and `chatpay_payments{status="declined"|"failed"}` the failed payment tools.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from fastapi import APIRouter
from fastapi.responses import PlainTextResponse
from sqlalchemy import and_, case, exists, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from api.deps import DatabaseDep
from api.operator.auth import OperatorDep
from tools.store.models import Conversation, ConversationEvent, ModelCall, Payment

router = APIRouter(tags=["operator"])

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
#: Upper bounds (seconds) of the latency histogram's buckets; +Inf is added.
LATENCY_BUCKETS: tuple[float, ...] = (0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0)

Labels = Sequence[tuple[str, str]]


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _sample(name: str, value: float, labels: Labels = ()) -> str:
    label_text = ",".join(f'{key}="{_escape(val)}"' for key, val in labels)
    number = repr(float(value)) if isinstance(value, float) else str(value)
    return f"{name}{{{label_text}}} {number}" if labels else f"{name} {number}"


def _family(name: str, kind: str, help_text: str, samples: Iterable[str]) -> list[str]:
    return [f"# HELP {name} {help_text}", f"# TYPE {name} {kind}", *samples]


async def _guided_turns(session: AsyncSession) -> int:
    """Replies of the guided fallback: guided events not preceded by another guided event."""
    previous = aliased(ConversationEvent)
    starts_reply = ~exists().where(and_(previous.conversation_id == ConversationEvent.conversation_id,
                                        previous.seq == ConversationEvent.seq - 1,
                                        previous.source == "guided"))
    count = await session.scalar(select(func.count()).select_from(ConversationEvent)
                                 .where(ConversationEvent.source == "guided", starts_reply))
    return int(count or 0)


async def _latency_lines(session: AsyncSession) -> list[str]:
    ok = ModelCall.outcome == "ok"
    columns = [func.coalesce(func.sum(case((ModelCall.latency_ms <= bound * 1000, 1), else_=0)), 0)
               for bound in LATENCY_BUCKETS]
    row = (await session.execute(
        select(*columns, func.count(ModelCall.id),
               func.coalesce(func.sum(ModelCall.latency_ms), 0.0)).where(ok))).one()
    *buckets, count, total_ms = row
    name = "chatpay_model_latency_seconds"
    samples = [_sample(f"{name}_bucket", int(n), [("le", repr(bound))])
               for bound, n in zip(LATENCY_BUCKETS, buckets, strict=True)]
    samples += [_sample(f"{name}_bucket", int(count), [("le", "+Inf")]),
                _sample(f"{name}_sum", float(total_ms) / 1000), _sample(f"{name}_count", int(count))]
    return _family(name, "histogram", "Latency of successful model requests.", samples)


async def render_metrics(session: AsyncSession) -> str:
    """The whole scrape, in the Prometheus text exposition format (version 0.0.4)."""
    conversations = await session.scalar(select(func.count()).select_from(Conversation))
    turns = await session.scalar(select(func.count()).select_from(ConversationEvent).where(
        ConversationEvent.kind == "message", ConversationEvent.role == "user"))
    # Sorted here, not by ORDER BY: PostgreSQL's collation and SQLite's bytes order text apart.
    calls = sorted((outcome, int(n)) for outcome, n in await session.execute(
        select(ModelCall.outcome, func.count()).group_by(ModelCall.outcome)))
    tokens = (await session.execute(select(
        func.coalesce(func.sum(ModelCall.prompt_tokens), 0),
        func.coalesce(func.sum(ModelCall.completion_tokens), 0),
        func.coalesce(func.sum(ModelCall.cached_prompt_tokens), 0)))).one()
    reason = func.coalesce(Payment.reason_code, "")
    payments = sorted((method, status, code, int(n)) for method, status, code, n in
                      await session.execute(
                          select(Payment.method, Payment.status, reason, func.count())
                          .group_by(Payment.method, Payment.status, reason)))
    lines = [
        *_family("chatpay_conversations", "gauge", "Conversations stored.",
                 [_sample("chatpay_conversations", int(conversations or 0))]),
        *_family("chatpay_user_turns", "gauge", "Shopper messages stored.",
                 [_sample("chatpay_user_turns", int(turns or 0))]),
        *_family("chatpay_guided_turns", "gauge", "Replies made by the guided fallback.",
                 [_sample("chatpay_guided_turns", await _guided_turns(session))]),
        *_family("chatpay_model_calls", "gauge", "Model requests by outcome.",
                 [_sample("chatpay_model_calls", int(n), [("outcome", outcome)])
                  for outcome, n in calls]),
        *await _latency_lines(session),
        *_family("chatpay_model_tokens", "gauge", "Tokens of all model requests, by kind.",
                 [_sample("chatpay_model_tokens", int(n), [("kind", kind)])
                  for kind, n in zip(("prompt", "completion", "cached_prompt"), tokens,
                                     strict=True)]),
        *_family("chatpay_payments", "gauge", "Payment attempts by method, status and reason.",
                 [_sample("chatpay_payments", int(n),
                          [("method", method), ("status", status), ("reason", code)])
                  for method, status, code, n in payments]),
    ]
    return "\n".join(lines) + "\n"


@router.get("/metrics", response_class=PlainTextResponse)
async def metrics(_: OperatorDep, database: DatabaseDep) -> PlainTextResponse:
    """Operational figures for Prometheus (totals over the stored rows)."""
    async with database.session() as session:
        body = await render_metrics(session)
    return PlainTextResponse(body, media_type=CONTENT_TYPE)
