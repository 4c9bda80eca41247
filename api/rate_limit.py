"""Rate limits for shopper requests: per conversation and per client address, in memory.

A sliding one-minute window per key. Limits are per server process (with several workers each
keeps its own count), which bounds abuse without a shared store; 0 turns a limit off.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable

from fastapi import HTTPException

WINDOW_S = 60.0


class RateLimiter:
    """At most `limit` hits per key in any 60-second window."""

    def __init__(self, limit: int, *, clock: Callable[[], float] = time.monotonic,
                 max_keys: int = 100_000) -> None:
        self.limit = limit
        self.clock = clock
        self.max_keys = max_keys
        self._hits: dict[str, deque[float]] = {}

    def hit(self, key: str) -> None:
        """Count one request; raise 429 with Retry-After when over the limit."""
        if self.limit <= 0:
            return
        now = self.clock()
        hits = self._hits.get(key)
        if hits is None:
            if len(self._hits) >= self.max_keys:  # bound memory: forget the oldest keys
                for stale in list(self._hits)[: self.max_keys // 10]:
                    del self._hits[stale]
            hits = self._hits[key] = deque()
        while hits and now - hits[0] >= WINDOW_S:
            hits.popleft()
        if len(hits) >= self.limit:
            retry_after = max(1, int(WINDOW_S - (now - hits[0])) + 1)
            raise HTTPException(429, "Too many requests; please slow down.",
                                headers={"Retry-After": str(retry_after)})
        hits.append(now)
