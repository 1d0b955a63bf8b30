"""`grade batch`: options reach grade_batch, and the exit code follows the documented policy."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from grader.batch.command import EXIT_BELOW, EXIT_GRADER_FAILED, batch_command
from grader.batch.run import grade_batch
from tests.batch.conftest import correct, mistaken, write_tree, write_zip

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def two_students(tmp_path):
    """alice scores 80 of 80, carol 68 of 80."""
    return write_tree(tmp_path / "in", {"alice.py": correct(), "carol.py": mistaken()})


def _run(*args: str):
    return CliRunner().invoke(batch_command, [*args, "--unsafe-no-sandbox", "--jobs", "2"])


def test_exit_zero_without_fail_under_whatever_the_scores(two_students, tmp_path):
    result = _run(str(two_students), "--out", str(tmp_path / "out"))
    assert result.exit_code == 0, result.output
    assert "2 students: 2 graded" in result.output
    assert (tmp_path / "out" / "summary.html").exists()


@pytest.mark.parametrize(("threshold", "code"), [("68", 0), ("69", EXIT_BELOW), ("85%", 0), ("86%", EXIT_BELOW)])
def test_fail_under_fails_the_job_when_any_student_is_below(two_students, tmp_path, threshold, code):
    result = _run(str(two_students), "--out", str(tmp_path / "out"), "--fail-under", threshold)
    assert result.exit_code == code, result.output
    if code:
        assert "carol: 68" in result.output


def test_missing_roster_students_count_as_zero_for_fail_under(two_students, tmp_path):
    roster = tmp_path / "roster.csv"
    roster.write_text("student_id\nalice\ncarol\nzoe\n")
    result = _run(str(two_students), "--out", str(tmp_path / "out"), "--roster", str(roster), "--fail-under", "1")
    assert result.exit_code == EXIT_BELOW
    assert "zoe: 0" in result.output


def test_a_bad_id_pattern_is_a_usage_error(two_students, tmp_path):
    result = _run(str(two_students), "--out", str(tmp_path / "out"), "--id-pattern", "(unclosed")
    assert result.exit_code == 2
    assert "--id-pattern is not a valid regular expression" in result.output


def test_an_archive_mixing_two_lms_namings_is_a_usage_error_naming_the_strays(tmp_path):
    archive = write_zip(tmp_path / "mixed.zip", {"vic_4242_10_solution.py": correct("v"),
                                                 "amy_5_12_solution.py": correct("a"),
                                                 "Eve_1111_assignsubmission_file_solution.py": correct("e")})
    result = _run(str(archive), "--out", str(tmp_path / "out"))
    assert result.exit_code == 2, result.output
    assert "Eve_1111_assignsubmission_file_solution.py" in result.output and "--id-pattern" in result.output
    assert not (tmp_path / "out" / "reports").exists()


def test_a_conflict_counts_as_zero_for_fail_under(tmp_path):
    write_tree(tmp_path / "in", {"alice.py": correct(), "Jane Smith.py": correct("1"), "Jane_Smith.py": correct("2")})
    result = _run(str(tmp_path / "in"), "--out", str(tmp_path / "out"), "--fail-under", "1")
    assert result.exit_code == EXIT_BELOW, result.output
    assert "1 conflict" in result.output and "Jane_Smith: 0" in result.output


def test_a_bad_fail_under_is_a_usage_error(two_students, tmp_path):
    result = _run(str(two_students), "--out", str(tmp_path / "out"), "--fail-under", "120%")
    assert result.exit_code == 2


def test_a_sandbox_that_stays_away_exits_with_the_grader_failure_code_after_the_wait(
    two_students, tmp_path, monkeypatch,
):
    # A Docker host that does not answer: the batch waits --sandbox-wait seconds for it, then stops.
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/no-such.sock")
    result = CliRunner().invoke(batch_command, [str(two_students), "--out", str(tmp_path / "out"),
                                                "--sandbox-wait", "1"])
    assert result.exit_code == EXIT_GRADER_FAILED, result.output
    assert "waiting up to 0:01" in result.output
    assert "the sandbox did not return within 0:01" in result.output and "Docker" in result.output


def test_an_out_folder_that_cannot_be_created_exits_with_the_grader_failure_code(two_students, tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    result = _run(str(two_students), "--out", str(blocker / "out"))
    assert result.exit_code == EXIT_GRADER_FAILED
    assert f"cannot read or write {blocker / 'out'}" in result.output
    assert isinstance(result.exception, SystemExit) and "Traceback" not in result.output


def _report_count(out: Path) -> int:
    return len(list((out / "reports").glob("*.json"))) if (out / "reports").exists() else 0


@pytest.mark.slow
def test_ctrl_c_stops_the_batch_with_130_and_a_rerun_resumes(tmp_path):
    source = write_tree(tmp_path / "in", {f"s{n:02d}.py": correct(f"s{n}") for n in range(20)})
    out = tmp_path / "out"
    batch = subprocess.Popen(
        [sys.executable, "-m", "grader", "batch", str(source), "--out", str(out), "--unsafe-no-sandbox", "--jobs", "2"],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    deadline = time.monotonic() + 120
    while _report_count(out) < 2:
        assert time.monotonic() < deadline and batch.poll() is None, "no reports were written"
        time.sleep(0.05)
    os.kill(batch.pid, signal.SIGINT)
    _, stderr = batch.communicate(timeout=30)
    assert batch.returncode == 130
    assert "interrupted: every finished report is kept" in stderr and "Traceback" not in stderr
    kept = _report_count(out)
    assert kept < 20, "the interrupt came too late"
    resumed = grade_batch(source, out, jobs=2, backend="process")
    assert (resumed.resumed, resumed.graded) == (kept, 20 - kept)
