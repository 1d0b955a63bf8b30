"""The `grade` console script (and `python -m grader`): the sandbox starts first, the process ends quickly.

A `grade FILE` mostly waits for its container. `run` starts that container before click and
the grading code load, when the command line has the plain shape of one (a `.py` or `.ipynb`
file first, no option that changes the sandbox or its limits), and hands it to the command
as the click context's `obj`. The command uses it only on the Docker backend, and the run
itself keeps it only for exactly the bundle and limits the engine built
(grader.sandbox.docker_early); anything else removes it. A command line that grades one file
also runs without the cyclic garbage collector: in so short a process it would only slow the
imports (~50 ms of CPU, taken from the container starting on the other core).

At the end, tearing down the interpreter of a grading process (freeing numpy, pytest,
pydantic and their objects) would take ~0.1 s. Like mypy, `run` ends with os._exit once
nothing is left to do: no other thread runs, the atexit handlers (temporary files, logging,
a container's removal) have run, and stdout and stderr are flushed. Tests call
grader.cli.main directly and keep their interpreter.
"""

from __future__ import annotations

import atexit
import gc
import os
import sys
import threading
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from grader.sandbox.docker_early import EarlyRun

_NOT_PLAIN = ("--sandbox", "--unsafe-no-sandbox", "--timeout", "-h", "--help", "--version")
"""Options after which the container started before parsing would not be the one the command uses."""


def run() -> None:
    """Run the `grade` command with its container started first, then exit without a teardown."""
    args = sys.argv[1:]
    speculated = None
    if _grades_one_file(args):
        gc.disable()
        speculated = _speculate(args)
    from grader.cli import main

    try:
        main(prog_name="grade", obj=speculated)
        code: object = 0
    except SystemExit as exc:
        code = exc.code
    if code is not None and not isinstance(code, int):
        raise SystemExit(code)  # a message to print: Python's own exit does that
    _exit_now(code or 0)


def _grades_one_file(args: list[str]) -> bool:
    """Whether the command line is `grade FILE ...` (commands have no file suffix)."""
    from grader.submission import KINDS

    return bool(args) and os.path.splitext(args[0])[1] in KINDS and os.path.isfile(args[0])


def _speculate(args: list[str]) -> EarlyRun | None:
    """The sandbox container for `grade FILE`, started before the command line is parsed, or None."""
    from grader.submission import Rejected, Submission

    if any(arg.startswith(_NOT_PLAIN) for arg in args[1:]):
        return None
    try:
        submission = Submission.from_path(args[0])
        submission.check()
    except (OSError, Rejected):
        return None  # the command reports it; nothing runs
    from grader.sandbox.base import Limits
    from grader.sandbox.docker_early import start_early

    return start_early(submission.kind, submission.content, Limits())


def _exit_now(code: int) -> None:
    """End the process with `code` once nothing is left to do; with a thread still working, exit as usual."""
    others = [thread for thread in threading.enumerate() if thread is not threading.current_thread()]
    if any(thread.is_alive() and not thread.daemon for thread in others):
        raise SystemExit(code)  # Python's own exit waits for it
    atexit._run_exitfuncs()
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except (OSError, ValueError):
        code = code or 120  # what Python's own exit returns when stdout cannot be flushed
    os._exit(code)
