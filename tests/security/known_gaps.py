"""Leaks the canary finds whose fix lies outside the files its brief may change.

This module only houses that list and how a leak is matched against it. Each gap names the format,
the sinks, what leaks there and where the fix must be made. A gap is narrow on purpose (a whole card
number is excused only where listed, in the sink listed), and strict: the canary fails when a
listed gap no longer occurs, so the entry is removed the moment the fix lands.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from tests.security.sink_scan import Leak

__all__ = ["APP_GAPS", "REPORT_GAPS", "KnownGap", "split_known"]


@dataclass(frozen=True)
class KnownGap:
    case: str
    sinks: frozenset[str]
    what: str  # the start of `Leak.what`: "typed text '4944-3725'", "card number"
    fix: str

    def covers(self, leak: Leak) -> bool:
        return (
            leak.case == self.case and leak.sink in self.sinks and leak.what.startswith(self.what)
        )


# Empty: the last ones (a reply quoting the first half of a split number; the eval report keeping
# the shopper's words as typed) were fixed in agent/turn.py and evals/browser.py. Add an entry
# here only with the fix's location, and remove it the moment the fix lands.
APP_GAPS: tuple[KnownGap, ...] = ()
REPORT_GAPS: tuple[KnownGap, ...] = ()


def split_known(
    leaks: Sequence[Leak], gaps: Sequence[KnownGap]
) -> tuple[list[Leak], list[Leak], list[KnownGap]]:
    """(leaks no gap covers, leaks a gap covers, gaps that no longer occur)."""
    unknown = [leak for leak in leaks if not any(gap.covers(leak) for gap in gaps)]
    known = [leak for leak in leaks if any(gap.covers(leak) for gap in gaps)]
    gone = [gap for gap in gaps if not any(gap.covers(leak) for leak in known)]
    return unknown, known, gone
