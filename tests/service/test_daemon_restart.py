"""The real Docker daemon restarted (stopped, then started as scripts/install-docker.sh does) while the
service grades: every accepted submission still ends with its true grade.

It stops the machine's daemon, so it runs only where that is allowed: in CI (CI=true) or when
GRADER_TEST_RESTART_DOCKER=1. Whatever happens, the daemon is started again and answers before the
test ends.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from tests.sandbox.conftest import docker_client, sandbox_image  # noqa: F401  (re-used fixtures)
from tests.service.conftest import REPO
from tests.service.test_outage import _check_true_grades, _containers_of, _first_finished_after, _post

pytestmark = [
    pytest.mark.slow,
    pytest.mark.docker,
    pytest.mark.skipif(os.environ.get("CI") != "true" and os.environ.get("GRADER_TEST_RESTART_DOCKER") != "1",
                       reason="restarts the machine's Docker daemon: only in CI or with GRADER_TEST_RESTART_DOCKER=1"),
]

STOP_WAIT_SECONDS = 60


def _dockerd_pids() -> list[int]:
    """The dockerd processes, read from /proc (the daemon only: never containerd or anything else)."""
    pids = []
    for comm in Path("/proc").glob("[0-9]*/comm"):
        try:
            if comm.read_text().strip() == "dockerd":
                pids.append(int(comm.parent.name))
        except OSError:
            continue
    return pids


def _stop_dockerd() -> None:
    """SIGTERM the daemon, as an upgrade or `systemctl restart docker` does, and wait until it is gone."""
    [pid] = _dockerd_pids()
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + STOP_WAIT_SECONDS
    while Path(f"/proc/{pid}").exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not Path(f"/proc/{pid}").exists(), "dockerd did not stop"


def _start_dockerd() -> None:
    """Start the daemon the way the project's setup does, and wait until it answers."""
    subprocess.run(["bash", str(REPO / "scripts" / "install-docker.sh")], check=True, timeout=120)


def test_a_restarted_daemon_costs_no_grade(start_service, lms, docker_client, sandbox_image):  # noqa: F811
    service = start_service(grade_function="grader.engine:grade", grade_backend="docker", max_job_attempts=1)
    job_ids = [_post(service, lms, f"s{n}") for n in range(6)]
    service.wait_for(job_ids[0], lambda status: status["state"] == "running", seconds=60)
    time.sleep(0.5)
    try:
        _stop_dockerd()
        time.sleep(2.0)
        assert service.http.get(f"{service.url}/readyz").status_code == 503
    finally:
        _start_dockerd()
    restored = time.time()
    _check_true_grades(service, lms, job_ids)
    print(f"\nMEASURED daemon restart: first job graded {_first_finished_after(service.database, restored):.2f} s "
          "after the daemon answered again")
    assert _containers_of(docker_client, service) == []
