"""Token buckets per client."""

from __future__ import annotations

from grader.service.ratelimit import RateLimiter


class _Clock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


def test_burst_then_wait():
    clock = _Clock()
    limiter = RateLimiter(per_second=2, burst=3, clock=clock)
    assert [limiter.acquire("a") for _ in range(3)] == [0, 0, 0]
    assert limiter.acquire("a") == 0.5


def test_tokens_refill_over_time():
    clock = _Clock()
    limiter = RateLimiter(per_second=2, burst=1, clock=clock)
    assert limiter.acquire("a") == 0
    clock.now = 0.5
    assert limiter.acquire("a") == 0


def test_clients_have_their_own_buckets():
    limiter = RateLimiter(per_second=1, burst=1, clock=_Clock())
    assert limiter.acquire("a") == 0
    assert limiter.acquire("b") == 0
    assert limiter.acquire("a") > 0
