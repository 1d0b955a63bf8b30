"""`grade batch` through a real sandbox outage: it waits for the daemon, then grades on; or stops in time.

The workers reach the real daemon through a proxy the test cuts and restores (tests/sandbox/docker_proxy.py).
"""

from __future__ import annotations

import io
import os
import threading
import time
from pathlib import Path

import pytest

from grader.batch.progress import LogProgress
from grader.batch.run import LOG_NAME, grade_batch
from grader.errors import SandboxOutage
from grader.sandbox.docker import LABEL, OWNER_LABEL, owner
from tests.batch.conftest import correct, write_tree
from tests.jobs.conftest import children
from tests.sandbox.conftest import proxy  # noqa: F401  (re-used fixture)

pytestmark = [pytest.mark.slow, pytest.mark.docker]

CLASS_SIZE = 6


def _class(tmp_path: Path) -> Path:
    return write_tree(tmp_path / "in", {f"s{n}.py": correct(f"s{n}") for n in range(CLASS_SIZE)})


def _reports(out: Path) -> list[Path]:
    folder = out / "reports"
    return sorted(folder.glob("*.json")) if folder.exists() else []


def _cut_after_first_report(proxy, out: Path, outage_seconds: float, restored: list[float],  # noqa: F811
                            docker_client) -> threading.Thread:  # noqa: F811
    """Cut the daemon once a report is written and a run of this process is in its container."""
    def run() -> None:
        deadline = time.monotonic() + 120
        while not _reports(out) and time.monotonic() < deadline:
            time.sleep(0.05)
        ours = {"label": f"{OWNER_LABEL}={owner()}"}
        while not docker_client.containers(filters=ours) and time.monotonic() < deadline:
            time.sleep(0.02)
        proxy.cut()
        if outage_seconds:
            time.sleep(outage_seconds)
            restored.append(time.time())
            proxy.restore()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


class _Workers:
    """The pids that may own this test's sandbox containers: this process (the pool's threads grade
    here) and any child process seen while the batch runs."""

    def __init__(self) -> None:
        self.pids: set[str] = {str(os.getpid())}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)
        self._thread.start()

    def _watch(self) -> None:
        while not self._stop.wait(0.1):
            self.pids |= {str(pid) for pid in children(os.getpid())}

    def containers_left(self, docker_client) -> list[str]:
        self._stop.set()
        self._thread.join(5)
        return [container["Id"][:12] for container in docker_client.containers(all=True, filters={"label": LABEL})
                if container["Labels"][OWNER_LABEL].split(":")[1] in self.pids]


def test_the_batch_waits_out_an_outage_and_every_student_gets_a_true_grade(
    tmp_path, proxy, docker_client, sandbox_image, monkeypatch,  # noqa: F811
):
    monkeypatch.setenv("DOCKER_HOST", proxy.url)
    out = tmp_path / "out"
    restored: list[float] = []
    cutter = _cut_after_first_report(proxy, out, 3.0, restored, docker_client)
    workers = _Workers()
    lines = io.StringIO()
    result = grade_batch(_class(tmp_path), out, jobs=2, backend="docker", progress=LogProgress(lines, interval=3600),
                         sandbox_wait=60)
    cutter.join(10)
    assert {report.status for report in result.reports.values()} == {"graded"}
    assert all(report.score == report.max_score > 0 for report in result.reports.values())
    assert result.graded == CLASS_SIZE
    # One sandbox run recorded per file: none was graded twice or recorded as failed.
    assert len((out / LOG_NAME).read_text().splitlines()) == CLASS_SIZE
    text = lines.getvalue()
    assert "the sandbox does not answer" in text and "grading resumes" in text
    first_after = min(os.stat(path).st_mtime for path in _reports(out) if os.stat(path).st_mtime >= restored[0])
    print(f"\nMEASURED batch: first report written {first_after - restored[0]:.2f} s after the sandbox returned")
    assert workers.containers_left(docker_client) == []


def test_the_batch_stops_when_the_sandbox_stays_away_and_keeps_what_it_graded(
    tmp_path, proxy, docker_client, sandbox_image, monkeypatch,  # noqa: F811
):
    monkeypatch.setenv("DOCKER_HOST", proxy.url)
    out = tmp_path / "out"
    cutter = _cut_after_first_report(proxy, out, 0.0, [], docker_client)
    workers = _Workers()
    lines = io.StringIO()
    with pytest.raises(SandboxOutage, match="did not return within 0:02"):
        grade_batch(_class(tmp_path), out, jobs=2, backend="docker", progress=LogProgress(lines, interval=3600),
                    sandbox_wait=2)
    cutter.join(10)
    kept = _reports(out)
    assert 1 <= len(kept) < CLASS_SIZE
    assert "waiting up to 0:02" in lines.getvalue()
    proxy.restore()
    resumed = grade_batch(_class(tmp_path), out, jobs=2, backend="docker", progress=LogProgress(io.StringIO()))
    assert resumed.resumed == len(kept) and resumed.graded == CLASS_SIZE - len(kept)
    assert {report.status for report in resumed.reports.values()} == {"graded"}
    assert workers.containers_left(docker_client) == []
