"""The figures of a load run: `LoadReport` (a JSON-serialisable dataclass) and its text table.

This module only houses the report, the arithmetic from records to figures (throughput,
nearest-rank percentiles per request type) and the table the command line prints. Latencies are
measured at the client, from sending a request to reading the whole answer, so they include the
client's own event loop: on a small machine shared with the server, that is part of the figure.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from evals.load.checks import Check
from evals.load.shopper import ShopperOutcome
from evals.load.traffic import TURN_KINDS, RequestRecord


@dataclass
class Latency:
    count: int
    p50_ms: float
    p99_ms: float
    max_ms: float


@dataclass
class LoadReport:
    shoppers: int
    concurrency: int
    duration_s: float
    purchases_completed: int
    purchases_by_method: dict[str, int]
    turns: int  # POSTs of messages and actions (confirms included), every attempt counted
    turns_per_s: float
    purchases_per_s: float
    latency_ms: dict[str, Latency]  # message, action (confirm excluded), confirm, start, token
    errors: int  # answers a client could not go on with: 5xx, 429, other 4xx, no answer
    errors_by_kind: dict[str, int]  # "confirm 500 internal_error": n
    server_errors: int  # 5xx alone
    shopper_failures: dict[str, int]  # why shoppers stopped: n
    replayed_answers: int  # answers with `Idempotent-Replayed: true`
    in_progress_answers: int  # 409 request_in_progress (a re-sent key still running)
    server_rss_mb: float | None  # the serve process tree at the end of the run
    server_cpu_s: float | None  # CPU time of the serve process tree during the run
    server_cpu_ms_per_turn: float | None  # the figure that does not depend on a busy machine
    client_cpu_s: float  # the load generator's own CPU time (same machine: it competes)
    checks: list[Check] = field(default_factory=list)
    settings: dict[str, str] = field(default_factory=dict)  # how the server and run were set up

    @property
    def passed(self) -> bool:
        return self.errors == 0 and all(check.passed for check in self.checks)

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "passed": self.passed}


def percentile(values: Sequence[float], share: float) -> float:
    """Nearest-rank percentile (`share` in 0..1): a value that was measured, never interpolated."""
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)]


def build_report(*, shoppers: int, concurrency: int, duration_s: float,
                 outcomes: Sequence[ShopperOutcome], records: Sequence[RequestRecord],
                 server_rss_mb: float | None, server_cpu_s: float | None,
                 client_cpu_s: float, checks: list[Check],
                 settings: dict[str, str]) -> LoadReport:
    """The figures of a finished run."""
    completed = [o for o in outcomes if o.completed]
    turns = sum(1 for r in records if r.kind in TURN_KINDS)
    latency = {}
    for kind in ("message", "action", "confirm", "start", "token"):
        values = [r.latency_ms for r in records if r.kind == kind and r.status]
        if values:
            latency[kind] = Latency(len(values), round(percentile(values, 0.5), 1),
                                    round(percentile(values, 0.99), 1), round(max(values), 1))
    errors = Counter(f"{r.kind} {r.status} {r.error_code}" for r in records if not r.expected)
    return LoadReport(
        shoppers=shoppers,
        concurrency=concurrency,
        duration_s=round(duration_s, 2),
        purchases_completed=len(completed),
        purchases_by_method=dict(Counter(o.method for o in completed)),
        turns=turns,
        turns_per_s=round(turns / duration_s, 1) if duration_s else 0.0,
        purchases_per_s=round(len(completed) / duration_s, 2) if duration_s else 0.0,
        latency_ms=latency,
        errors=sum(errors.values()),
        errors_by_kind=dict(errors.most_common()),
        server_errors=sum(1 for r in records if r.status >= 500),
        shopper_failures=dict(Counter(o.failure or "" for o in outcomes if not o.completed)),
        replayed_answers=sum(1 for r in records if r.replayed),
        in_progress_answers=sum(1 for r in records if r.status == 409 and r.expected),
        server_rss_mb=server_rss_mb,
        server_cpu_s=server_cpu_s,
        server_cpu_ms_per_turn=(round(server_cpu_s * 1000 / turns, 1)
                                if server_cpu_s is not None and turns else None),
        client_cpu_s=client_cpu_s,
        checks=checks,
        settings=settings,
    )


def format_report(report: LoadReport) -> str:
    """The report as a plain-text table (what `python -m evals.load` prints)."""
    rss = f"{report.server_rss_mb:.0f} MB" if report.server_rss_mb is not None else "not measured"
    methods = ", ".join(f"{m} {n}" for m, n in sorted(report.purchases_by_method.items()))
    rows = [
        ("shoppers (concurrency)", f"{report.shoppers} ({report.concurrency})"),
        ("purchases completed", f"{report.purchases_completed} ({methods})"),
        ("duration", f"{report.duration_s:.1f} s"),
        ("turns", f"{report.turns} ({report.turns_per_s:.1f}/s)"),
        ("purchases/s", f"{report.purchases_per_s:.2f}"),
        ("errors (5xx)", f"{report.errors} ({report.server_errors})"),
        ("replayed / in-progress answers",
         f"{report.replayed_answers} / {report.in_progress_answers}"),
        ("server RSS", rss),
        ("server CPU", f"{report.server_cpu_s} s ({report.server_cpu_ms_per_turn} ms/turn)"
         if report.server_cpu_s is not None else "not measured"),
        ("load generator CPU", f"{report.client_cpu_s} s"),
    ]
    lines = [f"{name:<32} {value}" for name, value in rows]
    lines += ["", f"{'latency (ms)':<12} {'count':>6} {'p50':>8} {'p99':>8} {'max':>8}"]
    for kind, lat in report.latency_ms.items():
        lines.append(f"{kind:<12} {lat.count:>6} {lat.p50_ms:>8.1f} {lat.p99_ms:>8.1f} "
                     f"{lat.max_ms:>8.1f}")
    for kind, count in report.errors_by_kind.items():
        lines.append(f"error: {kind} × {count}")
    for reason, count in report.shopper_failures.items():
        lines.append(f"shopper stopped: {reason} × {count}")
    lines.append("")
    for check in report.checks:
        mark = "PASS" if check.passed else "FAIL"
        needs = " [needs Idempotency-Key support]" if check.needs_idempotency_key else ""
        lines.append(f"{mark} {check.name}{needs}: {check.detail}")
    for name, value in report.settings.items():
        lines.append(f"setting {name}={value}")
    return "\n".join(lines)
