"""Queue settings: the visibility timeout must outlast the longest grading task; workers stay sandboxed."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from grader.jobs.settings import QueueSettings, WorkerSettings
from grader.jobs.tasks import celery_config


def test_the_defaults_leave_the_visibility_timeout_above_the_task_time_limit():
    settings = QueueSettings()
    assert settings.time_limit_seconds == 100
    assert settings.visibility_timeout_seconds == 120


def test_a_task_waits_on_a_sandbox_outage_for_at_most_half_the_cap():
    assert QueueSettings().task_sandbox_wait_seconds == 25
    assert QueueSettings(grade_timeout_cap_seconds=120, visibility_timeout_seconds=300).task_sandbox_wait_seconds == 30


def test_a_visibility_timeout_shorter_than_a_task_is_refused():
    with pytest.raises(ValidationError, match="must exceed the task time limit"):
        QueueSettings(grade_timeout_cap_seconds=120, visibility_timeout_seconds=200)


def test_results_go_to_the_broker_unless_told_otherwise():
    assert QueueSettings(broker_url="redis://127.0.0.1:1/0").results_url == "redis://127.0.0.1:1/0"
    assert QueueSettings(result_backend_url="redis://127.0.0.1:2/1").results_url == "redis://127.0.0.1:2/1"


def test_settings_come_from_grader_environment_variables(monkeypatch):
    monkeypatch.setenv("GRADER_BROKER_URL", "redis://127.0.0.1:7/3")
    monkeypatch.setenv("GRADER_TASK_MAX_ATTEMPTS", "5")
    settings = QueueSettings()
    assert (settings.broker_url, settings.task_max_attempts) == ("redis://127.0.0.1:7/3", 5)


def test_celery_is_configured_for_json_late_acks_and_one_task_per_process():
    config = celery_config(QueueSettings())
    assert (config["task_serializer"], config["result_serializer"], config["accept_content"]) == (
        "json", "json", ["json"])
    assert config["task_acks_late"] and config["task_reject_on_worker_lost"]
    assert config["worker_prefetch_multiplier"] == 1
    assert config["broker_transport_options"]["visibility_timeout"] == 120
    assert config["task_time_limit"] == 100


def test_the_worker_refuses_the_process_backend_without_the_unsafe_setting():
    with pytest.raises(ValidationError, match="unsafe_no_sandbox"):
        WorkerSettings(grade_backend="process")


def test_the_worker_refuses_the_process_backend_from_the_environment(monkeypatch):
    monkeypatch.setenv("GRADER_GRADE_BACKEND", "process")
    with pytest.raises(ValidationError, match="bwrap"):
        WorkerSettings()


def test_the_worker_takes_the_process_backend_with_the_unsafe_setting(monkeypatch):
    monkeypatch.setenv("GRADER_GRADE_BACKEND", "process")
    monkeypatch.setenv("GRADER_UNSAFE_NO_SANDBOX", "1")
    assert WorkerSettings().grade_backend == "process"


def test_a_sender_does_not_judge_the_workers_sandbox(monkeypatch):
    monkeypatch.setenv("GRADER_GRADE_BACKEND", "process")
    assert QueueSettings().broker_url
