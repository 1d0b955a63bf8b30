"""Token buckets, one per client, deciding whether a request may go through now."""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Callable


@dataclasses.dataclass
class _Bucket:
    tokens: float
    updated: float


class RateLimiter:
    """Allows `burst` requests at once and `per_second` sustained, per key."""

    def __init__(self, per_second: float, burst: int, clock: Callable[[], float]) -> None:
        self._per_second = per_second
        self._burst = burst
        self._clock = clock
        self._buckets: dict[str, _Bucket] = {}
        self._lock = threading.Lock()

    def acquire(self, key: str) -> float:
        """Take one token for `key`; return 0 if granted, else the seconds until one is available."""
        now = self._clock()
        with self._lock:
            bucket = self._buckets.setdefault(key, _Bucket(tokens=float(self._burst), updated=now))
            bucket.tokens = min(self._burst, bucket.tokens + (now - bucket.updated) * self._per_second)
            bucket.updated = now
            if bucket.tokens >= 1:
                bucket.tokens -= 1
                return 0.0
            return (1 - bucket.tokens) / self._per_second
