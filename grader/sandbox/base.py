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
DEFAULT_TIMEOUT = 20.0
"""Wall-clock seconds of a whole run when nobody asks for another limit."""
SANDBOX_ENV = {
    "OPENBLAS_NUM_THREADS": "1",
    "OMP_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
    "PYTHONDONTWRITEBYTECODE": "1",
    "LANG": "C.UTF-8",
    "PATH": "/usr/local/bin:/usr/bin:/bin",
}
"""The runner's whole environment in every backend (each adds its HOME): nothing of the host's leaks in."""
DIAGNOSTICS_BYTES = 8 * 1024
"""How much of the end of the runner's stderr a backend keeps for RawRun.diagnostics."""


@dataclasses.dataclass(frozen=True)
class Limits:
    """Resource limits for one sandboxed run."""

    wall_seconds: float = DEFAULT_TIMEOUT
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
