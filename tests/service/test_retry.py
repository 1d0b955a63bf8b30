"""The delivery retry schedule: full-jitter backoff, Retry-After, give-up and 410."""

from __future__ import annotations

import email.utils

import pytest

from grader.service.retry import RetryPolicy, backoff_delay, decide, parse_retry_after

POLICY = RetryPolicy(max_attempts=5, base_seconds=5.0, cap_seconds=60.0)
NOW = 1_000_000.0


def _top(_=None):
    return 1.0


@pytest.mark.parametrize(("attempts", "ceiling"), [(1, 5.0), (2, 10.0), (3, 20.0), (4, 40.0), (5, 60.0), (30, 60.0)])
def test_backoff_ceiling_doubles_up_to_the_cap(attempts, ceiling):
    assert backoff_delay(attempts, POLICY, _top) == ceiling


def test_backoff_is_jittered_over_the_whole_range():
    assert backoff_delay(3, POLICY, lambda: 0.0) == 0.0
    assert backoff_delay(3, POLICY, lambda: 0.5) == 10.0


@pytest.mark.parametrize("status", [200, 201, 204, 299])
def test_2xx_is_delivered(status):
    assert decide(status, None, 1, POLICY, NOW, _top).state == "delivered"


def test_410_disables_at_once():
    assert decide(410, None, 1, POLICY, NOW, _top).state == "disabled"


@pytest.mark.parametrize("status", [None, 400, 404, 429, 500, 502, 503])
def test_other_answers_are_retried_later(status):
    decision = decide(status, None, 2, POLICY, NOW, _top)
    assert (decision.state, decision.next_attempt_at) == ("pending", NOW + 10.0)


def test_last_attempt_fails():
    assert decide(500, None, POLICY.max_attempts, POLICY, NOW, _top).state == "failed"


def test_retry_after_seconds_outweighs_a_shorter_backoff():
    assert decide(429, "30", 1, POLICY, NOW, _top).next_attempt_at == NOW + 30


def test_retry_after_is_capped():
    assert decide(503, "86400", 1, POLICY, NOW, _top).next_attempt_at == NOW + POLICY.cap_seconds


def test_shorter_retry_after_keeps_the_backoff():
    assert decide(503, "1", 3, POLICY, NOW, _top).next_attempt_at == NOW + 20


def test_retry_after_http_date():
    date = email.utils.formatdate(NOW + 42, usegmt=True)
    assert parse_retry_after(date, NOW) == 42


@pytest.mark.parametrize("value", [None, "", "soon", "-5"])
def test_unusable_retry_after_is_ignored(value):
    assert parse_retry_after(value, NOW) is None
