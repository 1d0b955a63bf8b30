"""How the service grades: jobs claimed from SQLite under a lease, sent to a `JobQueue`, completed here.

The queue is the embedded pool (threads in this process) or Celery (workers on other machines);
either way the database stays the source of truth and this process its only writer. A finished
job's result and its outbound deliveries are written in one transaction, conditional on the
lease, so however the process dies a job ends graded exactly once in effect: either nothing of
it was recorded (it is re-queued at the next start and sent again under the same id; Celery
answers it from its stored result, see grader/jobs/tasks.py) or all of it was.

The lease is the re-dispatch window: a job whose outcome has not come back when its lease ends
(a lost Redis, say) is claimed again and re-sent; `max_attempts` claims without an outcome end
the job as `internal_error`. Leases of jobs the queue holds alive (graded in this process, or
waiting out a sandbox outage) are renewed, so neither grading nor an outage spends an attempt.
While the queue's sandbox is down, nothing new is claimed.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Callable
from typing import Any

from grader.assignment import load_assignment
from grader.jobs import Job, JobQueue, Outcome
from grader.report import Report, SubmissionInfo
from grader.service.metrics import Metrics
from grader.service.payloads import plan_deliveries
from grader.service.polling import Background
from grader.service.store import ClaimedJob, Result, Store
from grader.submission import Submission

log = logging.getLogger(__name__)


def result_from_report(report: Any) -> Result:
    """The parts of an engine report the service stores and forwards."""
    return Result(
        status=report.status,
        score=float(report.score),
        max_score=float(report.max_score),
        report=report.model_dump(mode="json"),
    )


def internal_error(job: ClaimedJob, message: str) -> Result:
    """The result of a job the service could not grade: a report at zero, held for a person.

    The message is shown to the student. The case files are read again here; when they cannot be
    read, this raises and the job stays claimed until its lease runs out, as for any failure to record.
    """
    submission = SubmissionInfo.of(Submission(job.filename, job.content))
    return result_from_report(Report.failed(load_assignment(), "internal_error", message, submission=submission))


def result_from_outcome(job: ClaimedJob, outcome: Outcome) -> Result:
    """The stored result of a queue outcome; no report means the grader failed on the job."""
    report = outcome.report
    if report is None:
        log.error("job %s failed in the queue: %s", outcome.key, outcome.error)
        return internal_error(job, "The grader failed on this submission; a person will look at it.")
    return Result(status=report["status"], score=float(report["score"]), max_score=float(report["max_score"]),
                  report=report)


def finish_job(
    store: Store, metrics: Metrics, on_complete: Callable[[], None], now: float, job: ClaimedJob, result: Result
) -> bool:
    """Record a job's result and its deliveries in one transaction, if the job still holds its lease."""
    completed_at = dt.datetime.fromtimestamp(now, dt.timezone.utc)
    if store.complete_job(job, result, plan_deliveries(job, result, completed_at), now):
        metrics.inc("grader_jobs_finished_total", status=result.status)
        on_complete()
        return True
    log.warning("job %s lost its lease before its result was recorded; the result was discarded", job.id)
    return False


class QueueDispatcher(Background):
    """Claims jobs from the store, sends them to a `JobQueue`, records their outcomes."""

    def __init__(
        self,
        store: Store,
        queue: JobQueue,
        *,
        timeout: float | None,
        lease_seconds: float,
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
        self._lease_seconds = lease_seconds
        self._max_attempts = max_attempts
        self._max_in_flight = max_in_flight
        self._poll_seconds = poll_seconds
        self._metrics = metrics
        self._on_complete = on_complete
        self._clock = clock
        self._in_flight: dict[str, ClaimedJob] = {}
        self._next_renewal = 0.0

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
                self._renew_held()
            except Exception:
                # Redis down or the database busy: the leases keep every job safe; try again shortly.
                log.exception("dispatching through the queue failed")
                outcomes = []
            if not outcomes:
                self._wake.wait(self._poll_seconds)
                self._wake.clear()

    def _dispatch(self) -> None:
        """Claim and send runnable jobs while fewer than `max_in_flight` are out and the sandbox answers."""
        while len(self._in_flight) < self._max_in_flight and self._queue.outage() is None:
            job = self._store.claim_job(self._clock(), self._lease_seconds)
            if job is None:
                return
            if job.attempts > self._max_attempts:
                self._complete(job, internal_error(job, "Grading was interrupted repeatedly; a person will look at it."))
                continue
            if job.attempts > 1:
                log.warning("re-sending job %s (claim %d)", job.id, job.attempts)
            self._in_flight[job.id] = job
            self._queue.submit(Job(job.id, Submission(job.filename, job.content), self._timeout))

    def _renew_held(self) -> None:
        """Every third of a lease, extend the leases of the jobs the queue holds alive."""
        now = time.monotonic()
        if now < self._next_renewal or not self._in_flight:
            return
        self._next_renewal = now + self._lease_seconds / 3
        held = self._queue.held(list(self._in_flight))
        tokens = [job.lease_token for job_id, job in self._in_flight.items() if job_id in held]
        self._store.renew_leases(tokens, self._clock() + self._lease_seconds)

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
