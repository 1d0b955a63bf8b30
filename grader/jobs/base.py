"""The job-queue interface shared by the webhook service and batch grading.

A job is one submission to grade under an idempotency key; an outcome is the report
as plain JSON data, or why no report could be made. Callers (the service, `grade batch`)
submit jobs and collect outcomes; where the grading happens is the queue's business:
threads in this process (`EmbeddedQueue`, the one local pool) or Celery workers on other
machines (`CeleryQueue`). Both say which jobs are held by a sandbox outage, so a caller never
counts an outage against a job.
"""

from __future__ import annotations

import base64
import dataclasses
from collections.abc import Collection
from typing import Any, Protocol

from grader.errors import GraderError
from grader.submission import Submission

DEFAULT_BROKER_URL = "redis://127.0.0.1:6379/0"
"""Where the Celery queue's Redis is unless configured: this machine, for a first try."""


class QueueUnavailable(GraderError):
    """The queue's broker or result store does not answer."""


@dataclasses.dataclass(frozen=True)
class Job:
    """One submission to grade; `key` identifies it across retries, redeliveries and restarts."""

    key: str
    submission: Submission
    timeout: float | None = None


@dataclasses.dataclass(frozen=True)
class Outcome:
    """How a job ended: the report as JSON data, or an error when the grader could not make one."""

    key: str
    report: dict[str, Any] | None
    error: str = ""
    worker: str = ""
    """Which worker graded it (a host name for Celery, `embedded` otherwise), for logs and tests."""


class JobQueue(Protocol):
    """Somewhere to grade jobs: submit them, then collect outcomes as they finish."""

    def submit(self, job: Job) -> None:
        """Queue a job. Each key's outcome is handed out once, however often the key is submitted."""
        ...

    def finished(self, timeout: float) -> list[Outcome]:
        """Outcomes that arrived since the last call, waiting up to `timeout` s for the first one."""
        ...

    def held(self, keys: Collection[str]) -> set[str]:
        """Which of these submitted keys are known to be alive: graded right now in this process, or
        waiting out a sandbox outage. A caller keeps such a job's claim instead of sending it again."""
        ...

    def outage(self) -> str | None:
        """Why the sandbox this queue grades in does not answer now; None while it does (or is not watched here)."""
        ...

    def close(self) -> None:
        """Stop collecting; jobs already handed to workers may still finish elsewhere."""
        ...


def job_payload(job: Job) -> dict[str, Any]:
    """A job as JSON data for a task message (bytes as base64: the queue never pickles)."""
    submission = job.submission
    return {
        "name": submission.name,
        "content": base64.b64encode(submission.content).decode("ascii"),
        "refused": submission.refused,
        "timeout": job.timeout,
    }


def payload_job(key: str, payload: dict[str, Any]) -> Job:
    """The job a task message carries; raises ValueError/KeyError/TypeError if it is malformed."""
    submission = Submission(
        name=str(payload["name"]),
        content=base64.b64decode(payload["content"], validate=True),
        refused=str(payload.get("refused", "")),
    )
    timeout = payload.get("timeout")
    return Job(key, submission, float(timeout) if timeout is not None else None)
