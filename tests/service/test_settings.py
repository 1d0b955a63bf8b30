"""Service settings: the unsandboxed backend only behind the loudly named setting."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from grader.sandbox import UNSANDBOXED_WARNING
from grader.service.settings import load_settings


def test_the_process_backend_is_refused_without_the_unsafe_setting():
    with pytest.raises(ValidationError, match="unsafe_no_sandbox"):
        load_settings(grade_backend="process")


def test_the_process_backend_from_the_environment_is_refused(monkeypatch):
    monkeypatch.setenv("GRADER_GRADE_BACKEND", "process")
    with pytest.raises(ValidationError, match="bwrap"):
        load_settings()


def test_the_process_backend_from_a_toml_file_is_refused(tmp_path):
    config = tmp_path / "grader.toml"
    config.write_text('grade_backend = "process"\n')
    with pytest.raises(ValidationError, match="unsafe_no_sandbox"):
        load_settings(config_file=config)


def test_the_unsafe_setting_in_a_toml_file_allows_the_process_backend(tmp_path):
    config = tmp_path / "grader.toml"
    config.write_text('grade_backend = "process"\nunsafe_no_sandbox = true\n')
    assert load_settings(config_file=config).grade_backend == "process"


def test_the_unsafe_setting_from_the_environment_allows_the_process_backend(monkeypatch):
    monkeypatch.setenv("GRADER_GRADE_BACKEND", "process")
    monkeypatch.setenv("GRADER_UNSAFE_NO_SANDBOX", "true")
    assert load_settings().grade_backend == "process"


@pytest.mark.slow
def test_an_unsandboxed_service_warns_in_its_log(start_service):
    service = start_service(grade_backend="process", unsafe_no_sandbox="1")
    assert f"WARNING grader.service.runtime: {UNSANDBOXED_WARNING}" in service.log.read_text()
