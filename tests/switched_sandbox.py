"""A sandbox the test switches off and on, for the outage tests of the pool and the dispatcher."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from grader.errors import SandboxOutage


class SwitchedSandbox:
    """Grading and the gate's probe both see its state; while up, it grades with `grade_fn`."""

    def __init__(self, grade_fn: Callable[..., Any]) -> None:
        self.up = threading.Event()
        self.runs_while_down = 0
        self._grade_fn = grade_fn

    def check(self) -> None:
        if not self.up.is_set():
            raise SandboxOutage("the daemon does not answer")

    def grade(self, submission: Any, *, backend: str, timeout: float | None) -> Any:
        if not self.up.is_set():
            self.runs_while_down += 1
            raise SandboxOutage("the daemon does not answer")
        return self._grade_fn(submission, backend=backend, timeout=timeout)
