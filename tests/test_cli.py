"""The `grade` command: report written, summary or JSON printed, exit codes."""

import json
import subprocess
import sys
import time

import httpx
import pytest
from click.testing import CliRunner

from grader.cli import main
from tests.conftest import CORRECT, NON_FINITE_COST, ROOT, strict_json_loads

CORRECT_FILE = str(CORRECT / "template_with_seed.py")


def test_grade_writes_the_report_and_prints_a_summary(tmp_path):
    report = tmp_path / "r.json"
    result = CliRunner().invoke(main, [CORRECT_FILE, "--unsafe-no-sandbox", "--report", str(report)])
    assert result.exit_code == 0, result.output
    assert "80 / 80" in result.output and "compute_cost_with_regularization" in result.output
    assert json.loads(report.read_text())["score"] == 80


def test_json_flag_prints_the_report(tmp_path):
    result = CliRunner().invoke(main, [CORRECT_FILE, "--unsafe-no-sandbox", "--json", "--report", str(tmp_path / "r.json")])
    assert result.exit_code == 0
    assert json.loads(result.stdout)["status"] == "graded"


def test_json_output_and_report_file_parse_strictly_when_the_cost_is_not_finite(tmp_path):
    report = tmp_path / "r.json"
    result = CliRunner().invoke(main, [str(NON_FINITE_COST), "--unsafe-no-sandbox", "--json", "--report", str(report)])
    assert result.exit_code == 0, result.output
    printed, written = strict_json_loads(result.stdout), strict_json_loads(report.read_text())
    assert printed == written
    cost = written["functions"]["compute_cost_with_regularization"]["cases"][0]["outputs"]["cost"]
    assert "NaN or infinity" in cost["message"] and cost["max_abs_error"] is None


def test_a_zero_score_still_exits_zero(tmp_path):
    empty = tmp_path / "empty.py"
    empty.write_text("")
    result = CliRunner().invoke(main, [str(empty), "--unsafe-no-sandbox", "--report", str(tmp_path / "r.json")])
    assert result.exit_code == 0
    assert "rejected" in result.output


@pytest.mark.parametrize(("source", "status"), [
    ((CORRECT / "template_with_seed.py").read_text(), "graded"),
    ("", "rejected"),
    ("def compute_cost_with_regularization(A3, Y, parameters, lambd:\n    return 0\n", "error"),
])
def test_the_report_written_and_printed_is_schema_valid_whatever_the_status(tmp_path, report_validator, source, status):
    submission, report = tmp_path / "submission.py", tmp_path / "r.json"
    submission.write_text(source)
    result = CliRunner().invoke(main, [str(submission), "--unsafe-no-sandbox", "--json", "--report", str(report)])
    assert result.exit_code == 0, result.output
    written = json.loads(report.read_text())
    assert written["status"] == status
    report_validator.validate(written)
    report_validator.validate(json.loads(result.stdout))


def test_unsafe_mode_warns_loudly(tmp_path):
    result = CliRunner().invoke(main, [CORRECT_FILE, "--unsafe-no-sandbox", "--report", str(tmp_path / "r.json")])
    assert "NOT a sandbox" in result.stderr or "WARNING" in result.stderr


def test_missing_file_is_a_usage_error():
    result = CliRunner().invoke(main, ["no-such-file.py"])
    assert result.exit_code == 2


def test_python_dash_m_grader_runs_the_command(tmp_path):
    completed = subprocess.run(
        [sys.executable, "-m", "grader", CORRECT_FILE, "--unsafe-no-sandbox", "--report", str(tmp_path / "r.json")],
        capture_output=True, text=True, cwd=ROOT, timeout=60,
    )
    assert completed.returncode == 0, completed.stderr
    assert "80 / 80" in completed.stdout


def _free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.mark.slow
def test_grade_serve_answers_health_checks(tmp_path):
    port = _free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "grader", "serve", "--host", "127.0.0.1", "--port", str(port),
         "--database", str(tmp_path / "service.db"), "--unsafe-no-sandbox"],
        cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                assert httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline, "the service did not start"
                time.sleep(0.2)
    finally:
        server.terminate()
        server.wait(timeout=15)


def test_invalid_service_settings_are_a_usage_error(monkeypatch):
    monkeypatch.setenv("GRADER_WORKERS", "not-a-number")
    result = CliRunner().invoke(main, ["serve"])
    assert result.exit_code == 2
