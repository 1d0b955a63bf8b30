"""The `grade` command: report written, summary or JSON printed, exit codes."""

import fcntl
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


def _no_traceback(result) -> None:
    assert isinstance(result.exception, SystemExit), result.exception
    assert "Traceback" not in result.output


def _serve_on(database):
    return CliRunner().invoke(main, ["serve", "--database", str(database), "--port", str(_free_port()),
                                     "--unsafe-no-sandbox"])


def test_grade_serve_on_a_database_another_server_holds_exits_with_a_message(tmp_path):
    database = tmp_path / "service.db"
    with open(f"{database}.lock", "a+") as held:
        fcntl.flock(held, fcntl.LOCK_EX | fcntl.LOCK_NB)  # as a live server holds it
        result = _serve_on(database)
    assert result.exit_code == 1
    assert f"another grader service is using {database}" in result.output
    _no_traceback(result)


def test_grade_serve_on_a_database_in_a_missing_folder_exits_with_a_message(tmp_path):
    result = _serve_on(tmp_path / "no-such-folder" / "service.db")
    assert result.exit_code == 1
    assert "No such file or directory" in result.output
    _no_traceback(result)


def test_grade_serve_on_a_file_that_is_not_a_database_exits_with_a_message(tmp_path):
    database = tmp_path / "notes.txt"
    database.write_text("not a database, just some notes that happen to be long enough to be read\n" * 10)
    result = _serve_on(database)
    assert result.exit_code == 1
    assert "cannot be used as the service's database" in result.output
    _no_traceback(result)


def test_a_configuration_file_that_is_not_toml_is_a_usage_error(tmp_path):
    config = tmp_path / "service.toml"
    config.write_text("this is = = not toml\n")
    result = CliRunner().invoke(main, ["serve", "--config", str(config)])
    assert result.exit_code == 2
    assert "not valid TOML" in result.output
    _no_traceback(result)


def test_a_report_path_that_cannot_be_written_exits_with_a_message(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    result = CliRunner().invoke(main, [CORRECT_FILE, "--unsafe-no-sandbox", "--report", str(blocker / "r.json")])
    assert result.exit_code == 1
    assert f"cannot write the report to {blocker / 'r.json'}" in result.output
    _no_traceback(result)


def test_checks_that_did_not_run_exit_with_a_message(tmp_path, monkeypatch):
    import grader.pytest_run

    def unusable(*args, **kwargs):
        raise pytest.UsageError("no such option")

    monkeypatch.setattr(grader.pytest_run, "_prepareconfig", unusable)
    result = CliRunner().invoke(main, [CORRECT_FILE, "--unsafe-no-sandbox", "--report", str(tmp_path / "r.json")])
    assert result.exit_code == 1
    assert "the checks did not run" in result.output
    _no_traceback(result)


@pytest.mark.slow
def test_grade_serve_on_a_port_in_use_exits_with_a_message(tmp_path):
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = CliRunner().invoke(main, ["serve", "--database", str(tmp_path / "service.db"), "--port", str(port),
                                           "--unsafe-no-sandbox"])
    assert result.exit_code == 1
    assert f"the service could not start on 127.0.0.1:{port}" in result.output
    _no_traceback(result)
