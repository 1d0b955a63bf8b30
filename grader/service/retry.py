"""When to try an outbound delivery again: exponential backoff with full jitter, Retry-After, 410.

Pure functions of the response and the attempt count, so the whole schedule is unit-tested.
"""

from __future__ import annotations

import dataclasses
import email.utils
from collections.abc import Callable

DELIVERED = "delivered"
PENDING = "pending"
FAILED = "failed"
DISABLED = "disabled"


@dataclasses.dataclass(frozen=True)
class RetryPolicy:
    """How many attempts a delivery gets and how far apart."""

    max_attempts: int
    base_seconds: float
    cap_seconds: float


@dataclasses.dataclass(frozen=True)
class Decision:
    """The state a delivery moves to after an attempt, and when it is next due."""

    state: str
    next_attempt_at: float


def backoff_delay(attempts: int, policy: RetryPolicy, rng: Callable[[], float]) -> float:
    """Delay after `attempts` failed attempts: uniform in [0, min(cap, base * 2^(attempts-1))].

    Full jitter spreads the retries of many deliveries that failed together (a receiver outage).
    """
    ceiling = min(policy.cap_seconds, policy.base_seconds * 2 ** max(0, attempts - 1))
    return rng() * ceiling


def parse_retry_after(value: str | None, now: float) -> float | None:
    """Seconds to wait according to a Retry-After header (delta-seconds or HTTP-date), if usable."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        return None
    return max(0.0, when.timestamp() - now)


def decide(
    status: int | None,
    retry_after: str | None,
    attempts: int,
    policy: RetryPolicy,
    now: float,
    rng: Callable[[], float],
) -> Decision:
    """What follows an attempt that got `status` (None: no response); `attempts` includes this one."""
    if status is not None and 200 <= status < 300:
        return Decision(DELIVERED, now)
    if status == 410:
        return Decision(DISABLED, now)
    if attempts >= policy.max_attempts:
        return Decision(FAILED, now)
    delay = backoff_delay(attempts, policy, rng)
    asked = parse_retry_after(retry_after, now)
    if asked is not None:
        # The receiver's wish wins over a shorter jittered delay, within our own cap.
        delay = max(delay, min(asked, policy.cap_seconds))
    return Decision(PENDING, now + delay)
