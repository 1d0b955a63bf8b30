"""Where batch jobs are graded: the `Executor` interface and its local process-pool implementation.

A job is one distinct submission (identified by its sha256); an executor grades each
job it is given once and yields the results as they finish. The batch loop only sees
this interface, so a queue-backed executor (Celery, issue 9) can replace the pool.
"""

from __future__ import annotations

import collections
import dataclasses
import multiprocessing
import os
import signal
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from typing import Protocol

from grader.assignment import Assignment, load_assignment
from grader.engine import grade
from grader.errors import GraderError, SandboxOutage
from grader.report import Report
from grader.sandbox import Backend, get_backend
from grader.sandbox.health import SandboxGate, probe
from grader.submission import Submission

DEFAULT_JOBS = (os.cpu_count() or 1) + 1
"""One worker more than cores: a worker waiting on the Docker daemon (create, remove) holds no core.
Measured with 2 cores: 3 workers grade ~10% more per minute than 2, with idle CPU down from ~50 to ~10 ms per submission."""
PARENT_POLL_SECONDS = 0.5
CLEANUP_GRACE_SECONDS = 5.0
"""How long an orphaned worker may spend removing its sandbox before it exits anyway."""
SANDBOX_WAIT_SECONDS = 300.0
"""How long a batch waits for a sandbox that stopped answering before it stops (a re-run resumes)."""
WAIT_NOTE_SECONDS = 10.0


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

    A sandbox outage costs no job: the jobs it hit are graded again once the sandbox answers,
    after waiting at most `sandbox_wait` seconds per outage (with a note every 10 s to `notify`).
    """

    def __init__(self, jobs: int, backend: str, timeout: float | None = None, *,
                 sandbox_wait: float = SANDBOX_WAIT_SECONDS, notify: Callable[[str], None] = lambda _: None) -> None:
        self.jobs = max(1, jobs)
        self.backend = backend
        self.timeout = timeout
        self.sandbox_wait = sandbox_wait
        self._notify = notify
        self._gate = SandboxGate(lambda: probe(backend))

    def grade(self, jobs: Iterable[GradeJob]) -> Iterator[Graded]:
        queue = iter(jobs)
        first = next(queue, None)
        if first is None:
            return
        if not self._gate.check_now():
            self._wait_for_sandbox()
        window = 2 * self.jobs
        pool = ProcessPoolExecutor(
            max_workers=self.jobs,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_start_worker,
            initargs=(self.backend, self.timeout, os.getpid()),
        )
        pending: dict[Future[str], GradeJob] = {}
        hit: collections.deque[GradeJob] = collections.deque([first])
        """Jobs to (re)submit before new ones: the first, then those a sandbox outage hit."""
        try:
            while True:
                if not self._gate.state.up and not pending:
                    self._wait_for_sandbox()
                while self._gate.state.up and len(pending) < window:
                    job = hit.popleft() if hit else next(queue, None)
                    if job is None:
                        break
                    pending[pool.submit(_grade, job.submission)] = job
                if not pending:
                    if hit or not self._gate.state.up:
                        continue
                    return
                yield from _finished(pending, hit, self._gate)
        finally:
            for future in pending:
                future.cancel()
            pool.shutdown(wait=True, cancel_futures=True)

    def _wait_for_sandbox(self) -> None:
        """Wait up to `sandbox_wait` s for the sandbox, noting progress; raise SandboxOutage if it stays down."""
        limit = _clock(self.sandbox_wait)
        self._notify(f"the sandbox does not answer ({self._gate.state.reason}); "
                     f"waiting up to {limit} for it to return")
        started = time.monotonic()
        while not self._gate.wait_until_up(timeout=min(WAIT_NOTE_SECONDS, started + self.sandbox_wait - time.monotonic())):
            waited = time.monotonic() - started
            if waited >= self.sandbox_wait:
                raise SandboxOutage(f"the sandbox did not return within {limit} ({self._gate.state.reason}); "
                                    "every finished report is kept: re-run the same command to resume")
            self._notify(f"still waiting for the sandbox: {_clock(waited)} of {limit}")
        self._notify(f"the sandbox answers again after {_clock(time.monotonic() - started)}; grading resumes")


def _clock(seconds: float) -> str:
    minutes, secs = divmod(int(round(seconds)), 60)
    return f"{minutes}:{secs:02d}"


def _finished(pending: dict[Future[str], GradeJob], hit: collections.deque[GradeJob],
              gate: SandboxGate) -> Iterator[Graded]:
    """Wait for at least one job, then yield (and forget) every finished one; jobs an outage hit go to `hit`."""
    done, _ = wait(pending, return_when=FIRST_COMPLETED)
    for future in done:
        job = pending.pop(future)
        try:
            report = Report.model_validate_json(future.result())
        except BrokenProcessPool as exc:
            raise GraderError(f"a grading worker died unexpectedly ({exc}); re-run to resume") from exc
        except SandboxOutage as exc:
            gate.outage(exc)
            hit.append(job)
            continue
        except GraderError:
            # The grader cannot run here (e.g. no bwrap installed): stop; a re-run resumes.
            raise
        except Exception as exc:  # any other failure is this job's, reported, and retried on the next run
            yield Graded(job, None, f"{type(exc).__name__}: {exc}")
            continue
        yield Graded(job, report)

@dataclasses.dataclass
class _WorkerState:
    """What a worker process builds once and reuses for every job."""

    backend_name: str
    backend: Backend | None
    timeout: float | None
    assignment: Assignment
    unavailable: GraderError | None = None
    """Why the backend could not start here; jobs fail with it (after trying again, for an outage)."""


_worker: _WorkerState | None = None


def _start_worker(backend: str, timeout: float | None, parent: int) -> None:
    """Per worker, once: signal handling, the orphan watchdog, the backend and the assignment."""
    global _worker
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, _exit_on_signal)
    threading.Thread(target=_exit_with_parent, args=(parent,), daemon=True).start()
    try:
        _worker = _WorkerState(backend, get_backend(backend), timeout, load_assignment())
    except GraderError as exc:
        # Raised here it would only break the pool; raised from a job it reaches the batch intact.
        _worker = _WorkerState(backend, None, timeout, load_assignment(), unavailable=exc)


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
    if isinstance(_worker.unavailable, SandboxOutage):
        # The sandbox was down when this worker started; it may be back.
        _worker.backend, _worker.unavailable = get_backend(_worker.backend_name), None
    if _worker.unavailable is not None:
        raise _worker.unavailable
    report = grade(submission, backend=_worker.backend, timeout=_worker.timeout, assignment=_worker.assignment)
    return report.to_json()
