"""What must hold after a load run, checked from the client's records, the merchant's database and
the sandbox gateway's own ledger (`GET /sandbox/charges`).

This module only houses the checks (`client_checks`, `database_checks`), the `Check` they return
and `fetch_ledger`. The database and the ledger are scoped to the run: the conversations its
shoppers opened, their orders, and the charges for those orders (plus any charge made during the
run for an order nobody knows). Checks marked `needs_idempotency_key` can only pass on a server
that honours the `Idempotency-Key` header.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, TypeVar

import httpx
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from evals.load.shopper import ShopperOutcome
from evals.load.traffic import IN_PROGRESS, RequestRecord
from tools.store.db import Database
from tools.store.models import ConversationEvent, Order, Payment

T = TypeVar("T")
IN_CHUNK = 500  # ids per IN (...) list: well under SQLite's bound-parameter limit
MAX_DETAIL_ITEMS = 5


@dataclass
class Check:
    name: str
    passed: bool
    detail: str
    needs_idempotency_key: bool = False


def _check(name: str, problems: Sequence[Any] | dict[Any, Any], ok: str, *,
           needs_key: bool = False) -> Check:
    """Passed when there are no problems; the detail names the first few otherwise."""
    if not problems:
        return Check(name, True, ok, needs_key)
    items = list(problems.items()) if isinstance(problems, dict) else list(problems)
    shown = "; ".join(str(item) for item in items[:MAX_DETAIL_ITEMS])
    more = f" (+{len(items) - MAX_DETAIL_ITEMS} more)" if len(items) > MAX_DETAIL_ITEMS else ""
    return Check(name, False, f"{len(items)}: {shown}{more}", needs_key)


def client_checks(outcomes: Sequence[ShopperOutcome], records: Sequence[RequestRecord]) -> list[Check]:
    """The checks that need nothing but what the shoppers saw."""
    server_errors = Counter(f"{r.kind} {r.status} {r.error_code}" for r in records if r.status >= 500)
    unexpected = Counter(f"{r.kind} {r.status} {r.error_code}" for r in records
                         if not r.expected and r.status < 500)
    failed = Counter(o.failure for o in outcomes if not o.completed)
    # Every answer to a confirm that shows an order must show the same one (a double click too).
    split = {o.index: sorted(named) for o in outcomes
             if len(named := {i for i in o.confirm_order_ids if i}) > 1}
    return [
        _check("no_5xx", server_errors, f"0 of {len(records)} requests"),
        _check("no_unexpected_4xx_or_transport_errors", unexpected,
               "only 2xx, and 409 request_in_progress for re-sent keys"),
        _check("every_shopper_completed", failed, f"{len(outcomes)} purchases"),
        _check("duplicate_confirms_name_one_order", split,
               f"{sum(o.duplicate_confirm for o in outcomes)} double-clicking shoppers, "
               "each shown one order"),
        _retries_replayed(records),
    ]


def _retries_replayed(records: Sequence[RequestRecord]) -> Check:
    """Every re-sent key: one real answer, the rest replays of it, 409s only with Retry-After."""
    by_key: dict[str, list[RequestRecord]] = defaultdict(list)
    for record in records:
        if record.key:
            by_key[record.key].append(record)
    problems = []
    groups = [group for group in by_key.values() if any(r.resent for r in group)]
    for group in groups:
        ok = [r for r in group if r.status == 200]
        original = [r for r in ok if not r.replayed]
        waits = [r for r in group if r.status == 409]
        if len(original) != 1 or len({r.body_digest for r in ok}) != 1:
            problems.append(f"{group[0].kind}: {len(original)} answered as new, "
                            f"{len(ok) - len(original)} replayed, "
                            f"{len({r.body_digest for r in ok})} distinct bodies")
        if any(r.error_code != IN_PROGRESS or not r.retry_after for r in waits):
            problems.append(f"{group[0].kind}: 409 without request_in_progress/Retry-After")
    return _check("retries_replayed", problems, f"{len(groups)} re-sent keys, each run once",
                  needs_key=True)


async def database_checks(outcomes: Sequence[ShopperOutcome], records: Sequence[RequestRecord],
                          database_url: str, ledger: list[dict[str, Any]],
                          started_at: datetime) -> list[Check]:
    """Messages stored once; orders, payments and the gateway's charges agree about money."""
    conversation_ids = sorted({o.conversation_id for o in outcomes if o.conversation_id})
    database = Database(database_url)
    try:
        async with database.session() as session:
            stored = await _user_messages(session, conversation_ids)
            orders = await _in(session, Order, Order.conversation_id, conversation_ids)
            payments = await _in(session, Payment, Payment.order_id, [o.id for o in orders])
    finally:
        await database.dispose()

    accepted: dict[str, set[str]] = defaultdict(set)
    for record in records:
        if record.kind == "message" and record.status == 200 and record.key:
            accepted[record.conversation_id].add(record.key)
    not_once = {cid: f"stored {stored.get(cid, 0)}, accepted {len(accepted.get(cid, ()))}"
                for cid in conversation_ids if stored.get(cid, 0) != len(accepted.get(cid, ()))}
    message_retries = any(r.resent and r.kind == "message" for r in records)

    by_id = {order.id: order for order in orders}
    per_conversation = Counter(order.conversation_id for order in orders)
    mismatched = []
    for outcome in outcomes:
        if not outcome.completed:
            continue
        order = by_id.get(outcome.order_id or "")
        if order is None or (order.status, order.total) != (outcome.status, outcome.total_seen):
            mismatched.append(f"shopper {outcome.index}: shown {outcome.status} "
                              f"¥{outcome.total_seen}, stored "
                              f"{(order.status, order.total) if order else None}")
        elif per_conversation[order.conversation_id] != 1:
            mismatched.append(f"shopper {outcome.index}: {per_conversation[order.conversation_id]}"
                              " orders")

    run_charges = [c for c in ledger if c["order_id"] in by_id]
    # A charge made during the run for an order of no conversation of the run: a phantom order.
    since = started_at - timedelta(seconds=1)
    strangers = [f"charge {c['ref']} for unknown order {c['order_id']}" for c in ledger
                 if c["order_id"] not in by_id and datetime.fromisoformat(c["created_at"]) >= since]
    approved = [c for c in run_charges if c["status"] == "approved"]
    charged = Counter(c["order_id"] for c in approved)
    paid = {order.id: order.total for order in orders if order.status == "paid"}
    wrong_amount = [f"{c['order_id']}: charged {c['amount']}, total {paid.get(c['order_id'])}"
                    for c in approved if paid.get(c["order_id"]) != c["amount"]]
    pending = [f"payment {p.id} of {p.order_id}" for p in payments if p.status == "pending"]
    pending += [f"order {o.id}" for o in orders if o.status == "pending_payment"]
    charged_sum, paid_sum = sum(c["amount"] for c in approved), sum(paid.values())

    return [
        _check("messages_stored_once", not_once,
               f"{sum(stored.values())} shopper messages in {len(conversation_ids)} conversations",
               needs_key=message_retries),
        _check("orders_match_what_shoppers_saw", mismatched,
               f"{len(orders)} orders, each with the status and total its shopper was shown"),
        _check("paid_orders_equal_charged_orders",
               sorted(set(paid) ^ set(charged)) + strangers + wrong_amount,
               f"{len(paid)} paid orders, {len(charged)} approved charges, same orders and amounts"),
        _check("charged_sum_equals_paid_sum",
               [] if charged_sum == paid_sum else [f"charged ¥{charged_sum}, paid ¥{paid_sum}"],
               f"¥{charged_sum:,} both"),
        _check("no_order_charged_twice", {o: n for o, n in charged.items() if n > 1},
               "at most one approved charge per order"),
        _check("no_payment_pending", pending, f"{len(payments)} payments settled"),
    ]


async def fetch_ledger(client: httpx.AsyncClient, gateway_url: str, api_key: str
                       ) -> list[dict[str, Any]]:
    """Every charge the sandbox gateway recorded (its control API; the merchant's key)."""
    response = await client.get(f"{gateway_url}/sandbox/charges",
                                headers={"Authorization": f"Bearer {api_key}"})
    response.raise_for_status()
    charges: list[dict[str, Any]] = response.json()["data"]
    return charges


async def _user_messages(session: AsyncSession, conversation_ids: list[str]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for chunk in _chunks(conversation_ids):
        rows = await session.execute(
            select(ConversationEvent.conversation_id, func.count())
            .where(ConversationEvent.conversation_id.in_(chunk),
                   ConversationEvent.kind == "message", ConversationEvent.role == "user")
            .group_by(ConversationEvent.conversation_id))
        counts.update({str(cid): int(n) for cid, n in rows.all()})
    return counts


async def _in(session: AsyncSession, model: type[T], column: Any, ids: list[str]) -> list[T]:
    found: list[T] = []
    for chunk in _chunks(ids):
        found += (await session.scalars(select(model).where(column.in_(chunk)))).all()
    return found


def _chunks(items: list[str]) -> Iterable[list[str]]:
    for start in range(0, len(items), IN_CHUNK):
        yield items[start:start + IN_CHUNK]
