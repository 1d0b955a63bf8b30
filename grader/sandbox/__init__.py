"""Sandbox backends: places where untrusted submission code runs.

`get_backend(name)` returns one by name. "docker" is the default and the sandbox;
"bwrap" is a daemon-free sandbox (bubblewrap, Debian's python3 and numpy, needs root);
"process" runs the runner as a plain child process and is not a sandbox (the CLI
only offers it behind `--unsafe-no-sandbox`).
"""

from __future__ import annotations

from grader.sandbox.base import Backend, Limits, RawRun

BACKENDS = ("docker", "bwrap", "process")


def get_backend(name: str) -> Backend:
    """A backend instance by name; raises ValueError for an unknown name."""
    if name == "docker":
        from grader.sandbox.docker import DockerBackend

        return DockerBackend()
    if name == "bwrap":
        from grader.sandbox.bwrap import BwrapBackend

        return BwrapBackend()
    if name == "process":
        from grader.sandbox.process import ProcessBackend

        return ProcessBackend()
    raise ValueError(f"unknown sandbox backend {name!r}; choose one of {', '.join(BACKENDS)}")


__all__ = ["BACKENDS", "Backend", "Limits", "RawRun", "get_backend"]
