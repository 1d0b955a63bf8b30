"""A batch `Executor` over a job queue: `grade batch --queue celery` grades on `grade worker` machines.

Each distinct file is sent under a key made of its sha256 and everything else that decides its
report (grader version, test cases, timeout), so a batch killed and run again finds the reports
its workers already stored instead of grading those files a second time.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from grader.batch.executor import GradeJob, Graded
from grader.queue import Job, JobQueue
from grader.report import Report

QUEUED_AHEAD = 256
"""Files read and sent ahead of the workers; the rest stay unread until these drain."""
POLL_SECONDS = 0.5


def job_key(sha256: str, version: str, digest: str, timeout: float | None) -> str:
    """The queue key of one file's grading: equal keys always stand for equal reports."""
    return f"batch:{version}:{digest}:{timeout or 'default'}:{sha256}"


class QueueExecutor:
    """Sends batch jobs to a `JobQueue` and yields each result once, as it arrives."""

    def __init__(self, queue: JobQueue, *, version: str, digest: str, timeout: float | None = None) -> None:
        self._queue = queue
        self._version = version
        self._digest = digest
        self._timeout = timeout

    def grade(self, jobs: Iterable[GradeJob]) -> Iterator[Graded]:
        waiting = iter(jobs)
        sent: dict[str, GradeJob] = {}
        exhausted = False
        try:
            while True:
                while not exhausted and len(sent) < QUEUED_AHEAD:
                    job = next(waiting, None)
                    if job is None:
                        exhausted = True
                        break
                    key = job_key(job.key, self._version, self._digest, self._timeout)
                    sent[key] = job
                    self._queue.submit(Job(key, job.submission, self._timeout))
                if exhausted and not sent:
                    return
                for outcome in self._queue.finished(POLL_SECONDS):
                    job = sent.pop(outcome.key, None)
                    if job is not None:
                        report = Report.model_validate(outcome.report) if outcome.report is not None else None
                        yield Graded(job, report, outcome.error)
        finally:
            self._queue.close()


def celery_executor(broker_url: str | None, *, digest: str, timeout: float | None = None) -> QueueExecutor:
    """An executor sending to `grade worker` processes through the Redis at `broker_url` (GRADER_* settings)."""
    from grader.version import GRADER_VERSION
    from grader.queue import open_queue

    return QueueExecutor(open_queue("celery", broker_url=broker_url), version=GRADER_VERSION, digest=digest,
                         timeout=timeout)
