"""Kill a real batch process with SIGKILL mid-run, re-run it: nothing lost, nothing graded twice."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from grader.batch.run import LOG_NAME, grade_batch
from tests.batch.conftest import BROKEN, correct, mistaken, write_tree

ROOT = Path(__file__).resolve().parents[2]
STUDENTS = 40
KILL_AFTER_RUNS = 6
BATCH = "from grader.batch.command import batch_command; batch_command()"


def _class(root: Path) -> Path:
    """40 distinct files (a comment makes each unique): correct, mistaken and broken."""
    makers = (correct, mistaken, lambda marker: BROKEN + f"# {marker}\n")
    return write_tree(root, {f"s{index:02d}.py": makers[index % 3](f"student {index}") for index in range(STUDENTS)})


def _log(out: Path) -> list[dict]:
    """The grading log; a line cut short by the kill is not a finished run."""
    entries = []
    for line in (out / LOG_NAME).read_text().splitlines():
        try:
            entries.append(json.loads(line))
        except json.JSONDecodeError:
            continue
    return entries


def _children(pid: int) -> list[int]:
    """Pids whose parent is `pid` (the pool's workers and its resource tracker)."""
    children = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rpartition(")")[2].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            children.append(int(stat.parent.name))
    return children


def _alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0] != "Z"
    except OSError:
        return False


def _wait_until(predicate, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


@pytest.mark.slow
def test_sigkill_mid_batch_then_rerun_loses_nothing_and_grades_nothing_twice(tmp_path):
    source, out = _class(tmp_path / "class"), tmp_path / "out"
    batch = subprocess.Popen(
        [sys.executable, "-c", BATCH, str(source), "--out", str(out), "--unsafe-no-sandbox", "--jobs", "2"],
        cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        _wait_until(lambda: (out / LOG_NAME).exists() and len(_log(out)) >= KILL_AFTER_RUNS, 120, "first reports")
        workers = _children(batch.pid)
        os.kill(batch.pid, signal.SIGKILL)
        batch.wait(timeout=10)
    finally:
        if batch.poll() is None:
            os.kill(batch.pid, signal.SIGKILL)
            batch.wait()
    # Orphaned workers notice their parent is gone and stop, rather than grading on or idling.
    _wait_until(lambda: not any(_alive(pid) for pid in workers), 15, f"workers {workers} to exit")

    before = {path.stem: json.loads(path.read_text()) for path in (out / "reports").glob("*.json")}
    logged_before = _log(out)
    assert KILL_AFTER_RUNS <= len(before) < STUDENTS, "the kill must land mid-batch"

    result = grade_batch(source, out, jobs=2, backend="process")

    after = {path.stem: json.loads(path.read_text()) for path in (out / "reports").glob("*.json")}
    assert sorted(after) == sorted(f"s{index:02d}" for index in range(STUDENTS))
    assert list((out / "reports").glob(".*.tmp")) == []
    # Reports written before the kill are the very same reports (same grading time) after the rerun.
    assert {student: after[student]["created_at"] for student in before} == {
        student: report["created_at"] for student, report in before.items()}
    rerun = _log(out)[len(logged_before):]
    rerun_students = [student for entry in rerun for student in entry["students"]]
    assert not set(rerun_students) & set(before), "the rerun graded a student who already had a report"
    assert sorted(rerun_students) == sorted(set(after) - set(before))
    assert result.graded == len(rerun) == STUDENTS - len(before)
    # Across both runs each distinct file was graded (and logged) at most once.
    hashes = [entry["sha256"] for entry in _log(out)]
    assert len(hashes) == len(set(hashes))
    assert {report.status for report in result.reports.values()} == {"graded", "error"}
