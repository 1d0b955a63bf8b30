"""`grade worker`: options, and refusals before anything connects."""

from __future__ import annotations

from click.testing import CliRunner

from grader.queue.command import worker_command


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
