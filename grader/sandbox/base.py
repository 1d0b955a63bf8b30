"""The contract every sandbox backend fulfils.

A backend knows nothing about grading: it starts the in-sandbox runner
(`grader/runner.py`), writes one input bundle to the runner's standard input,
and hands back what the runner wrote on standard output, capped in size, with
how the run ended. Everything it returns is untrusted bytes.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Protocol

RUNNER_PATH = Path(__file__).resolve().parent.parent / "runner.py"


@dataclasses.dataclass(frozen=True)
class Limits:
    """Resource limits for one sandboxed run."""

    wall_seconds: float = 20.0
    memory_bytes: int = 512 * 1024 * 1024
    pids: int = 64
    cpus: float = 1.0
    file_bytes: int = 16 * 1024 * 1024
    tmpfs_bytes: int = 32 * 1024 * 1024
    open_files: int = 256
    stdout_bytes: int = 12 * 1024 * 1024
    """Most bytes read back from the runner's stdout (its output channel); the rest is dropped.

    The engine gives the runner an output budget that fits (`grader.wire.output_budget`), so
    only a hostile run reaches it, and it bounds what such a run makes the host hold and parse.
    """


@dataclasses.dataclass(frozen=True)
class RawRun:
    """How a sandboxed run ended, as the backend observed it."""

    stdout: bytes
    """What the runner wrote on stdout, at most `Limits.stdout_bytes`."""
    stdout_truncated: bool
    exit_code: int | None
    """None when the process was killed by us (timeout) before it exited."""
    timed_out: bool
    memory_exceeded: bool
    duration: float
    diagnostics: str = ""
    """What the backend itself saw (e.g. stderr of the runner's interpreter), truncated."""


class Backend(Protocol):
    """A place where untrusted code runs."""

    name: str

    def run(self, bundle: bytes, limits: Limits) -> RawRun:
        """Run the runner on `bundle` under `limits`; never raises for anything the submission does."""
        ...
