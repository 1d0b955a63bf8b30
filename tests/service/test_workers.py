"""The grading pool with an injected grading function: results, engine failures, crash loops."""

from __future__ import annotations

import threading
import time

from grader.errors import SandboxOutage
from grader.sandbox.health import SandboxGate
from grader.service.metrics import Metrics
from grader.service.workers import WorkerPool
from tests.service.conftest import new_submission
from tests.service.stand_in_grading import grade as stand_in_grade


def _run_pool(store, grade_fn, *, max_attempts=3, until, gate=None, metrics=None):
    pool = WorkerPool(
        store, grade_fn, workers=2, backend="process", timeout=None, lease_seconds=30, max_attempts=max_attempts,
        poll_seconds=0.01, metrics=metrics or Metrics(), on_complete=lambda: None,
        gate=gate or SandboxGate(lambda: None),
        # Time runs fast so engine-error retries (2^attempts s) come at once.
        clock=lambda: time.time() + 1000 * time.monotonic(),
    )
    pool.start()
    deadline = time.monotonic() + 10
    try:
        while not until():
            assert time.monotonic() < deadline
            time.sleep(0.01)
    finally:
        pool.stop(5)


def test_graded_jobs_get_their_result_and_callback(store):
    job_id, _ = store.accept(new_submission(), 0)
    _run_pool(store, stand_in_grade, until=lambda: store.counts()["jobs"] == {"done": 1})
    status = store.job_status(job_id)
    assert (status["result"]["status"], status["result"]["score"]) == ("graded", 2.0)
    assert [d["kind"] for d in status["deliveries"]] == ["callback"]


def test_engine_errors_are_retried_then_reported_as_internal_error(store):
    calls = []

    def broken(submission, *, backend, timeout):
        calls.append(submission.name)
        raise RuntimeError("no sandbox")

    job_id, _ = store.accept(new_submission(), 0)
    _run_pool(store, broken, until=lambda: store.counts()["jobs"] == {"done": 1})
    assert len(calls) == 3
    result = store.job_status(job_id)["result"]
    assert result["status"] == "internal_error"
    assert "person will look" in result["report"]["message"]


def test_a_job_that_keeps_killing_the_process_is_given_up(store):
    job_id, _ = store.accept(new_submission(), 0)
    for _ in range(3):
        store.claim_job(0, 30)
        store.recover(0)
    _run_pool(store, stand_in_grade, max_attempts=3, until=lambda: store.counts()["jobs"] == {"done": 1})
    assert store.job_status(job_id)["result"]["status"] == "internal_error"


def test_the_internal_error_report_of_an_engine_failure_is_schema_valid(store, report_validator):
    def broken(submission, *, backend, timeout):
        raise RuntimeError("no sandbox")

    job_id, _ = store.accept(new_submission(), 0)
    _run_pool(store, broken, max_attempts=1, until=lambda: store.counts()["jobs"] == {"done": 1})
    report = store.job_status(job_id)["result"]["report"]
    report_validator.validate(report)
    assert (report["status"], report["score"], report["submission"]["name"]) == ("internal_error", 0.0, "f.py")


def test_the_internal_error_report_of_a_job_given_up_is_schema_valid(store, report_validator):
    job_id, _ = store.accept(new_submission(), 0)
    for _ in range(3):
        store.claim_job(0, 30)
        store.recover(0)
    _run_pool(store, stand_in_grade, max_attempts=3, until=lambda: store.counts()["jobs"] == {"done": 1})
    report_validator.validate(store.job_status(job_id)["result"]["report"])


class _Sandbox:
    """A sandbox switched off and on by the test: grading and the gate's probe both see its state."""

    def __init__(self) -> None:
        self.up = threading.Event()
        self.runs_while_down = 0

    def check(self) -> None:
        if not self.up.is_set():
            raise SandboxOutage("the daemon does not answer")

    def grade(self, submission, *, backend, timeout):
        if not self.up.is_set():
            self.runs_while_down += 1
            raise SandboxOutage("the daemon does not answer")
        return stand_in_grade(submission, backend=backend, timeout=timeout)


def test_a_sandbox_outage_requeues_without_spending_an_attempt_and_grading_resumes(store):
    sandbox = _Sandbox()
    gate = SandboxGate(sandbox.check, first_pause=0.01, max_pause=0.05)
    metrics = Metrics()
    job_ids = [store.accept(new_submission(f"msg_{index}"), 0)[0] for index in range(3)]
    threading.Timer(0.5, sandbox.up.set).start()
    _run_pool(store, sandbox.grade, max_attempts=1, gate=gate, metrics=metrics,
              until=lambda: store.counts()["jobs"] == {"done": 3})
    results = [store.job_status(job_id)["result"] for job_id in job_ids]
    assert [(result["status"], result["score"]) for result in results] == [("graded", 2.0)] * 3
    # The workers paused: at most one run per worker met the outage, not one per retry.
    assert 1 <= sandbox.runs_while_down <= 2
    assert gate.state.outages == 1 and gate.state.up
    assert 'grader_jobs_requeued_total{reason="sandbox_outage"}' in metrics.render({})
