"""The zero-setup queue: grading threads in this process (each runs one sandbox at a time)."""

from __future__ import annotations

import logging
import queue
import threading
from concurrent.futures import ThreadPoolExecutor

from grader.queue.base import Job, Outcome
from grader.queue.grading import GradeFn, grade_job

log = logging.getLogger(__name__)

WORKER_NAME = "embedded"


class EmbeddedQueue:
    """Grades jobs on `workers` threads; outcomes are handed out in completion order."""

    def __init__(self, workers: int, backend: str, grade_fn: GradeFn | None = None) -> None:
        if grade_fn is None:
            from grader.engine import grade as grade_fn
        self._grade_fn = grade_fn
        self._backend = backend
        self._pool = ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="grading")
        self._done: queue.SimpleQueue[Outcome] = queue.SimpleQueue()
        self._pending: set[str] = set()
        self._lock = threading.Lock()

    def submit(self, job: Job) -> None:
        with self._lock:
            if job.key in self._pending:
                return
            self._pending.add(job.key)
        self._pool.submit(self._grade, job)

    def finished(self, timeout: float) -> list[Outcome]:
        outcomes: list[Outcome] = []
        try:
            outcomes.append(self._done.get(timeout=timeout) if timeout > 0 else self._done.get_nowait())
            while True:
                outcomes.append(self._done.get_nowait())
        except queue.Empty:
            pass
        with self._lock:
            self._pending.difference_update(outcome.key for outcome in outcomes)
        return outcomes

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)

    def _grade(self, job: Job) -> None:
        try:
            outcome = Outcome(job.key, grade_job(job, self._grade_fn, self._backend), worker=WORKER_NAME)
        except Exception as error:
            log.exception("grading %s failed", job.key)
            outcome = Outcome(job.key, None, f"{type(error).__name__}: {error}", WORKER_NAME)
        self._done.put(outcome)

