"""A grading process killed with SIGKILL leaves no sandbox container: its watchdog removes them."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from grader.sandbox.docker import LABEL, OWNER_LABEL

pytestmark = [pytest.mark.slow, pytest.mark.docker]

REPO = Path(__file__).resolve().parents[2]
BATCH = f"import sys; sys.path.insert(0, {str(REPO)!r}); from grader.batch.command import batch_command; batch_command()"
ENDLESS = "def compute_cost_with_regularization(A3, Y, parameters, lambd):\n    while True:\n        pass\n"


def _containers_of(docker_client, pid: int) -> list[str]:
    prefix = f"{socket.gethostname()}:{pid}:"
    return [c["Id"][:12] for c in docker_client.containers(all=True, filters={"label": LABEL})
            if c["Labels"].get(OWNER_LABEL, "").startswith(prefix)]


def _wait_until(predicate, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.1)


def test_a_batch_killed_mid_run_has_its_containers_removed(tmp_path, docker_client, sandbox_image):
    source = tmp_path / "in"
    source.mkdir()
    for n in range(2):
        (source / f"s{n}.py").write_text(ENDLESS + f"# {n}\n")
    # Started as a script that puts this checkout on sys.path (as bench/ does), from elsewhere: the
    # watchdog must import this checkout's grader too, not whichever one is installed.
    batch = subprocess.Popen(
        [sys.executable, "-c", BATCH, str(source), "--out", str(tmp_path / "out"), "--jobs", "2", "--timeout", "120"],
        cwd=tmp_path, env={k: v for k, v in os.environ.items() if k != "PYTHONPATH"},
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        _wait_until(lambda: len(_containers_of(docker_client, batch.pid)) == 2, 60, "both runs to start")
    finally:
        os.kill(batch.pid, signal.SIGKILL)
        batch.wait(10)
    _wait_until(lambda: _containers_of(docker_client, batch.pid) == [], 10, "the killed batch's containers to go")
