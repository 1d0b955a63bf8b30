"""Service settings: the unsandboxed backend only behind the loudly named setting; origins in normal form."""

from __future__ import annotations

import base64

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


def _client(**fields):
    return {"secret": "whsec_" + base64.b64encode(b"x" * 32).decode()} | fields


def _platform(**fields):
    return {"client_id": "tool", "token_url": "https://lms.example.edu/token", "private_key_file": "tool.pem"} | fields


@pytest.mark.parametrize(
    ("origin", "reason"),
    [("https://lms.example.edu/api/", "without a path"), ("https://lms@attacker.test", "user information"),
     ("javascript://lms.example.edu", "only http and https")],
)
def test_a_callback_origin_that_is_not_scheme_host_and_port_is_a_config_error(origin, reason):
    with pytest.raises(ValidationError, match=reason):
        load_settings(clients={"lms": _client(callback_origins=[origin])})


def test_origins_are_kept_in_their_normal_form():
    settings = load_settings(clients={"lms": _client(callback_origins=["HTTPS://LMS.Example.edu:443/"])})
    assert settings.clients["lms"].callback_origins == ["https://lms.example.edu"]


def test_an_lti_platform_without_origins_is_a_config_error():
    with pytest.raises(ValidationError, match="origins"):
        load_settings(clients={"lms": _client(lti=_platform())})


def test_a_token_url_with_user_information_is_a_config_error():
    with pytest.raises(ValidationError, match="user information"):
        load_settings(clients={"lms": _client(lti=_platform(token_url="https://lms.example.edu@x.test/token",
                                                             origins=["https://lms.example.edu"]))})
