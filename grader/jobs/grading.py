"""Grade one queued job with a grading function: the step every queue implementation shares."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

from grader.jobs.base import Job

GradeFn = Callable[..., Any]
"""`grade(submission, *, backend, timeout) -> Report`, as `grader.engine.grade`."""

DEFAULT_GRADE_FUNCTION = "grader.engine:grade"


def load_grade_fn(path: str) -> GradeFn:
    """Import the grading function named `module:function`."""
    module_name, _, function_name = path.partition(":")
    if not function_name:
        raise ValueError(f"grade_function must look like 'module:function', got {path!r}")
    return getattr(importlib.import_module(module_name), function_name)


def grade_job(job: Job, grade_fn: GradeFn, backend: str, timeout_cap: float | None = None) -> dict[str, Any]:
    """Grade `job` and return its report as JSON data; raises only when the grader itself fails.

    `timeout_cap` bounds the wall time a job may ask for, so a worker never holds a task
    longer than the broker waits before handing it to another worker.
    """
    timeout = job.timeout
    if timeout_cap is not None:
        from grader.sandbox import DEFAULT_TIMEOUT

        timeout = min(timeout or DEFAULT_TIMEOUT, timeout_cap)
    report = grade_fn(job.submission, backend=backend, timeout=timeout)
    return report.model_dump(mode="json")
