"""The grading function of the test workers: the real engine, plus two markers that break the grader.

A submission containing `KILL-THE-WORKER` makes the worker process die mid-job (as an OOM kill
would); one containing `GRADER-BUG` makes the grader raise (as a broken sandbox would).
"""

from __future__ import annotations

import os
import signal
from typing import Any

from grader.engine import grade as engine_grade

KILL_MARKER = b"KILL-THE-WORKER"
BUG_MARKER = b"GRADER-BUG"


def grade(submission: Any, *, backend: str, timeout: float | None) -> Any:
    if KILL_MARKER in submission.content:
        os.kill(os.getpid(), signal.SIGKILL)
    if BUG_MARKER in submission.content:
        raise RuntimeError("the sandbox is broken")
    return engine_grade(submission, backend=backend, timeout=timeout)
