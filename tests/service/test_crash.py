"""kill -9 during grading and delivery, restart on the same database: nothing accepted is lost."""

from __future__ import annotations

import sqlite3
import time

import pytest

from tests.service.conftest import submission

pytestmark = pytest.mark.slow

JOBS = 24


def _count(database, sql):
    with sqlite3.connect(database) as conn:
        return conn.execute(sql).fetchone()[0]


def test_kill_9_while_grading_loses_nothing(start_service, lms):
    lms.behaviour.fail_first = 1  # some callbacks are mid-retry when the process dies
    service = start_service(workers=2, STANDIN_GRADE_SECONDS=0.5)
    accepted = []
    for n in range(JOBS):
        response = service.submit(submission(lms, lines=n % 9 + 1, student_id=f"s{n}"))
        assert response.status_code == 202
        accepted.append(response.json()["job_id"])

    deadline = time.monotonic() + 30
    while not (
        _count(service.database, "SELECT COUNT(*) FROM results") >= 2
        and _count(service.database, "SELECT COUNT(*) FROM jobs WHERE state = 'running'") > 0
    ):
        assert time.monotonic() < deadline, "grading did not start"
        time.sleep(0.01)
    service.kill()
    graded_before = _count(service.database, "SELECT COUNT(*) FROM results")
    assert graded_before < JOBS, "the crash came too late to test anything"

    restarted = start_service(database=service.database, workers=2)
    for job_id in accepted:
        restarted.wait_for(
            job_id, lambda s: s["state"] == "done" and all(d["state"] == "delivered" for d in s["deliveries"]), 60
        )

    assert _count(service.database, "SELECT COUNT(*) FROM results") == JOBS
    assert _count(service.database, "SELECT COUNT(DISTINCT job_id) FROM results") == JOBS
    assert _count(service.database, "SELECT COUNT(*) FROM deliveries") == JOBS
    delivered_jobs = sorted(event["data"]["job_id"] for event in lms.callbacks.values())
    assert delivered_jobs == sorted(accepted), "every job's callback arrives, once per job after dedupe"
    for n, job_id in enumerate(accepted):
        status = restarted.status(job_id)
        assert (status["status"], status["score"]) == ("graded", float(n % 9 + 1))


def test_a_second_process_cannot_take_over_a_live_database(start_service, lms):
    service = start_service()
    with pytest.raises(RuntimeError, match="another grader service"):
        start_service(database=service.database)


def test_sigterm_during_grading_stops_promptly_and_resumes_after_restart(start_service, lms):
    service = start_service(workers=1, STANDIN_GRADE_SECONDS=8)
    job_id = service.submit(submission(lms)).json()["job_id"]
    service.wait_for(job_id, lambda s: s["state"] == "running")
    stopping = time.monotonic()
    service.stop()
    assert time.monotonic() - stopping < 12
    restarted = start_service(database=service.database, workers=1)
    status = restarted.wait_for(job_id, lambda s: s["state"] == "done" and s["deliveries"][0]["state"] == "delivered")
    assert status["status"] == "graded"
    assert [event["data"]["job_id"] for event in lms.callbacks.values()] == [job_id]
