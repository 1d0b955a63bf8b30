"""The in-process queue: outcomes once per job, grader failures as error outcomes."""

from __future__ import annotations

import threading

from grader.queue import EmbeddedQueue, Job
from grader.submission import Submission
from tests.queue.conftest import collect


class _Report:
    def __init__(self, score: float) -> None:
        self.score = score

    def model_dump(self, mode: str) -> dict:
        return {"status": "graded", "score": self.score}


def _lines(submission, *, backend, timeout):
    return _Report(float(submission.content.count(b"\n")))


def test_every_job_gets_one_outcome_with_its_report():
    queue = EmbeddedQueue(2, "process", _lines)
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

    queue = EmbeddedQueue(2, "process", blocking)
    queue.submit(Job("same", Submission("a.py", b"")))
    queue.submit(Job("same", Submission("a.py", b"")))
    release.set()
    assert [outcome.key for outcome in collect(queue, 1, 10)] == ["same"]
    queue.close()
    assert calls == ["a.py"]


def test_a_grader_failure_is_an_error_outcome_without_a_report():
    def broken(submission, *, backend, timeout):
        raise RuntimeError("no sandbox")

    queue = EmbeddedQueue(1, "process", broken)
    queue.submit(Job("k", Submission("a.py", b"")))
    outcome = collect(queue, 1, 10)[0]
    queue.close()
    assert (outcome.report, outcome.error) == (None, "RuntimeError: no sandbox")
