"""The child-process handling every non-Docker backend shares (run_child): what it keeps of a flood."""

from __future__ import annotations

import sys

from grader.sandbox.base import SANDBOX_ENV, Limits
from grader.sandbox.process import run_child

ENDLESS_WRITER = "import os\nwhile True:\n    os.write(1, b'x' * 65536)\n"


def test_a_run_that_writes_past_the_channel_cap_is_ended_not_drained(tmp_path):
    limits = Limits(wall_seconds=15.0, stdout_bytes=1024 * 1024)
    run = run_child([sys.executable, "-c", ENDLESS_WRITER], b"", limits, cwd=str(tmp_path), env=SANDBOX_ENV,
                    preexec=lambda: None)
    assert run.stdout_truncated and len(run.stdout) == limits.stdout_bytes
    assert not run.timed_out and run.exit_code is not None and run.exit_code < 0
