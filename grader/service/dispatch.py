"""Grading through a job queue (Celery workers on other machines) instead of in-process workers.

The database stays the source of truth and this process its only writer: a job is claimed
under a lease as the in-process workers do, sent to the queue under its job id, and completed
here, result and deliveries in one transaction, when its outcome comes back. So the service's
crash guarantees hold unchanged: a job interrupted by a crash is re-queued at the next start
and sent again under the same id, and the queue answers it from the stored result when a
worker already graded it (see grader/queue/tasks.py), or grades it.

The lease is the re-dispatch window: a job whose outcome has not come back within
`redispatch_seconds` (a lost Redis, say) is claimed again and re-sent; `max_attempts` claims
without an outcome end the job as `internal_error`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from grader.queue import Job, JobQueue, Outcome
from grader.service.metrics import Metrics
from grader.service.polling import Background
from grader.service.store import ClaimedJob, Result, Store
from grader.service.workers import finish_job, internal_error
from grader.submission import Submission

log = logging.getLogger(__name__)


def result_from_outcome(job: ClaimedJob, outcome: Outcome) -> Result:
    """The stored result of a queue outcome; no report means the grader failed on the job."""
    report = outcome.report
    if report is None:
        log.error("job %s failed in the queue: %s", outcome.key, outcome.error)
        return internal_error(job, "The grader failed on this submission; a person will look at it.")
    return Result(status=report["status"], score=float(report["score"]), max_score=float(report["max_score"]),
                  report=report)


class QueueDispatcher(Background):
    """Claims jobs from the store, sends them to a `JobQueue`, records their outcomes."""

    def __init__(
        self,
        store: Store,
        queue: JobQueue,
        *,
        timeout: float | None,
        redispatch_seconds: float,
        max_attempts: int,
        max_in_flight: int,
        poll_seconds: float,
        metrics: Metrics,
        on_complete: Callable[[], None],
        clock: Callable[[], float] = time.time,
    ) -> None:
        super().__init__()
        self._store = store
        self._queue = queue
        self._timeout = timeout
        self._redispatch_seconds = redispatch_seconds
        self._max_attempts = max_attempts
        self._max_in_flight = max_in_flight
        self._poll_seconds = poll_seconds
        self._metrics = metrics
        self._on_complete = on_complete
        self._clock = clock
        self._in_flight: dict[str, ClaimedJob] = {}

    def start(self) -> None:
        """Start the one thread that talks to the queue (Celery clients are not shared across threads)."""
        self._spawn(self._run, "queue-dispatch")

    def stop(self, timeout: float) -> None:
        """Stop dispatching; jobs in the queue keep their lease and are re-sent after a restart."""
        super().stop(timeout)
        self._queue.close()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self._dispatch()
                outcomes = self._queue.finished(0)
                for outcome in outcomes:
                    self._record(outcome)
            except Exception:
                # Redis down or the database busy: the leases keep every job safe; try again shortly.
                log.exception("dispatching through the queue failed")
                outcomes = []
            if not outcomes:
                self._wake.wait(self._poll_seconds)
                self._wake.clear()

    def _dispatch(self) -> None:
        """Claim and send runnable jobs while fewer than `max_in_flight` are out."""
        while len(self._in_flight) < self._max_in_flight:
            job = self._store.claim_job(self._clock(), self._redispatch_seconds)
            if job is None:
                return
            if job.attempts > self._max_attempts:
                self._complete(job, internal_error(job, "Grading was interrupted repeatedly; a person will look at it."))
                continue
            if job.attempts > 1:
                log.warning("re-sending job %s (claim %d)", job.id, job.attempts)
            self._in_flight[job.id] = job
            self._queue.submit(Job(job.id, Submission(job.filename, job.content), self._timeout))

    def _record(self, outcome: Outcome) -> None:
        job = self._in_flight.pop(outcome.key, None)
        if job is None:
            log.warning("outcome of job %s arrived after it was recorded; ignored", outcome.key)
            return
        if outcome.report is not None:
            self._metrics.observe("grader_grading_seconds", float(outcome.report.get("duration_seconds", 0.0)))
        self._complete(job, result_from_outcome(job, outcome))

    def _complete(self, job: ClaimedJob, result: Result) -> None:
        finish_job(self._store, self._metrics, self._on_complete, self._clock(), job, result)
