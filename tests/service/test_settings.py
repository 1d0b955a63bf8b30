"""Service settings: each client's own secrets and tokens, and refusals of configurations that mix tenants."""

from __future__ import annotations

import base64

import pytest
from pydantic import ValidationError

from grader.service.settings import ServiceSettings


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
