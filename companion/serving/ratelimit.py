"""Rate limiting per client: a token bucket (Chapter 13, section 13.8).

Each client (its API key if it sends one in ``X-API-Key``, else its address) owns a bucket
of at most ``burst`` tokens that refills at ``per_minute / 60`` tokens per second; a request
spends one token, and a request that finds the bucket empty is refused with HTTP 429 and a
``Retry-After`` header saying how many seconds until a token is back. A limit does not stop
a patient or distributed client: it makes bulk querying (and so copying a model through
its answers) slow and visible.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable

from ..validation import check_positive, check_positive_int


class TokenBucket:
    """``allow(key)`` -> ``(allowed, seconds until the next token)``; one bucket per key."""

    def __init__(self, per_minute: float, burst: int, clock: Callable[[], float] = time.monotonic):
        self.rate = check_positive(per_minute, "per_minute") / 60.0  # tokens per second
        self.burst = check_positive_int(burst, "burst")
        if not callable(clock):
            raise TypeError("clock must be a function returning seconds")
        self.clock = clock
        self._buckets: dict[str, tuple[float, float]] = {}  # key -> (tokens, last time)

    def allow(self, key: str) -> tuple[bool, float]:
        now = self.clock()
        tokens, last = self._buckets.get(key, (float(self.burst), now))
        tokens = min(float(self.burst), tokens + (now - last) * self.rate)
        if tokens >= 1.0:
            self._buckets[key] = (tokens - 1.0, now)
            return True, 0.0
        self._buckets[key] = (tokens, now)
        return False, (1.0 - tokens) / self.rate

    @staticmethod
    def retry_after_header(seconds: float) -> str:
        return str(max(1, math.ceil(seconds)))
