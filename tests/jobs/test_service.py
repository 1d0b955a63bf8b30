"""`grade serve` with GRADER_QUEUE=celery: the service records, real workers grade, callbacks go out once."""

from __future__ import annotations

import sqlite3
import time

import pytest

from tests.jobs.conftest import REPO, TEST_SETTINGS
from tests.jobs.stand_in import BUG_MARKER
from tests.sandbox.conftest import proxy  # noqa: F401  (re-used fixture)
from tests.service.conftest import lms, lti_key, start_service, submission  # noqa: F401  (re-used fixtures)

pytestmark = pytest.mark.slow

CORRECT = (REPO / "submissions/correct/template_with_seed.py").read_text()


def _celery_service(start_service, redis_server, **settings):
    # The service's own grade function is a stand-in scoring at most 10: a score of 80 proves a worker graded.
    return start_service(queue="celery", broker_url=redis_server.url, **TEST_SETTINGS, **settings)


def _delivered(status):
    return status["state"] == "done" and all(d["state"] == "delivered" for d in status["deliveries"])


def _count(database, sql):
    with sqlite3.connect(database) as conn:
        return conn.execute(sql).fetchone()[0]


def test_the_service_grades_on_celery_workers_and_delivers_each_callback(start_service, lms, redis_server, start_worker):
    start_worker("w1@test")
    start_worker("w2@test")
    service = _celery_service(start_service, redis_server)
    accepted = [service.submit(submission(lms, source=CORRECT, student_id=f"s{n}")).json()["job_id"] for n in range(4)]
    statuses = [service.wait_for(job_id, _delivered, 120) for job_id in accepted]
    assert [(status["status"], status["score"]) for status in statuses] == [("graded", 80.0)] * 4
    assert sorted(event["data"]["job_id"] for event in lms.callbacks.values()) == sorted(accepted)
    assert [redis_server.attempts(job_id) for job_id in accepted] == [1] * 4


def test_kill_9_of_the_service_while_workers_grade_loses_nothing(start_service, lms, redis_server, start_worker):
    start_worker("w1@test")
    start_worker("w2@test")
    service = _celery_service(start_service, redis_server)
    accepted = [service.submit(submission(lms, source=CORRECT, student_id=f"s{n}")).json()["job_id"] for n in range(8)]
    deadline = time.monotonic() + 120
    while _count(service.database, "SELECT COUNT(*) FROM results") < 2:
        assert time.monotonic() < deadline, "grading did not start"
        time.sleep(0.05)
    service.kill()
    assert _count(service.database, "SELECT COUNT(*) FROM jobs WHERE state = 'running'") > 0, "the crash came too late"

    restarted = _celery_service(start_service, redis_server, database=service.database)
    statuses = [restarted.wait_for(job_id, _delivered, 180) for job_id in accepted]
    assert [(status["status"], status["score"]) for status in statuses] == [("graded", 80.0)] * 8
    assert _count(service.database, "SELECT COUNT(*) FROM results") == 8
    assert _count(service.database, "SELECT COUNT(*) FROM deliveries") == 8
    assert sorted(event["data"]["job_id"] for event in lms.callbacks.values()) == sorted(accepted)
    # A job re-sent after the restart is answered from its stored result; only one whose duplicate
    # message was taken while its first run was still going can have run twice.
    assert all(redis_server.attempts(job_id) in (1, 2) for job_id in accepted)


def test_a_job_redis_lost_is_sent_again_after_the_redispatch_window(start_service, lms, redis_server, start_worker):
    # Each window without an outcome re-sends it (an attempt), also while the worker below starts up.
    service = _celery_service(start_service, redis_server, queue_redispatch_seconds=3, max_job_attempts=100)
    job_id = service.submit(submission(lms, source=CORRECT)).json()["job_id"]
    service.wait_for(job_id, lambda status: status["state"] == "running")
    deadline = time.monotonic() + 30
    while redis_server.client.llen("grader") == 0:  # the task message is in Redis
        assert time.monotonic() < deadline, "the job was not sent"
        time.sleep(0.05)
    redis_server.client.flushall()  # as a Redis restarted without persistence would
    start_worker("w1@test")
    status = service.wait_for(job_id, _delivered, 120)
    assert (status["status"], status["score"]) == ("graded", 80.0)
    assert redis_server.attempts(job_id) == 1
    assert _count(service.database, f"SELECT attempts FROM jobs WHERE id = '{job_id}'") >= 2


def test_a_job_the_celery_worker_gave_up_on_is_held_with_a_schema_valid_report(
    start_service, lms, redis_server, start_worker, report_validator,
):
    start_worker("w1@test")
    service = _celery_service(start_service, redis_server)
    job_id = service.submit(submission(lms, source="# " + BUG_MARKER.decode() + "\n")).json()["job_id"]
    status = service.wait_for(job_id, _delivered, 120)
    assert status["status"] == "internal_error"
    report_validator.validate(status["report"])
    [event] = lms.callbacks.values()
    assert event["type"] == "grading.held"


@pytest.mark.docker
def test_a_sandbox_outage_longer_than_the_redispatch_window_spends_no_attempt(
    start_service, lms, redis_server, start_worker, proxy, sandbox_image,  # noqa: F811
):
    start_worker("w1@test", backend="docker", DOCKER_HOST=proxy.url, GRADER_GRADE_FUNCTION="grader.engine:grade")
    service = _celery_service(start_service, redis_server, queue_redispatch_seconds=2, max_job_attempts=4)
    proxy.cut()
    job_id = service.submit(submission(lms, source=CORRECT)).json()["job_id"]
    time.sleep(12)  # six redispatch windows: each used to send the job again and spend an attempt
    proxy.restore()
    status = service.wait_for(job_id, _delivered, 120)
    assert (status["status"], status["score"]) == ("graded", 80.0)
    # One claim; a second only if the worker met the outage later than one window after the send.
    assert _count(service.database, f"SELECT attempts FROM jobs WHERE id = '{job_id}'") <= 2
