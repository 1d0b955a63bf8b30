"""Where batch jobs are graded: the `Executor` interface and its local process-pool implementation.

A job is one distinct submission (identified by its sha256); an executor grades each
job it is given once and yields the results as they finish. The batch loop only sees
this interface, so a queue-backed executor (Celery, issue 9) can replace the pool.
"""

from __future__ import annotations

import dataclasses
import multiprocessing
import os
import signal
import threading
import time
from collections.abc import Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from typing import Protocol

from grader.assignment import Assignment, load_assignment
from grader.engine import grade
from grader.errors import GraderError
from grader.report import Report
from grader.sandbox import Backend, get_backend
from grader.submission import Submission

DEFAULT_JOBS = (os.cpu_count() or 1) + 1
"""One worker more than cores: a worker waiting on the Docker daemon (create, remove) holds no core.
Measured with 2 cores: 3 workers grade ~10% more per minute than 2, with idle CPU down from ~50 to ~10 ms per submission."""
PARENT_POLL_SECONDS = 0.5
CLEANUP_GRACE_SECONDS = 5.0
"""How long an orphaned worker may spend removing its sandbox before it exits anyway."""


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
    """Grades jobs somewhere (local processes, a task queue) and yields each result once."""

    def grade(self, jobs: Iterable[GradeJob]) -> Iterator[Graded]:
        """Grade every job, yielding results in completion order; stop cleanly when closed early.

        Raises GraderError when grading cannot go on here (no sandbox); a job the grader
        fails on for any other reason is yielded with `error` set.
        """
        ...


class LocalPool:
    """Grades jobs in `jobs` worker processes on this machine, each with its own backend instance.

    Workers are spawned (not forked) so none inherits the batch's threads or Docker
    connections; they ignore Ctrl-C, finishing the job in hand while the batch stops
    handing out new ones, and they exit on their own when the batch process dies.
    """

    def __init__(self, jobs: int, backend: str, timeout: float | None = None) -> None:
        self.jobs = max(1, jobs)
        self.backend = backend
        self.timeout = timeout

    def grade(self, jobs: Iterable[GradeJob]) -> Iterator[Graded]:
        queue = iter(jobs)
        first = next(queue, None)
        if first is None:
            return
        _check_backend(self.backend)
        window = 2 * self.jobs
        pool = ProcessPoolExecutor(
            max_workers=self.jobs,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_start_worker,
            initargs=(self.backend, self.timeout, os.getpid()),
        )
        pending: dict[Future[str], GradeJob] = {}
        try:
            pending[pool.submit(_grade, first.submission)] = first
            for job in queue:
                pending[pool.submit(_grade, job.submission)] = job
                if len(pending) < window:
                    continue
                yield from _finished(pending)
            while pending:
                yield from _finished(pending)
        finally:
            for future in pending:
                future.cancel()
            pool.shutdown(wait=True, cancel_futures=True)


def _finished(pending: dict[Future[str], GradeJob]) -> Iterator[Graded]:
    """Wait for at least one job, then yield (and forget) every finished one."""
    done, _ = wait(pending, return_when=FIRST_COMPLETED)
    for future in done:
        job = pending.pop(future)
        try:
            report = Report.model_validate_json(future.result())
        except BrokenProcessPool as exc:
            raise GraderError(f"a grading worker died unexpectedly ({exc}); re-run to resume") from exc
        except GraderError:
            # The grader cannot run here (e.g. the Docker daemon went away): stop; a re-run resumes.
            raise
        except Exception as exc:  # any other failure is this job's, reported, and retried on the next run
            yield Graded(job, None, f"{type(exc).__name__}: {exc}")
            continue
        yield Graded(job, report)

def _check_backend(name: str) -> None:
    """Fail before starting workers when the backend cannot run here (no daemon, no image)."""
    get_backend(name)


@dataclasses.dataclass(frozen=True)
class _WorkerState:
    """What a worker process builds once and reuses for every job."""

    backend: Backend | None
    timeout: float | None
    assignment: Assignment
    unavailable: GraderError | None = None
    """Why the backend could not start here; every job then fails with it."""


_worker: _WorkerState | None = None


def _start_worker(backend: str, timeout: float | None, parent: int) -> None:
    """Per worker, once: signal handling, the orphan watchdog, the backend and the assignment."""
    global _worker
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, _exit_on_signal)
    threading.Thread(target=_exit_with_parent, args=(parent,), daemon=True).start()
    try:
        _worker = _WorkerState(get_backend(backend), timeout, load_assignment())
    except GraderError as exc:
        # Raised here it would only break the pool; raised from a job it reaches the batch intact.
        _worker = _WorkerState(None, timeout, load_assignment(), unavailable=exc)


def _exit_on_signal(signum: int, _frame: object) -> None:
    """Unwind on SIGTERM so the backend removes the run in progress (container, process group)."""
    raise SystemExit(128 + signum)


def _exit_with_parent(parent: int) -> None:
    """Stop this worker when the batch process is gone (e.g. SIGKILL), instead of idling forever."""
    while os.getppid() == parent:
        time.sleep(PARENT_POLL_SECONDS)
    os.kill(os.getpid(), signal.SIGTERM)
    time.sleep(CLEANUP_GRACE_SECONDS)
    os._exit(1)


def _grade(submission: Submission) -> str:
    """Grade in a worker; the report travels back as JSON (plain data, as a task queue needs)."""
    assert _worker is not None, "the pool initializer sets up every worker"
    if _worker.unavailable is not None:
        raise _worker.unavailable
    report = grade(submission, backend=_worker.backend, timeout=_worker.timeout, assignment=_worker.assignment)
    return report.to_json()
