"""The money invariants every fault test ends on, checked against the merchant's database and the
gateway's own ledger (`GET /sandbox/charges`).

This module only houses `assert_money_consistent`:
- per order, at most one charge at the gateway (and none for an order the merchant does not know);
- the orders marked paid are exactly the orders with an approved charge, for the order's total;
- no payment is left pending (reconcile settled every one), and no order waits for one.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from sqlalchemy import select

from tools.store.db import Database
from tools.store.models import Order, Payment


async def assert_money_consistent(db: Database, ledger: list[dict[str, Any]]) -> None:
    """Fail with the offending rows when the merchant and the gateway disagree about money."""
    async with db.session() as session:
        orders = {o.id: o for o in (await session.scalars(select(Order))).all()}
        payments = list((await session.scalars(select(Payment))).all())

    per_order = Counter(charge["order_id"] for charge in ledger)
    assert all(count == 1 for count in per_order.values()), f"double charge: {per_order}"
    assert set(per_order) <= set(orders), f"charges for unknown orders: {set(per_order) - set(orders)}"

    approved = {c["order_id"]: c for c in ledger if c["status"] == "approved"}
    paid = {order_id for order_id, order in orders.items() if order.status == "paid"}
    assert set(approved) == paid, f"charged {sorted(approved)} but paid {sorted(paid)}"
    for order_id, charge in approved.items():
        assert charge["amount"] == orders[order_id].total, (charge, orders[order_id].total)

    pending = [(p.order_id, p.status) for p in payments if p.status == "pending"]
    assert pending == [], f"payments left pending: {pending}"
    waiting = [o.id for o in orders.values() if o.status == "pending_payment"]
    assert waiting == [], f"orders still waiting for their payment: {waiting}"
    by_ref = {p.gateway_ref: p for p in payments if p.status == "approved"}
    assert set(by_ref) == {c["ref"] for c in approved.values()}, "approved payments lack their charge"
