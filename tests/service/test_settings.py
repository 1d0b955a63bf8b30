"""Service settings: each client's own secrets and tokens, refusals of configurations that mix tenants,
the unsandboxed backend only behind the loudly named setting, and origins in normal form."""

from __future__ import annotations

import base64

import pytest
from pydantic import ValidationError

from grader.sandbox import UNSANDBOXED_WARNING
from grader.service.settings import ServiceSettings, load_settings


def _secret(seed: str) -> str:
    return "whsec_" + base64.b64encode(seed.encode().ljust(32, b".")).decode()


def _client(name: str, **fields) -> dict:
    return {"secret": _secret(f"{name}-in"), "callback_secret": _secret(f"{name}-out"), **fields}


def test_each_client_has_its_own_callback_secret_and_tokens():
    settings = ServiceSettings(
        clients={"a": _client("a", api_tokens=["tok-a"]), "b": _client("b")}, admin_tokens=["tok-admin"]
    )
    assert settings.clients["a"].callback_secret.get_secret_value() == _secret("a-out")
    assert [t.get_secret_value() for t in settings.clients["a"].api_tokens] == ["tok-a"]
    assert settings.clients["b"].api_tokens == []


def test_one_callback_secret_for_all_clients_is_refused_with_a_migration_message():
    with pytest.raises(ValidationError, match=r"clients\.<name>\.callback_secret"):
        ServiceSettings(clients={"a": _client("a")}, callback_secret=_secret("shared"))


def test_global_api_tokens_are_refused_with_a_migration_message():
    with pytest.raises(ValidationError, match="admin_tokens"):
        ServiceSettings(clients={"a": _client("a")}, api_tokens=["tok"])


def test_two_clients_sharing_a_callback_secret_are_refused():
    shared = _secret("shared")
    with pytest.raises(ValidationError, match=r"clients\.a\.callback_secret and clients\.b\.callback_secret"):
        ServiceSettings(clients={"a": _client("a", callback_secret=shared), "b": _client("b", callback_secret=shared)})


def test_a_callback_secret_that_is_another_clients_request_secret_is_refused():
    # b's receiver would learn the key a signs its submissions with.
    with pytest.raises(ValidationError, match=r"clients\.a\.secret and clients\.b\.callback_secret"):
        ServiceSettings(clients={"a": _client("a"), "b": _client("b", callback_secret=_secret("a-in"))})


def test_two_clients_sharing_a_request_secret_are_refused():
    with pytest.raises(ValidationError, match=r"clients\.a\.secret and clients\.b\.secret"):
        ServiceSettings(clients={"a": _client("a"), "b": _client("b", secret=_secret("a-in"))})


def test_a_token_held_by_two_clients_or_a_client_and_the_admins_is_refused():
    with pytest.raises(ValidationError, match=r"clients\.a\.api_tokens and clients\.b\.api_tokens"):
        ServiceSettings(clients={"a": _client("a", api_tokens=["t"]), "b": _client("b", api_tokens=["t"])})
    with pytest.raises(ValidationError, match=r"clients\.a\.api_tokens and admin_tokens"):
        ServiceSettings(clients={"a": _client("a", api_tokens=["t"])}, admin_tokens=["t"])


def test_refusals_do_not_print_the_secret():
    shared = _secret("shared")
    with pytest.raises(ValidationError) as refused:
        ServiceSettings(clients={"a": _client("a", callback_secret=shared), "b": _client("b", callback_secret=shared)})
    assert shared not in str(refused.value)


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


def _platform(**fields):
    return {"client_id": "tool", "token_url": "https://lms.example.edu/token", "private_key_file": "tool.pem"} | fields


@pytest.mark.parametrize(
    ("origin", "reason"),
    [("https://lms.example.edu/api/", "without a path"), ("https://lms@attacker.test", "user information"),
     ("javascript://lms.example.edu", "only http and https")],
)
def test_a_callback_origin_that_is_not_scheme_host_and_port_is_a_config_error(origin, reason):
    with pytest.raises(ValidationError, match=reason):
        load_settings(clients={"lms": _client("lms", callback_origins=[origin])})


def test_origins_are_kept_in_their_normal_form():
    settings = load_settings(clients={"lms": _client("lms", callback_origins=["HTTPS://LMS.Example.edu:443/"])})
    assert settings.clients["lms"].callback_origins == ["https://lms.example.edu"]


def test_an_lti_platform_without_origins_is_a_config_error():
    with pytest.raises(ValidationError, match="origins"):
        load_settings(clients={"lms": _client("lms", lti=_platform())})


def test_a_token_url_with_user_information_is_a_config_error():
    with pytest.raises(ValidationError, match="user information"):
        load_settings(clients={"lms": _client("lms", lti=_platform(token_url="https://lms.example.edu@x.test/token",
                                                             origins=["https://lms.example.edu"]))})


@pytest.mark.parametrize("where", ["client", "lti"])
def test_a_misspelt_key_in_a_client_is_a_config_error(where):
    # A typo must not silently drop a secret or an origin list.
    client = _client("lms", callback_origins=["https://lms.example.edu"], lti=_platform(origins=["https://lms.example.edu"]))
    if where == "client":
        client["callback_secrt"] = _secret("typo")
    else:
        client["lti"]["orgins"] = ["https://other.example.edu"]
    with pytest.raises(ValidationError, match="Extra inputs are not permitted"):
        load_settings(clients={"lms": client})


def _launching(**fields) -> dict:
    return _platform(
        origins=["https://sso.canvaslms.com", "https://school.instructure.com"], issuer="https://canvas.instructure.com",
        deployment_ids=["1:abc"], auth_login_url="https://sso.canvaslms.com/api/lti/authorize_redirect",
        jwks_url="https://sso.canvaslms.com/api/lti/security/jwks",
    ) | fields


def test_a_platform_users_launch_from_has_its_issuer_deployments_and_urls():
    settings = load_settings(clients={"lms": _client("lms", lti=_launching())})
    assert settings.clients["lms"].lti.launches
    assert settings.clients["lms"].lti.deployment_ids == ["1:abc"]


def test_a_platform_for_scores_only_needs_no_launch_fields():
    settings = load_settings(clients={"lms": _client("lms", lti=_platform(origins=["https://lms.example.edu"]))})
    assert not settings.clients["lms"].lti.launches


def test_a_half_configured_launch_registration_is_refused():
    with pytest.raises(ValidationError, match="missing \\['auth_login_url', 'jwks_url'"):
        load_settings(clients={"lms": _client("lms", lti=_platform(
            origins=["https://lms.example.edu"], issuer="https://lms.example.edu", deployment_ids=["1"]))})


def test_a_jwks_url_off_the_platforms_origins_is_refused():
    with pytest.raises(ValidationError, match="jwks_url"):
        load_settings(clients={"lms": _client("lms", lti=_launching(jwks_url="https://keys.example/jwks"))})


def test_one_issuer_and_client_id_registered_for_two_clients_is_refused():
    with pytest.raises(ValidationError, match=r"clients\.a\.lti and clients\.b\.lti register the same one"):
        load_settings(clients={"a": _client("a", lti=_launching()), "b": _client("b", lti=_launching())})


def test_one_issuer_with_two_client_ids_may_serve_two_clients():
    settings = load_settings(clients={"a": _client("a", lti=_launching()),
                                      "b": _client("b", lti=_launching(client_id="tool-2"))})
    assert {c.lti.client_id for c in settings.clients.values()} == {"tool", "tool-2"}


def test_a_registration_invitation_token_used_elsewhere_is_refused():
    invite = {"token": "x" * 40, "origins": ["https://lms.example.edu"], "private_key_file": "tool.pem"}
    with pytest.raises(ValidationError, match=r"clients\.a\.api_tokens and clients\.a\.lti_registration\.token"):
        load_settings(clients={"a": _client("a", api_tokens=["x" * 40], lti_registration=invite)})


def test_a_short_registration_invitation_token_is_refused():
    invite = {"token": "short", "origins": ["https://lms.example.edu"], "private_key_file": "tool.pem"}
    with pytest.raises(ValidationError, match="token"):
        load_settings(clients={"a": _client("a", lti_registration=invite)})
