"""The one local pool: outcomes once per job, grader failures retried then error outcomes, outages waited out."""

from __future__ import annotations

import threading

import pytest

from grader.errors import SandboxOutage, SandboxUnavailable
from grader.jobs import EmbeddedQueue, Job
from grader.jobs.embedded import OUTAGE_LIMIT
from grader.sandbox.health import SandboxGate
from grader.submission import Submission
from tests.jobs.conftest import collect
from tests.switched_sandbox import SwitchedSandbox


class _Report:
    def __init__(self, score: float) -> None:
        self.score = score

    def model_dump(self, mode: str) -> dict:
        return {"status": "graded", "score": self.score}


def _lines(submission, *, backend, timeout):
    return _Report(float(submission.content.count(b"\n")))


def _pool(grade_fn, workers: int = 2, **options) -> EmbeddedQueue:
    return EmbeddedQueue(workers, "process", grade_fn, gate=options.pop("gate", SandboxGate(lambda: None)),
                         retry_backoff=0, **options)


def test_every_job_gets_one_outcome_with_its_report():
    queue = _pool(_lines)
    for n in range(5):
        queue.submit(Job(f"k{n}", Submission("a.py", b"\n" * n)))
    outcomes = collect(queue, 5, 10)
    queue.close()
    assert sorted((outcome.key, outcome.report["score"], outcome.worker) for outcome in outcomes) == [
        (f"k{n}", float(n), "embedded") for n in range(5)]
    assert queue.finished(0) == []


def test_a_key_submitted_again_while_pending_is_graded_once():
    release = threading.Event()
    calls = []

    def blocking(submission, *, backend, timeout):
        calls.append(submission.name)
        release.wait(10)
        return _Report(1.0)

    queue = _pool(blocking)
    queue.submit(Job("same", Submission("a.py", b"")))
    queue.submit(Job("same", Submission("a.py", b"")))
    release.set()
    assert [outcome.key for outcome in collect(queue, 1, 10)] == ["same"]
    queue.close()
    assert calls == ["a.py"]


def test_a_grader_failure_is_retried_then_an_error_outcome_without_a_report():
    calls = []

    def broken(submission, *, backend, timeout):
        calls.append(submission.name)
        raise RuntimeError("no sandbox")

    queue = _pool(broken, 1, max_attempts=3)
    queue.submit(Job("k", Submission("a.py", b"")))
    outcome = collect(queue, 1, 10)[0]
    queue.close()
    assert (outcome.report, outcome.error) == (None, "RuntimeError: no sandbox")
    assert len(calls) == 3


def test_a_failure_that_passes_is_graded_on_the_retry():
    calls = []

    def flaky(submission, *, backend, timeout):
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("a hiccup")
        return _Report(1.0)

    queue = _pool(flaky, 1)
    queue.submit(Job("k", Submission("a.py", b"")))
    [outcome] = collect(queue, 1, 10)
    queue.close()
    assert (outcome.report, outcome.error) == ({"status": "graded", "score": 1.0}, "")


def test_an_outage_pauses_every_thread_and_each_job_is_graded_again_without_an_attempt():
    sandbox = SwitchedSandbox(_lines)
    gate = SandboxGate(sandbox.check, first_pause=0.01, max_pause=0.05)
    requeued = []
    hold = threading.Event()

    def grade(submission, *, backend, timeout):
        hold.wait(10)
        return sandbox.grade(submission, backend=backend, timeout=timeout)

    sandbox.up.set()
    queue = _pool(grade, gate=gate, max_attempts=1, on_requeue=lambda: requeued.append(1))
    for n in range(3):
        queue.submit(Job(f"k{n}", Submission("a.py", b"\n\n")))
    sandbox.up.clear()  # the daemon goes away while the first runs start
    hold.set()
    threading.Timer(0.5, sandbox.up.set).start()
    outcomes = collect(queue, 3, 10)
    queue.close()
    assert sorted((outcome.key, outcome.error, outcome.report["score"]) for outcome in outcomes) == [
        (f"k{n}", "", 2.0) for n in range(3)]
    # The threads paused: at most one run per thread met the outage, not one per retry.
    assert 1 <= sandbox.runs_while_down <= 2
    assert len(requeued) == sandbox.runs_while_down
    assert gate.state.outages == 1 and gate.state.up


def test_a_job_the_sandbox_keeps_failing_on_while_it_answers_ends_with_an_error_saying_so():
    runs = []

    def fails_on_one(submission, *, backend, timeout):
        if submission.name == "bad.py":
            runs.append(1)
            raise SandboxOutage("Docker could not create the sandbox container: 500 Server Error")
        return _Report(1.0)

    gate = SandboxGate(lambda: None)
    queue = _pool(fails_on_one, gate=gate)
    queue.submit(Job("bad", Submission("bad.py", b"")))
    queue.submit(Job("good", Submission("good.py", b"")))
    outcomes = {outcome.key: outcome for outcome in collect(queue, 2, 10)}
    queue.close()
    assert outcomes["good"].report == {"status": "graded", "score": 1.0}
    assert outcomes["bad"].report is None
    assert "sandbox failed on this file 3 times in a row" in outcomes["bad"].error
    assert "not of the submission" in outcomes["bad"].error
    assert len(runs) == OUTAGE_LIMIT
    # The probe answered each time: the sandbox never counted as down.
    assert gate.state.outages == 0


def test_a_queue_reports_its_pending_jobs_held_and_its_sandbox_outage():
    release = threading.Event()
    sandbox = SwitchedSandbox(_lines)
    sandbox.up.set()

    def blocking(submission, *, backend, timeout):
        release.wait(10)
        return _Report(1.0)

    queue = _pool(blocking, gate=SandboxGate(sandbox.check, first_pause=0.01, max_pause=0.05))
    queue.submit(Job("k", Submission("a.py", b"")))
    assert queue.held(["k", "other"]) == {"k"}
    assert queue.outage() is None
    sandbox.up.clear()
    queue.gate.check_now()
    assert queue.outage() == "the daemon does not answer"
    sandbox.up.set()
    release.set()
    collect(queue, 1, 10)
    queue.close()
    assert queue.held(["k"]) == set()


def test_a_sandbox_that_cannot_run_here_is_refused_at_the_first_job():
    def cannot_run() -> None:
        raise SandboxUnavailable("bwrap is not installed")

    queue = _pool(_lines, gate=SandboxGate(cannot_run))
    with pytest.raises(SandboxUnavailable, match="bwrap"):
        queue.submit(Job("k", Submission("a.py", b"")))
    queue.close()
