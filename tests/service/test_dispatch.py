"""The service's dispatcher on the one local pool: results, grader failures, crash loops, outages, leases."""

from __future__ import annotations

import threading
import time

from grader.jobs import EmbeddedQueue
from grader.sandbox.health import SandboxGate
from grader.service.dispatch import QueueDispatcher
from grader.service.metrics import Metrics
from tests.service.conftest import new_submission
from tests.service.stand_in_grading import grade as stand_in_grade
from tests.switched_sandbox import SwitchedSandbox


def _dispatch(store, grade_fn, *, until, max_attempts=3, gate=None, metrics=None, lease_seconds=30.0):
    metrics = metrics or Metrics()
    pool = EmbeddedQueue(
        2, "process", grade_fn, gate=gate or SandboxGate(lambda: None), max_attempts=max_attempts, retry_backoff=0,
        on_requeue=lambda: metrics.inc("grader_jobs_requeued_total", reason="sandbox_outage"),
    )
    dispatcher = QueueDispatcher(
        store, pool, timeout=None, lease_seconds=lease_seconds, max_attempts=max_attempts, max_in_flight=2,
        poll_seconds=0.01, metrics=metrics, on_complete=lambda: None,
    )
    dispatcher.start()
    deadline = time.monotonic() + 10
    try:
        while not until():
            assert time.monotonic() < deadline
            time.sleep(0.01)
    finally:
        dispatcher.stop(5)


def test_graded_jobs_get_their_result_and_callback(store):
    job_ids = [store.accept(new_submission(f"msg_{n}"), 0)[0] for n in range(3)]
    _dispatch(store, stand_in_grade, until=lambda: store.counts()["jobs"] == {"done": 3})
    for job_id in job_ids:
        status = store.job_status(job_id)
        assert (status["result"]["status"], status["result"]["score"]) == ("graded", 2.0)
        assert [d["kind"] for d in status["deliveries"]] == ["callback"]


def test_engine_errors_are_retried_then_reported_as_internal_error(store):
    calls = []

    def broken(submission, *, backend, timeout):
        calls.append(submission.name)
        raise RuntimeError("no sandbox")

    job_id, _ = store.accept(new_submission(), 0)
    _dispatch(store, broken, until=lambda: store.counts()["jobs"] == {"done": 1})
    assert len(calls) == 3
    result = store.job_status(job_id)["result"]
    assert result["status"] == "internal_error"
    assert "person will look" in result["report"]["message"]


def test_a_job_claimed_too_often_without_an_outcome_ends_as_internal_error(store):
    job_id, _ = store.accept(new_submission(), 0)
    for _ in range(3):  # three claims that never came back (the process died each time)
        store.claim_job(0, 30)
        store.recover(0)
    graded = []
    _dispatch(store, lambda submission, **_: graded.append(1), max_attempts=3,
              until=lambda: store.counts()["jobs"] == {"done": 1})
    assert store.job_status(job_id)["result"]["status"] == "internal_error"
    assert graded == []


def test_the_internal_error_report_of_an_engine_failure_is_schema_valid(store, report_validator):
    def broken(submission, *, backend, timeout):
        raise RuntimeError("no sandbox")

    job_id, _ = store.accept(new_submission(), 0)
    _dispatch(store, broken, until=lambda: store.counts()["jobs"] == {"done": 1})
    report = store.job_status(job_id)["result"]["report"]
    report_validator.validate(report)
    assert (report["status"], report["score"], report["submission"]["name"]) == ("internal_error", 0.0, "f.py")


def test_the_internal_error_report_of_a_job_claimed_too_often_is_schema_valid(store, report_validator):
    job_id, _ = store.accept(new_submission(), 0)
    for _ in range(3):
        store.claim_job(0, 30)
        store.recover(0)
    _dispatch(store, stand_in_grade, until=lambda: store.counts()["jobs"] == {"done": 1})
    report_validator.validate(store.job_status(job_id)["result"]["report"])


def test_a_sandbox_outage_spends_no_attempt_and_grading_resumes(store):
    sandbox = SwitchedSandbox(stand_in_grade)
    gate = SandboxGate(sandbox.check, first_pause=0.01, max_pause=0.05)
    metrics = Metrics()
    job_ids = [store.accept(new_submission(f"msg_{index}"), 0)[0] for index in range(3)]
    sandbox.up.set()
    cut = threading.Lock()

    def grade(submission, *, backend, timeout):
        if cut.acquire(blocking=False):  # the daemon goes away as the first run starts, for 0.5 s
            sandbox.up.clear()
            threading.Timer(0.5, sandbox.up.set).start()
        return sandbox.grade(submission, backend=backend, timeout=timeout)

    _dispatch(store, grade, max_attempts=1, gate=gate, metrics=metrics,
              until=lambda: store.counts()["jobs"] == {"done": 3})
    results = [store.job_status(job_id)["result"] for job_id in job_ids]
    assert [(result["status"], result["score"]) for result in results] == [("graded", 2.0)] * 3
    # Each job was claimed once: the outage spent no attempt, however many runs it cut.
    assert [store.job_status(job_id)["job"]["attempts"] for job_id in job_ids] == [1, 1, 1]
    assert 1 <= sandbox.runs_while_down <= 2
    assert gate.state.outages == 1 and gate.state.up
    assert 'grader_jobs_requeued_total{reason="sandbox_outage"}' in metrics.render({})


def test_nothing_is_claimed_while_the_sandbox_is_down(store):
    sandbox = SwitchedSandbox(stand_in_grade)
    gate = SandboxGate(sandbox.check, first_pause=0.01, max_pause=0.05)
    gate.check_now()
    job_id, _ = store.accept(new_submission(), 0)
    threading.Timer(0.5, sandbox.up.set).start()
    states = []

    def done() -> bool:
        states.append(store.job_status(job_id)["job"]["state"])
        return states[-1] == "done"

    _dispatch(store, sandbox.grade, gate=gate, until=done)
    assert states[0] == "queued" and sandbox.runs_while_down == 0


def test_a_job_graded_longer_than_its_lease_keeps_it_and_is_claimed_once(store):
    job_id, _ = store.accept(new_submission(), 0)

    def slow(submission, *, backend, timeout):
        time.sleep(1.0)  # three leases of 0.3 s: only renewals keep it
        return stand_in_grade(submission, backend=backend, timeout=timeout)

    _dispatch(store, slow, lease_seconds=0.3, until=lambda: store.counts()["jobs"] == {"done": 1})
    assert store.job_status(job_id)["job"]["attempts"] == 1
