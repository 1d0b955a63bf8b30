"""Token buckets per client."""

from __future__ import annotations

from grader.service.ratelimit import RateLimiter, ResubmissionLimit, resubmission_wait


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


def test_the_number_of_buckets_is_bounded():
    limiter = RateLimiter(per_second=1, burst=2, clock=_Clock(), max_buckets=100)
    for n in range(1000):
        limiter.acquire(f"ip:{n}")
    assert len(limiter) == 100


def test_full_buckets_make_room_for_new_keys():
    clock = _Clock()
    limiter = RateLimiter(per_second=1, burst=2, clock=clock, max_buckets=2)
    limiter.acquire("a")
    limiter.acquire("b")
    clock.now = 1.0  # both refilled to the full burst: forgetting them changes nothing
    assert limiter.acquire("c") == 0
    assert len(limiter) == 2


def test_a_bucket_that_is_not_full_is_never_evicted():
    clock = _Clock()
    limiter = RateLimiter(per_second=1, burst=2, clock=clock, max_buckets=2)
    assert [limiter.acquire("attacker") for _ in range(2)] == [0, 0]
    for n in range(50):
        limiter.acquire(f"other:{n}")
    assert limiter.acquire("attacker") == 1.0, "a drained bucket came back full"


def test_new_keys_wait_while_every_bucket_is_refilling():
    clock = _Clock()
    limiter = RateLimiter(per_second=1, burst=2, clock=clock, max_buckets=1)
    limiter.acquire("a")
    assert limiter.acquire("b") == 1.0, "b waits until a's bucket is full and can be forgotten"
    clock.now = 1.0
    assert limiter.acquire("b") == 0


def test_under_the_resubmission_limit_there_is_no_wait():
    assert resubmission_wait([0.0, 10.0], ResubmissionLimit(3, window_seconds=100), now=20.0) == 0


def test_at_the_resubmission_limit_the_wait_ends_when_the_oldest_counted_one_leaves_the_window():
    assert resubmission_wait([0.0, 10.0, 15.0], ResubmissionLimit(2, window_seconds=100), now=20.0) == 110.0 - 20.0
