"""Sandbox backends: places where untrusted submission code runs.

`get_backend(name)` returns one by name. "docker" is the default and the sandbox;
"bwrap" is a daemon-free sandbox (bubblewrap, Debian's python3 and numpy, needs root);
"process" runs the runner as a plain child process and is not a sandbox (the CLI
only offers it behind `--unsafe-no-sandbox`, settings only with `unsafe_no_sandbox`).
"""

from __future__ import annotations

from grader.sandbox.base import DEFAULT_TIMEOUT, Backend, Limits, RawRun

BACKENDS = ("docker", "bwrap", "process")
UNSANDBOXED = "process"
UNSANDBOXED_WARNING = (
    "NOT A SANDBOX: grading runs submissions as plain processes: they can read this machine's files, "
    "environment (secrets, tokens) and network; trusted code only"
)


def require_sandbox(name: str, *, unsafe_no_sandbox: bool) -> str:
    """`name`, unless it is the unsandboxed backend and the unsafe setting is off (ValueError)."""
    if name == UNSANDBOXED and not unsafe_no_sandbox:
        raise ValueError(
            f"grade_backend = {UNSANDBOXED!r} is not a sandbox: a submission could read every secret in this "
            "process's environment and its database. Use 'docker', or 'bwrap' where Docker is unavailable; "
            "for trusted code only, also set unsafe_no_sandbox = true (GRADER_UNSAFE_NO_SANDBOX=1)"
        )
    return name


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


__all__ = [
    "BACKENDS", "DEFAULT_TIMEOUT", "UNSANDBOXED", "UNSANDBOXED_WARNING", "Backend", "Limits", "RawRun", "get_backend", "require_sandbox",
]
