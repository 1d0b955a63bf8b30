"""The one local grading pool: threads in this process behind `JobQueue`, for `grade batch` and `grade serve`.

Each thread runs one sandbox at a time; the sandbox (a container or a child process) does the
grading's heavy work, so threads share the host's part of it (the GIL) at little cost. What
every user of the pool relies on:
- a key submitted again while it is pending is graded once, and each outcome is handed out once;
- a sandbox outage is never a job's result. After a run fails with SandboxOutage the sandbox is
  probed: if it does not answer, the gate opens, every thread waits until it answers again and
  the job is graded again, without spending an attempt; if it answers, the failure was this job's
  run, and after `outage_limit` such runs in a row the job ends with an error outcome that says
  the sandbox failed on it (not the student), so one job cannot hold a batch for ever;
- a grader error is retried (`max_attempts` runs, with doubling pauses), then is an error outcome;
- with the Docker sandbox a watchdog process removes this process's containers if it is killed
  (grader/jobs/watchdog.py): threads, unlike worker processes, cannot outlive it to do so.
"""

from __future__ import annotations

import collections
import heapq
import itertools
import logging
import queue
import threading
import time
from collections.abc import Callable, Collection

from grader.errors import SandboxOutage
from grader.jobs.base import Job, Outcome
from grader.jobs.grading import GradeFn, grade_job
from grader.sandbox.health import SandboxGate, process_gate

log = logging.getLogger(__name__)

WORKER_NAME = "embedded"
MAX_ATTEMPTS = 3
RETRY_BACKOFF_SECONDS = 2.0
"""Pause before grading a job again after a grader error; doubles per error."""
OUTAGE_LIMIT = 3
"""Failed runs of one job in a row, each while the sandbox's probe answers, before the job ends."""
_IDLE_CHECK_SECONDS = 0.5


def outage_limit_message(runs: int) -> str:
    """The error of a job the sandbox kept failing on while it answered for everything else."""
    return (f"the sandbox failed on this file {runs} times in a row while its health probe answered: "
            "a fault of the grader's sandbox, not of the submission")


class EmbeddedQueue:
    """Grades jobs on `workers` threads; outcomes are handed out in completion order.

    The first `submit` checks that the sandbox can run here at all (SandboxUnavailable is raised
    from it; an outage only makes the threads wait) and starts the container watchdog. `gate` is the
    sandbox's health every thread waits on (default: this process's gate for `backend`);
    `on_requeue` is told of each run an outage gave back, `on_outcome` of each finished job.
    """

    def __init__(
        self,
        workers: int,
        backend: str,
        grade_fn: GradeFn | None = None,
        *,
        gate: SandboxGate | None = None,
        max_attempts: int = MAX_ATTEMPTS,
        retry_backoff: float = RETRY_BACKOFF_SECONDS,
        outage_limit: int = OUTAGE_LIMIT,
        on_requeue: Callable[[], None] = lambda: None,
        on_outcome: Callable[[], None] = lambda: None,
    ) -> None:
        if grade_fn is None:
            from grader.engine import grade as grade_fn
        self._grade_fn = grade_fn
        self._backend = backend
        self.gate = gate or process_gate(backend)
        self._max_attempts = max_attempts
        self._retry_backoff = retry_backoff
        self._outage_limit = outage_limit
        self._on_requeue = on_requeue
        self._on_outcome = on_outcome
        self._cond = threading.Condition()
        self._closed = threading.Event()
        self._ready: collections.deque[Job] = collections.deque()
        self._delayed: list[tuple[float, int, Job]] = []
        """Jobs to grade again after a grader error: (when, order, job), a heap."""
        self._order = itertools.count()
        self._pending: set[str] = set()
        """Keys submitted whose outcome was not handed out yet (queued, running, delayed or done)."""
        self._errors: collections.Counter[str] = collections.Counter()
        self._outages: collections.Counter[str] = collections.Counter()
        self._done: queue.SimpleQueue[Outcome] = queue.SimpleQueue()
        self._checked = False
        self._check_lock = threading.Lock()
        for index in range(max(1, workers)):
            threading.Thread(target=self._work, name=f"grading-{index}", daemon=True).start()

    def submit(self, job: Job) -> None:
        self._check_once()
        with self._cond:
            if job.key in self._pending:
                return
            self._pending.add(job.key)
            self._ready.append(job)
            self._cond.notify()

    def finished(self, timeout: float) -> list[Outcome]:
        outcomes: list[Outcome] = []
        try:
            outcomes.append(self._done.get(timeout=timeout) if timeout > 0 else self._done.get_nowait())
            while True:
                outcomes.append(self._done.get_nowait())
        except queue.Empty:
            pass
        with self._cond:
            self._pending.difference_update(outcome.key for outcome in outcomes)
        return outcomes

    def held(self, keys: Collection[str]) -> set[str]:
        """Every pending key is alive here: queued, graded, paused by an outage, or finished and not collected."""
        with self._cond:
            return self._pending.intersection(keys)

    def outage(self) -> str | None:
        state = self.gate.state
        return None if state.up else state.reason or "the sandbox does not answer"

    def close(self) -> None:
        """Stop taking jobs; a thread finishes the run in hand (its outcome is not collected)."""
        self._closed.set()
        with self._cond:
            self._cond.notify_all()

    def _check_once(self) -> None:
        """Before the first job: fail if the sandbox cannot run here, and watch over its containers."""
        with self._check_lock:
            if self._checked:
                return
            self.gate.check_now()
            if self._backend == "docker":
                from grader.jobs.watchdog import watch

                watch()
            self._checked = True

    def _work(self) -> None:
        while self.gate.wait_until_up(stop=self._closed):
            job = self._take()
            if self._closed.is_set():
                return
            if job is None:
                continue
            if not self.gate.state.up:
                # The sandbox went down while this thread waited for work: wait with the job.
                self._requeue(job)
                continue
            outcome = self._grade(job)
            if outcome is not None:
                self._finish(outcome)

    def _take(self) -> Job | None:
        """The next job due, waiting a little for one; None when there is none yet."""
        with self._cond:
            now = time.monotonic()
            while self._delayed and self._delayed[0][0] <= now:
                self._ready.append(heapq.heappop(self._delayed)[2])
            if self._ready:
                return self._ready.popleft()
            wait = _IDLE_CHECK_SECONDS if not self._delayed else min(_IDLE_CHECK_SECONDS, self._delayed[0][0] - now)
            self._cond.wait(wait)
            return None

    def _grade(self, job: Job) -> Outcome | None:
        """Grade `job` once: its outcome, or None when it was given back to be graded again."""
        try:
            return Outcome(job.key, grade_job(job, self._grade_fn, self._backend), worker=WORKER_NAME)
        except SandboxOutage as error:
            return self._after_outage(job, error)
        except Exception as error:
            return self._after_error(job, error)

    def _after_outage(self, job: Job, error: SandboxOutage) -> Outcome | None:
        if self.gate.check_now():
            # The sandbox answers: this run failed, not the sandbox as a whole.
            self._outages[job.key] += 1
            runs = self._outages[job.key]
            log.warning("the sandbox failed on job %s (%d of %d in a row) while it answers: %s",
                        job.key, runs, self._outage_limit, error)
            if runs >= self._outage_limit:
                return Outcome(job.key, None, outage_limit_message(runs), WORKER_NAME)
        self._on_requeue()
        self._requeue(job)
        return None

    def _after_error(self, job: Job, error: Exception) -> Outcome | None:
        self._errors[job.key] += 1
        runs = self._errors[job.key]
        if runs >= self._max_attempts:
            log.exception("grading %s failed %d times", job.key, runs)
            return Outcome(job.key, None, f"{type(error).__name__}: {error}", WORKER_NAME)
        log.warning("grading %s failed (attempt %d), retrying: %s", job.key, runs, error)
        with self._cond:
            due = time.monotonic() + self._retry_backoff * 2 ** (runs - 1)
            heapq.heappush(self._delayed, (due, next(self._order), job))
            self._cond.notify()
        return None

    def _requeue(self, job: Job) -> None:
        with self._cond:
            self._ready.appendleft(job)
            self._cond.notify()

    def _finish(self, outcome: Outcome) -> None:
        with self._cond:
            self._errors.pop(outcome.key, None)
            self._outages.pop(outcome.key, None)
        self._done.put(outcome)
        self._on_outcome()
