"""Turn timings and the percentiles the report shows.

This module only houses `TurnTimings` (microseconds per turn, grouped by the turn's position in
its conversation) and the nearest-rank percentile used for every figure, so chatpay and the peers
are summarised by the same arithmetic.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any


def percentile(values: Sequence[float], share: float) -> float:
    """The nearest-rank percentile (`share` in 0..1) of `values`; NaN for no values."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = max(1, math.ceil(share * len(ordered)))
    return ordered[rank - 1]


@dataclass
class TurnTimings:
    """Wall time of each measured turn, in µs, by turn index (0 = the conversation's first)."""

    framework: str
    by_index: list[list[float]] = field(default_factory=list)

    def add(self, index: int, micros: float) -> None:
        while len(self.by_index) <= index:
            self.by_index.append([])
        self.by_index[index].append(micros)

    @property
    def all(self) -> list[float]:
        return [value for turns in self.by_index for value in turns]

    @property
    def conversations(self) -> int:
        return len(self.by_index[0]) if self.by_index else 0

    def p50(self) -> float:
        return percentile(self.all, 0.50)

    def p99(self) -> float:
        return percentile(self.all, 0.99)

    def p50_by_index(self) -> list[float]:
        return [percentile(turns, 0.50) for turns in self.by_index]

    def growth(self) -> float:
        """p50 of the last turn over p50 of the first: 1.0 means history costs nothing."""
        medians = self.p50_by_index()
        return medians[-1] / medians[0] if medians and medians[0] > 0 else math.nan

    def summary(self) -> dict[str, Any]:
        return {"conversations": self.conversations, "turns": len(self.all),
                "p50_us": round(self.p50(), 1), "p99_us": round(self.p99(), 1),
                "p50_us_by_turn": [round(value, 1) for value in self.p50_by_index()],
                "growth_last_over_first": round(self.growth(), 3)}
