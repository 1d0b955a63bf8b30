"""A bounded load test: 500 signed submissions from 16 concurrent senders, zero loss."""

from __future__ import annotations

import concurrent.futures
import sqlite3
import time

import pytest

from tests.service.conftest import submission

pytestmark = pytest.mark.slow

SUBMISSIONS = 500
SENDERS = 16
BUDGET_SECONDS = 180


def test_500_submissions_all_graded_and_called_back(start_service, lms):
    service = start_service(workers=2, rate_limit_burst=SUBMISSIONS, rate_limit_per_minute=60_000)
    started = time.monotonic()

    def send(n):
        return service.submit(submission(lms, lines=n % 9 + 1, student_id=f"s{n}"))

    with concurrent.futures.ThreadPoolExecutor(SENDERS) as pool:
        responses = list(pool.map(send, range(SUBMISSIONS)))
    assert [r.status_code for r in responses] == [202] * SUBMISSIONS
    job_ids = {r.json()["job_id"] for r in responses}
    assert len(job_ids) == SUBMISSIONS

    # The LMS has a callback a moment before the service records its 200, so wait for both.
    while len(lms.callbacks) < SUBMISSIONS or _delivered(service.database) < SUBMISSIONS:
        assert time.monotonic() - started < BUDGET_SECONDS, f"only {len(lms.callbacks)} callbacks arrived"
        time.sleep(0.1)
    assert {event["data"]["job_id"] for event in lms.callbacks.values()} == job_ids
    with sqlite3.connect(service.database) as conn:
        assert conn.execute("SELECT COUNT(*) FROM results").fetchone()[0] == SUBMISSIONS
        assert conn.execute("SELECT COUNT(*) FROM deliveries").fetchone()[0] == SUBMISSIONS


def _delivered(database):
    with sqlite3.connect(database) as conn:
        return conn.execute("SELECT COUNT(*) FROM deliveries WHERE state = 'delivered'").fetchone()[0]
