"""A bounded concurrent load on a running server, and its latency percentiles (section 13.3).

:func:`load_test` sends ``n_requests`` POST requests, at most ``concurrency`` in flight at
any time (a pool of ``concurrency`` client threads sharing one ``httpx.Client``, so it also
works inside a notebook's running event loop), and records each request's latency from
just before sending to the full answer. The answer is a :class:`LoadResult`: latencies,
status codes, wall time, throughput and the percentiles p50/p95/p99 (NumPy's linear
interpolation). Tail percentiles, not the mean, are what users feel and what service-level
objectives are written in.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import httpx
import numpy as np

from ..validation import check_positive, check_positive_int, describe


@dataclass(frozen=True)
class LoadResult:
    latencies_s: np.ndarray  # (n_requests,), seconds, in the order the requests were issued
    status_codes: Counter
    wall_s: float
    concurrency: int

    @property
    def n_requests(self) -> int:
        return len(self.latencies_s)

    @property
    def throughput(self) -> float:
        """Completed requests per second of wall time."""
        return self.n_requests / self.wall_s

    def percentile(self, q: float) -> float:
        """Latency (seconds) below which ``q`` per cent of the requests finished."""
        q = check_positive(q, "q")
        if q > 100:
            raise ValueError(f"q must be a percentage in (0, 100], got {q}")
        return float(np.percentile(self.latencies_s, q))

    @property
    def p50(self) -> float:
        return self.percentile(50)

    @property
    def p95(self) -> float:
        return self.percentile(95)

    @property
    def p99(self) -> float:
        return self.percentile(99)

    @property
    def ok(self) -> bool:
        return set(self.status_codes) == {200}


def load_test(
    url: str,
    payloads: Sequence[dict],
    *,
    n_requests: int = 200,
    concurrency: int = 8,
    path: str = "/predict",
    timeout: float = 30.0,
) -> LoadResult:
    """POST ``n_requests`` JSON bodies (cycling through ``payloads``), ``concurrency`` at a time."""
    if not isinstance(url, str) or not url.startswith(("http://", "https://")):
        raise TypeError(f"url must be an http(s) URL string, got {describe(url)}")
    if isinstance(payloads, dict) or not isinstance(payloads, Sequence) or not payloads:
        raise TypeError(
            f"payloads must be a non-empty list of JSON bodies (dicts), got {describe(payloads)}"
        )
    if not all(isinstance(p, dict) for p in payloads):
        raise TypeError("payloads must hold dicts (JSON objects) only")
    n_requests = check_positive_int(n_requests, "n_requests")
    concurrency = check_positive_int(concurrency, "concurrency")
    timeout = check_positive(timeout, "timeout")
    if not isinstance(path, str) or not path.startswith("/"):
        raise ValueError(f"path must start with '/', got {path!r}")

    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    with httpx.Client(base_url=url, timeout=timeout, limits=limits) as client:

        def one(i: int) -> tuple[float, int]:
            start = time.perf_counter()
            response = client.post(path, json=payloads[i % len(payloads)])
            response.read()
            return time.perf_counter() - start, response.status_code

        start = time.perf_counter()
        with ThreadPoolExecutor(max_workers=concurrency) as pool:
            results = list(pool.map(one, range(n_requests)))
        wall = time.perf_counter() - start
    latencies = np.array([r[0] for r in results])
    return LoadResult(latencies, Counter(r[1] for r in results), wall, concurrency)
