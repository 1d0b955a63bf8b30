"""grader: a sandboxed autograder for the numpy Regularization assignment.

The public API: `grade(submission)` returns a `Report`; `Submission.from_path`
reads a file; `load_assignment` reads the case files. Names are imported on first
use, so the `grade` command starts without loading numpy, pytest or Docker's SDK.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "Assignment": "grader.assignment",
    "load_assignment": "grader.assignment",
    "GRADER_VERSION": "grader.version",
    "grade": "grader.engine",
    "AssignmentError": "grader.errors",
    "GraderError": "grader.errors",
    "SandboxUnavailable": "grader.errors",
    "Report": "grader.report",
    "write_report": "grader.report",
    "Submission": "grader.submission",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'grader' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
