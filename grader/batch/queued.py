"""Where batch jobs are graded: the `Executor` interface, and its one implementation over a `JobQueue`.

A job is one distinct submission (identified by its sha256); an executor grades each job it
is given once and yields the results as they finish. `grade batch` grades on this machine
through the embedded pool (threads, `local_executor`) or on `grade worker` machines through
Celery (`celery_executor`); both go through `QueueExecutor`.

Each distinct file is sent under a key made of its sha256 and everything else that decides its
report (grader version, test cases, timeout), so a batch killed and run again finds the reports
its Celery workers already stored instead of grading those files a second time.
"""

from __future__ import annotations

import dataclasses
import itertools
import os
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Protocol

from grader.errors import SandboxOutage
from grader.jobs import Job, JobQueue
from grader.report import Report
from grader.submission import Submission

DEFAULT_JOBS = (os.cpu_count() or 1) + 1
"""One grading thread more than cores: a thread waiting on the Docker daemon (create, remove) holds no core."""
SANDBOX_WAIT_SECONDS = 300.0
"""How long a batch waits for a sandbox that stopped answering before it stops (a re-run resumes)."""
WAIT_NOTE_SECONDS = 10.0
QUEUED_AHEAD = 256
"""Files read and sent ahead of Celery workers; the rest stay unread until these drain."""
POLL_SECONDS = 0.5


@dataclasses.dataclass(frozen=True)
class GradeJob:
    """One distinct submission to grade."""

    key: str
    """The job's identity, unique within a batch (the planned sha256 of the file)."""
    submission: Submission


@dataclasses.dataclass(frozen=True)
class Graded:
    """A finished job: its report, or why the grader could not produce one."""

    job: GradeJob
    report: Report | None
    error: str = ""


class Executor(Protocol):
    """Grades jobs somewhere (threads here, a task queue) and yields each result once."""

    def grade(self, jobs: Iterable[GradeJob]) -> Iterator[Graded]:
        """Grade every job, yielding results in completion order; stop cleanly when closed early.

        Raises GraderError when grading cannot go on (no sandbox here, or one that stays down);
        a job the grader fails on for any other reason is yielded with `error` set.
        """
        ...


def job_key(sha256: str, version: str, digest: str, timeout: float | None) -> str:
    """The queue key of one file's grading: equal keys always stand for equal reports."""
    return f"batch:{version}:{digest}:{timeout or 'default'}:{sha256}"


class QueueExecutor:
    """Sends batch jobs to a `JobQueue` (opened by `open_queue` once there is a job) and yields each
    result once, as it arrives.

    While the queue reports its sandbox down, the batch waits up to `sandbox_wait` seconds for it
    (with a note every 10 s to `notify`), then raises SandboxOutage; the jobs an outage hit are the
    queue's to grade again, and cost no job its grade.
    """

    def __init__(self, open_queue: Callable[[], JobQueue], *, version: str, digest: str, timeout: float | None = None,
                 ahead: int = QUEUED_AHEAD, sandbox_wait: float = SANDBOX_WAIT_SECONDS,
                 notify: Callable[[str], None] = lambda _: None) -> None:
        self._open_queue = open_queue
        self._version = version
        self._digest = digest
        self._timeout = timeout
        self._ahead = ahead
        self._sandbox_wait = sandbox_wait
        self._notify = notify

    def grade(self, jobs: Iterable[GradeJob]) -> Iterator[Graded]:
        waiting = iter(jobs)
        first = next(waiting, None)
        if first is None:
            return
        waiting = itertools.chain([first], waiting)
        sent: dict[str, GradeJob] = {}
        exhausted = False
        outage = _OutageWait(self._sandbox_wait, self._notify)
        queue = self._open_queue()
        try:
            while True:
                while not exhausted and len(sent) < self._ahead:
                    job = next(waiting, None)
                    if job is None:
                        exhausted = True
                        break
                    key = job_key(job.key, self._version, self._digest, self._timeout)
                    sent[key] = job
                    queue.submit(Job(key, job.submission, self._timeout))
                if exhausted and not sent:
                    return
                outage.observe(queue.outage())
                for outcome in queue.finished(POLL_SECONDS):
                    job = sent.pop(outcome.key, None)
                    if job is not None:
                        report = Report.model_validate(outcome.report) if outcome.report is not None else None
                        yield Graded(job, report, outcome.error)
        finally:
            queue.close()


class _OutageWait:
    """Notes on a sandbox outage as the batch waits it out; raises SandboxOutage once it lasts too long."""

    def __init__(self, limit: float, notify: Callable[[str], None]) -> None:
        self._limit = limit
        self._notify = notify
        self._since: float | None = None
        self._noted = 0.0

    def observe(self, reason: str | None) -> None:
        now = time.monotonic()
        if reason is None:
            if self._since is not None:
                self._notify(f"the sandbox answers again after {_clock(now - self._since)}; grading resumes")
                self._since = None
            return
        if self._since is None:
            self._since = self._noted = now
            self._notify(f"the sandbox does not answer ({reason}); "
                         f"waiting up to {_clock(self._limit)} for it to return")
            return
        waited = now - self._since
        if waited >= self._limit:
            raise SandboxOutage(f"the sandbox did not return within {_clock(self._limit)} ({reason}); "
                                "every finished report is kept: re-run the same command to resume")
        if now - self._noted >= WAIT_NOTE_SECONDS:
            self._noted = now
            self._notify(f"still waiting for the sandbox: {_clock(waited)} of {_clock(self._limit)}")


def _clock(seconds: float) -> str:
    minutes, secs = divmod(int(round(seconds)), 60)
    return f"{minutes}:{secs:02d}"


def local_executor(jobs: int, backend: str, *, digest: str, timeout: float | None = None,
                   sandbox_wait: float = SANDBOX_WAIT_SECONDS,
                   notify: Callable[[str], None] = lambda _: None) -> QueueExecutor:
    """An executor grading on `jobs` threads of this process (the embedded pool) in `backend`."""
    from grader.version import GRADER_VERSION
    from grader.jobs import EmbeddedQueue

    return QueueExecutor(lambda: EmbeddedQueue(jobs, backend), version=GRADER_VERSION, digest=digest, timeout=timeout,
                         ahead=2 * jobs, sandbox_wait=sandbox_wait, notify=notify)


def celery_executor(broker_url: str | None, *, digest: str, timeout: float | None = None) -> QueueExecutor:
    """An executor sending to `grade worker` processes through the Redis at `broker_url` (GRADER_* settings)."""
    from grader.version import GRADER_VERSION
    from grader.jobs import open_queue

    return QueueExecutor(lambda: open_queue("celery", broker_url=broker_url), version=GRADER_VERSION, digest=digest,
                         timeout=timeout)
