"""How often: token buckets per client or address, and the resubmission limit per student.

Hand-written on purpose: `limits` (the maintained library) has fixed and moving windows but no
token bucket, reads the wall clock itself, and keeps one entry per key until it expires, with no
bound on how many keys a flood of addresses creates; this file is a bounded bucket in 60 lines.
"""

from __future__ import annotations

import collections
import dataclasses
import threading
from collections.abc import Callable, Sequence

DEFAULT_MAX_BUCKETS = 10_000


@dataclasses.dataclass
class _Bucket:
    tokens: float
    updated: float


class RateLimiter:
    """Allows `burst` requests at once and `per_second` sustained, per key, for at most `max_buckets` keys.

    A bucket is forgotten only once it has refilled: a forgotten key comes back with a full bucket,
    so forgetting it gives no burst it did not have anyway. While every bucket is still refilling,
    a new key waits until the least recently used one is full.
    """

    def __init__(
        self, per_second: float, burst: int, clock: Callable[[], float], max_buckets: int = DEFAULT_MAX_BUCKETS
    ) -> None:
        self._per_second = per_second
        self._burst = burst
        self._clock = clock
        self._max_buckets = max_buckets
        self._buckets: collections.OrderedDict[str, _Bucket] = collections.OrderedDict()  # least recently used first
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._buckets)

    def acquire(self, key: str) -> float:
        """Take one token for `key`; return 0 if granted, else the seconds until one is available."""
        now = self._clock()
        with self._lock:
            bucket = self._buckets.get(key)
            if bucket is None:
                wait = self._make_room(now)
                if wait:
                    return wait
                bucket = self._buckets[key] = _Bucket(tokens=float(self._burst), updated=now)
            else:
                self._buckets.move_to_end(key)
            bucket.tokens = min(self._burst, bucket.tokens + (now - bucket.updated) * self._per_second)
            bucket.updated = now
            if bucket.tokens >= 1:
                bucket.tokens -= 1
                return 0.0
            return (1 - bucket.tokens) / self._per_second

    def _make_room(self, now: float) -> float:
        """Forget full buckets, least recently used first, until one more fits; else the wait for room."""
        while len(self._buckets) >= self._max_buckets:
            key, stalest = next(iter(self._buckets.items()))
            full_at = stalest.updated + (self._burst - stalest.tokens) / self._per_second
            if full_at > now:
                return full_at - now
            del self._buckets[key]
        return 0.0


@dataclasses.dataclass(frozen=True)
class ResubmissionLimit:
    """At most `count` counted submissions per (client, student, assignment) within a rolling window.

    A student who can resubmit without end can iterate towards what hidden cases expect.
    """

    count: int
    window_seconds: float


def resubmission_wait(counted: Sequence[float], limit: ResubmissionLimit, now: float) -> float:
    """Seconds until one more submission fits, given the times of those counted in the window (oldest first)."""
    if len(counted) < limit.count:
        return 0.0
    # The oldest (len - count + 1) must leave the window; the last of them is counted[len - count].
    return counted[len(counted) - limit.count] + limit.window_seconds - now
