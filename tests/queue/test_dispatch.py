"""The service's queue dispatcher on the in-process queue: results, grader failures, crash loops."""

from __future__ import annotations

import time

from grader.queue import EmbeddedQueue
from grader.service.dispatch import QueueDispatcher
from grader.service.metrics import Metrics
from tests.service.conftest import new_submission, store  # noqa: F401 (store is a fixture)
from tests.service.stand_in_grading import grade as stand_in_grade


def _dispatch(store, grade_fn, *, until, max_attempts=3):
    dispatcher = QueueDispatcher(
        store, EmbeddedQueue(2, "process", grade_fn), timeout=None, redispatch_seconds=30,
        max_attempts=max_attempts, max_in_flight=10, poll_seconds=0.01, metrics=Metrics(), on_complete=lambda: None,
    )
    dispatcher.start()
    deadline = time.monotonic() + 10
    try:
        while not until():
            assert time.monotonic() < deadline
            time.sleep(0.01)
    finally:
        dispatcher.stop(5)


def test_queued_jobs_get_their_result_and_callback(store):
    job_ids = [store.accept(new_submission(f"msg_{n}"), 0)[0] for n in range(3)]
    _dispatch(store, stand_in_grade, until=lambda: store.counts()["jobs"] == {"done": 3})
    for job_id in job_ids:
        status = store.job_status(job_id)
        assert (status["result"]["status"], status["result"]["score"]) == ("graded", 2.0)
        assert [d["kind"] for d in status["deliveries"]] == ["callback"]


def test_a_job_the_queue_could_not_grade_ends_as_internal_error(store):
    def broken(submission, *, backend, timeout):
        raise RuntimeError("no sandbox")

    job_id, _ = store.accept(new_submission(), 0)
    _dispatch(store, broken, until=lambda: store.counts()["jobs"] == {"done": 1})
    assert store.job_status(job_id)["result"]["status"] == "internal_error"


def test_the_internal_error_report_of_a_job_the_queue_could_not_grade_is_schema_valid(store, report_validator):
    """What a Celery task that gave up returns (no report, an error) becomes a report valid against the schema."""
    def broken(submission, *, backend, timeout):
        raise RuntimeError("no sandbox")

    job_id, _ = store.accept(new_submission(), 0)
    _dispatch(store, broken, until=lambda: store.counts()["jobs"] == {"done": 1})
    report = store.job_status(job_id)["result"]["report"]
    report_validator.validate(report)
    assert "person will look" in report["message"]


def test_the_internal_error_report_of_a_job_claimed_too_often_is_schema_valid(store, report_validator):
    job_id, _ = store.accept(new_submission(), 0)
    for _ in range(3):
        store.claim_job(0, 30)
        store.recover(0)
    _dispatch(store, lambda submission, **_: None, until=lambda: store.counts()["jobs"] == {"done": 1})
    report_validator.validate(store.job_status(job_id)["result"]["report"])


def test_a_job_claimed_too_often_without_an_outcome_ends_as_internal_error(store):
    job_id, _ = store.accept(new_submission(), 0)
    for _ in range(3):  # three dispatches that never came back (the service died each time)
        store.claim_job(0, 30)
        store.recover(0)
    graded = []
    _dispatch(store, lambda submission, **_: graded.append(1), until=lambda: store.counts()["jobs"] == {"done": 1})
    assert store.job_status(job_id)["result"]["status"] == "internal_error"
    assert graded == []
