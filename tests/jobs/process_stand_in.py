"""Grading functions that say where they ran, for tests/jobs/test_processes.py (they run in worker processes)."""

from __future__ import annotations

import os
from typing import Any

from grader.errors import SandboxOutage
from grader.jobs.processes import ReportData


def grade(submission: Any, *, backend: str, timeout: float | None = None) -> ReportData:
    """Where this grade ran; a submission saying `die` ends its process, `outage` raises SandboxOutage."""
    if submission.content == b"die":
        os._exit(1)
    if submission.content == b"outage":
        raise SandboxOutage("the daemon does not answer")
    return ReportData({"pid": os.getpid(), "niceness": os.nice(0), "backend": backend, "timeout": timeout})
