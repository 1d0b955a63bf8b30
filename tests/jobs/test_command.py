"""`grade worker`: options, and refusals before anything connects."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from grader.jobs.command import worker_command
from grader.sandbox import UNSANDBOXED_WARNING


def test_the_worker_offers_broker_concurrency_backend_and_queue_options():
    result = CliRunner().invoke(worker_command, ["--help"])
    assert result.exit_code == 0
    for option in ("--broker URL", "--concurrency", "--sandbox [docker|", "--unsafe-no-sandbox", "--queue NAME"):
        assert option in result.output
    assert "process" not in result.output.split("--sandbox", 1)[1].split("]", 1)[0]


def test_a_visibility_timeout_shorter_than_grading_is_a_usage_error(monkeypatch):
    monkeypatch.setenv("GRADER_VISIBILITY_TIMEOUT_SECONDS", "10")
    result = CliRunner().invoke(worker_command, ["--broker", "redis://127.0.0.1:1/0", "--unsafe-no-sandbox"])
    assert result.exit_code == 2
    assert "must exceed the task time limit" in result.output


def test_the_process_backend_from_the_environment_is_a_usage_error(monkeypatch):
    monkeypatch.setenv("GRADER_GRADE_BACKEND", "process")
    result = CliRunner().invoke(worker_command, ["--broker", "redis://127.0.0.1:1/0"])
    assert result.exit_code == 2
    assert "unsafe_no_sandbox" in result.output


@pytest.mark.slow
def test_an_unsandboxed_worker_warns_in_its_log(start_worker):
    worker = start_worker("unsafe", backend="process")
    assert UNSANDBOXED_WARNING in worker.log.read_text(errors="replace")
