"""The two-proportion z-test the funnel uses to compare prompt variants' conversion.

This module only houses the test (pooled standard error, two-sided p from the normal distribution
through `math.erfc`, so no statistics package is needed at run time).
"""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class ZTest:
    z: float
    p_value: float


def two_proportion_z_test(successes_a: int, trials_a: int, successes_b: int,
                          trials_b: int) -> ZTest | None:
    """z of rate A minus rate B and its two-sided p; None when no test is possible.

    With no trials on one side, or a pooled rate of exactly 0 or 1 (every conversation converted, or
    none did), the standard error is zero and the difference carries no evidence either way.
    """
    if trials_a <= 0 or trials_b <= 0:
        return None
    pooled = (successes_a + successes_b) / (trials_a + trials_b)
    error = math.sqrt(pooled * (1 - pooled) * (1 / trials_a + 1 / trials_b))
    if error == 0:
        return None
    z = (successes_a / trials_a - successes_b / trials_b) / error
    return ZTest(z=z, p_value=math.erfc(abs(z) / math.sqrt(2)))
