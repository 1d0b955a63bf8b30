"""The in-process pool of grading workers.

Workers claim jobs from SQLite under a lease that a heartbeat renews while grading runs. A
finished job's result and its outbound deliveries are written in one transaction, conditional on
the lease, so however the process dies a job ends graded exactly once in effect: either nothing
of it was recorded (and it is graded again after restart) or all of it was.

A sandbox outage is never a job's result: the job goes back to the queue without spending an
attempt, and every worker waits on the sandbox gate until the sandbox answers again.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from grader.assignment import load_assignment
from grader.errors import SandboxOutage
from grader.queue.grading import GradeFn
from grader.report import Report, SubmissionInfo
from grader.sandbox.health import SandboxGate
from grader.service.metrics import Metrics
from grader.service.payloads import plan_deliveries
from grader.service.polling import Background, claim_loop
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


class WorkerPool(Background):
    """Grading threads plus a heartbeat that keeps their leases alive.

    Stopping waits a little for running jobs; unfinished ones are re-queued on restart.
    """

    def __init__(
        self,
        store: Store,
        grade_fn: GradeFn,
        *,
        workers: int,
        backend: str,
        timeout: float | None,
        lease_seconds: float,
        max_attempts: int,
        poll_seconds: float,
        metrics: Metrics,
        on_complete: Callable[[], None],
        gate: SandboxGate,
        clock: Callable[[], float] = time.time,
    ) -> None:
        super().__init__()
        self._gate = gate
        self._store = store
        self._grade_fn = grade_fn
        self._workers = workers
        self._backend = backend
        self._timeout = timeout
        self._lease_seconds = lease_seconds
        self._max_attempts = max_attempts
        self._poll_seconds = poll_seconds
        self._metrics = metrics
        self._on_complete = on_complete
        self._clock = clock
        self._in_flight: set[str] = set()
        self._in_flight_lock = threading.Lock()

    def start(self) -> None:
        """Start the workers and the heartbeat."""
        for index in range(self._workers):
            self._spawn(self._run, f"grading-{index}")
        self._spawn(self._heartbeat, "lease-heartbeat")

    def _run(self) -> None:
        claim_loop(self._stop, self._wake, self._poll_seconds, self._claim, self._track, "job")

    def _claim(self) -> ClaimedJob | None:
        """The next job, once the sandbox answers (a worker claims nothing during an outage)."""
        if not self._gate.wait_until_up(stop=self._stop):
            return None
        return self._store.claim_job(self._clock(), self._lease_seconds)

    def _track(self, job: ClaimedJob) -> None:
        with self._in_flight_lock:
            self._in_flight.add(job.lease_token)
        try:
            self._process(job)
        finally:
            with self._in_flight_lock:
                self._in_flight.discard(job.lease_token)

    def _process(self, job: ClaimedJob) -> None:
        if job.attempts > self._max_attempts:
            # The job was claimed this often without finishing: it likely takes the process down.
            self._complete(job, internal_error(job, "Grading was interrupted repeatedly; a person will look at it."))
            return
        started = time.monotonic()
        try:
            report = self._grade_fn(Submission(job.filename, job.content), backend=self._backend, timeout=self._timeout)
            result = result_from_report(report)
        except SandboxOutage as error:
            self._gate.outage(error)
            self._metrics.inc("grader_jobs_requeued_total", reason="sandbox_outage")
            # Docker's own words (socket paths, container names) go to the gate's log line, not to the client.
            self._store.requeue_job(job, "sandbox outage; the job will be graded when the sandbox answers", self._clock())
            return
        except Exception as error:
            log.exception("grading job %s failed (attempt %d)", job.id, job.attempts)
            if job.attempts < self._max_attempts:
                self._store.retry_job(job, f"{type(error).__name__}: {error}", self._clock() + 2.0**job.attempts)
                return
            result = internal_error(job, "The grader failed on this submission; a person will look at it.")
        self._metrics.observe("grader_grading_seconds", time.monotonic() - started)
        self._complete(job, result)

    def _complete(self, job: ClaimedJob, result: Result) -> None:
        finish_job(self._store, self._metrics, self._on_complete, self._clock(), job, result)

    def _heartbeat(self) -> None:
        interval = self._lease_seconds / 3
        while not self._stop.wait(interval):
            with self._in_flight_lock:
                tokens = list(self._in_flight)
            try:
                self._store.renew_leases(tokens, self._clock() + self._lease_seconds)
            except Exception:
                log.exception("could not renew leases")
