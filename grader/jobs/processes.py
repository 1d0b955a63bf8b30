"""Grading in worker processes: the service's event loop keeps its process, and the CPU, to itself.

The embedded pool's threads run a grade in-process, and the host's part of a grade (decoding
the run, pytest, diagnosis, the report: ~80 ms of CPU) holds the GIL the event loop needs to
answer the LMS: with two workers grading, the 202's p99 was 90-150 ms (bench/service_bench.py).
`GradingProcesses` is a grading function (grader.jobs.grading.GradeFn) that runs the named one
in a pool of worker processes at a lower CPU priority; the pool's threads only wait for them.
Reports come back as JSON data. A worker that dies fails the grades it held as grader errors
(the pool tries them again, up to its attempts) and the next grade starts a new set of processes.
"""

from __future__ import annotations

import concurrent.futures
import importlib
import multiprocessing
import os
import threading
from concurrent.futures.process import BrokenProcessPool
from typing import Any

from grader.errors import GraderError
from grader.submission import Submission

NICENESS = 10
"""How much lower the grading processes' CPU priority is than the service's (see os.nice)."""


class GradingProcessDied(GraderError):
    """A grading worker process ended during a grade (killed, out of memory): the grader's failure."""


class ReportData:
    """A report as JSON data, as grader.jobs.grading.grade_job takes it from any grading function."""

    def __init__(self, data: dict[str, Any]) -> None:
        self._data = data

    def model_dump(self, mode: str = "json") -> dict[str, Any]:
        return self._data


class GradingProcesses:
    """Calls `grade_function` (`module:function`) in `workers` processes; started on the first grade."""

    def __init__(self, grade_function: str, workers: int) -> None:
        self._grade_function = grade_function
        self._workers = workers
        self._lock = threading.Lock()
        self._executor: concurrent.futures.ProcessPoolExecutor | None = None
        self._closed = False

    def __call__(self, submission: Submission, *, backend: str, timeout: float | None = None) -> ReportData:
        executor = self._current()
        try:
            data = executor.submit(_grade, self._grade_function, submission, backend, timeout).result()
        except BrokenProcessPool as broken:
            self._discard(executor)
            raise GradingProcessDied("a grading process ended during this grade; it is graded again") from broken
        return ReportData(data)

    def close(self) -> None:
        """Stop the processes once their grades are done; later grades fail."""
        with self._lock:
            self._closed = True
            executor, self._executor = self._executor, None
        if executor is not None:
            executor.shutdown(wait=True, cancel_futures=True)

    def _current(self) -> concurrent.futures.ProcessPoolExecutor:
        with self._lock:
            if self._closed:
                raise GraderError("the grading processes have stopped")
            if self._executor is None:
                # spawn: a fresh interpreter, not a fork of a process full of threads and sockets.
                self._executor = concurrent.futures.ProcessPoolExecutor(
                    self._workers, mp_context=multiprocessing.get_context("spawn"), initializer=_start_worker,
                )
            return self._executor

    def _discard(self, executor: concurrent.futures.ProcessPoolExecutor) -> None:
        with self._lock:
            if self._executor is executor:
                self._executor = None
        executor.shutdown(wait=False, cancel_futures=True)


def _start_worker() -> None:
    os.nice(NICENESS)
    importlib.import_module("grader.engine")  # once per process, not in the first grade's time


def _grade(grade_function: str, submission: Submission, backend: str, timeout: float | None) -> dict[str, Any]:
    from grader.jobs.grading import load_grade_fn

    report = load_grade_fn(grade_function)(submission, backend=backend, timeout=timeout)
    return report.model_dump(mode="json")
