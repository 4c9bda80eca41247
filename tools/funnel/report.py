"""The funnel report: counts, shares and drop-off per stage, breakdowns, purchase figures, A/B test.

This module only houses the aggregation over `furthest_stages`; the JSON shape it returns is the one
`GET /api/operator/funnel`, the dashboard and `chatpay funnel` share. Conversations are counted by
the UTC date they were created on, within an inclusive period of dates. Ratios are rounded to four
decimals and are null where they would divide by zero (drop-off from an empty stage, for instance).
"""

from __future__ import annotations

import statistics
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import and_, case, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from tools.checkout.order_status import OrderStatus
from tools.funnel.significance import two_proportion_z_test
from tools.funnel.stages import (
    PURCHASE_STATUSES,
    STAGES,
    Stage,
    conversations_in_scope,
    furthest_stages,
    rank,
)
from tools.store.models import Conversation, ConversationEvent, ModelCall, Order

#: The breakdowns of the report, in the order they are shown.
BREAKDOWNS = ("day", "locale", "payment_method", "prompt_variant")
#: A variant's conversion differs from the control's when the two-sided p is below this.
SIGNIFICANCE_LEVEL = 0.05


@dataclass(frozen=True)
class Period:
    """An inclusive range of UTC dates."""

    since: date
    until: date

    @classmethod
    def resolve(cls, *, days: int = 30, since: date | None = None, until: date | None = None,
                today: date | None = None) -> Period:
        """`since`..`until` as given; a missing end is today, a missing start `days` days back."""
        end = until or today or datetime.now(UTC).date()
        start = since or end - timedelta(days=days - 1)
        if start > end:
            raise ValueError("since is after until")
        return cls(start, end)

    def bounds(self) -> tuple[datetime, datetime]:
        """The half-open range of instants [since 00:00 UTC, the day after until 00:00 UTC)."""
        return (datetime.combine(self.since, time(), UTC),
                datetime.combine(self.until + timedelta(days=1), time(), UTC))


def _ratio(numerator: int, denominator: int) -> float | None:
    return round(numerator / denominator, 4) if denominator else None


def stage_rows(stages: list[Stage]) -> list[dict[str, Any]]:
    """Count, share of started and drop-off from the previous stage, for every stage."""
    reached = [sum(1 for s in stages if rank(s) >= rank(stage)) for stage in STAGES]
    rows: list[dict[str, Any]] = []
    for index, stage in enumerate(STAGES):
        previous = reached[index - 1] if index else None
        drop = None if not previous else round(1 - reached[index] / previous, 4)
        rows.append({"stage": stage.value, "count": reached[index],
                     "share_of_started": _ratio(reached[index], reached[0]),
                     "drop_off_from_previous": drop})
    return rows


def _group(stages: list[Stage]) -> dict[str, Any]:
    purchases = sum(1 for s in stages if s is Stage.PURCHASED)
    return {"conversations": len(stages), "purchases": purchases,
            "conversion": _ratio(purchases, len(stages)), "stages": stage_rows(stages)}


def _variants(groups: dict[str, list[Stage]]) -> list[dict[str, Any]]:
    """Each variant against the one with the most conversations (ties: the first by name)."""
    if not groups:
        return []
    control = min(groups, key=lambda name: (-len(groups[name]), name))
    control_n = len(groups[control])
    control_x = sum(1 for s in groups[control] if s is Stage.PURCHASED)
    rows = []
    for name in sorted(groups):
        n = len(groups[name])
        x = sum(1 for s in groups[name] if s is Stage.PURCHASED)
        test = None if name == control else two_proportion_z_test(x, n, control_x, control_n)
        rows.append({"variant": name, "conversations": n, "purchases": x,
                     "conversion": _ratio(x, n), "control": control,
                     "z": test.z if test else None, "p_value": test.p_value if test else None,
                     "significant": bool(test and test.p_value < SIGNIFICANCE_LEVEL)})
    return rows


async def _purchase_figures(session: AsyncSession, since: datetime, until: datetime,
                            created: dict[str, datetime]) -> tuple[dict[str, Any], int]:
    """Medians of time and user turns to the first purchase, usage per purchase; store-pay count."""
    scope = conversations_in_scope(None, since, until)
    settled = case((Order.status == OrderStatus.AWAITING_STORE_PAYMENT.value, 0), else_=1)
    purchases = (select(Order.conversation_id.label("cid"),
                        func.min(Order.created_at).label("at"),
                        func.max(settled).label("settled"))
                 .where(Order.conversation_id.in_(scope), Order.status.in_(PURCHASE_STATUSES))
                 .group_by(Order.conversation_id).subquery())
    bought = {cid: (at, settled) for cid, at, settled in await session.execute(select(purchases))}
    awaiting = sum(1 for _, settled in bought.values() if not settled)
    empty = {"median_seconds": None, "median_user_turns": None,
             "model_calls_per_purchase": None, "tokens_per_purchase": None}
    if not bought:
        return empty, awaiting
    first_events = {cid: value for cid, value in await session.execute(
        select(ConversationEvent.conversation_id, func.min(ConversationEvent.created_at))
        .where(ConversationEvent.conversation_id.in_(select(purchases.c.cid)))
        .group_by(ConversationEvent.conversation_id))}
    turns = {cid: value for cid, value in await session.execute(
        select(ConversationEvent.conversation_id, func.count())
        .join(purchases, and_(purchases.c.cid == ConversationEvent.conversation_id,
                              ConversationEvent.created_at < purchases.c.at))
        .where(ConversationEvent.kind == "message", ConversationEvent.role == "user")
        .group_by(ConversationEvent.conversation_id))}
    calls, tokens = (await session.execute(
        select(func.count(ModelCall.id),
               func.coalesce(func.sum(ModelCall.prompt_tokens + ModelCall.completion_tokens), 0))
        .where(ModelCall.conversation_id.in_(select(purchases.c.cid))))).one()
    # A purged transcript has no first event: the conversation's creation stands in for it.
    seconds = [(at - first_events.get(cid, created[cid])).total_seconds()
               for cid, (at, _) in bought.items()]
    n = len(bought)
    return {"median_seconds": statistics.median(seconds),
            "median_user_turns": statistics.median(turns.get(cid, 0) for cid in bought),
            "model_calls_per_purchase": round(calls / n, 4),
            "tokens_per_purchase": round(int(tokens) / n, 4)}, awaiting


async def funnel_report(session: AsyncSession, period: Period) -> dict[str, Any]:
    """The whole funnel of the conversations created in `period` (see the module docstring)."""
    since, until = period.bounds()
    stages = await furthest_stages(session, None, since, until)
    facts = (await session.execute(
        select(Conversation.id, Conversation.created_at, Conversation.locale,
               Conversation.payment_method, Conversation.prompt_variant)
        .where(Conversation.created_at >= since, Conversation.created_at < until))).all()
    groups: dict[str, dict[str, list[Stage]]] = {name: defaultdict(list) for name in BREAKDOWNS}
    created: dict[str, datetime] = {}
    for cid, created_at, locale, method, variant in facts:
        stage = stages.get(cid)
        if stage is None:  # created between the two reads
            continue
        created[cid] = created_at
        groups["day"][created_at.astimezone(UTC).date().isoformat()].append(stage)
        groups["locale"][locale].append(stage)
        groups["payment_method"][method or "none"].append(stage)
        groups["prompt_variant"][variant or "default"].append(stage)
    everyone = [stages[cid] for cid in created]  # the same conversations as the breakdowns
    stopped = Counter(s for s in everyone if s is not Stage.PURCHASED)
    purchase, awaiting = await _purchase_figures(session, since, until, created)
    return {
        "period": {"since": period.since.isoformat(), "until": period.until.isoformat()},
        "stages": stage_rows(everyone),
        "stopped_at": {s.value: stopped[s] for s in STAGES if s is not Stage.PURCHASED},
        "awaiting_store_payment": awaiting,
        "by": {name: {key: _group(members) for key, members in sorted(groups[name].items())}
               for name in BREAKDOWNS},
        "purchase": purchase,
        "variants": _variants(groups["prompt_variant"]),
    }
