"""Configuration of the webhook service: environment variables prefixed `GRADER_` and a TOML file.

Precedence, highest first: values passed in code (the CLI's options), environment variables,
the TOML file named by `config_file` / `GRADER_CONFIG_FILE`, the defaults below. Nested values
use `__` in environment variables (`GRADER_CLIENTS__CANVAS__SECRET=whsec_...`) or JSON
(`GRADER_CLIENTS='{"canvas": {"secret": "whsec_..."}}'`).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    InitSettingsSource,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from grader.sandbox import require_sandbox
from grader.service.egress import EgressRefused, check_url, parse_origin, parse_url
from grader.service.signing import parse_secret


class LtiPlatform(BaseModel):
    """How we obtain LTI 1.3 AGS tokens from one platform (our tool's registration there)."""

    model_config = ConfigDict(extra="forbid")

    client_id: str = Field(description="Client id the platform issued to this tool.")
    token_url: str = Field(description="The platform's OAuth 2 token endpoint (also the JWT `aud`).")
    private_key_file: Path = Field(description="PEM RSA private key whose public half the platform holds.")
    key_id: str | None = Field(default=None, description="`kid` header of our JWT, when the platform uses a JWKS.")
    origins: list[str] = Field(
        min_length=1,
        description="Origins (scheme://host[:port]) of the platform's line items; its AGS token is sent only there.",
    )
    published_key_files: list[Path] = Field(
        default_factory=list,
        description="PEM keys whose public halves /lti/jwks.json serves besides private_key_file's: the next key"
        " before a rotation, the previous one until what it signed has expired.",
    )
    issuer: str | None = Field(default=None, description="The platform's `iss` in launches; with it, users launch the tool.")
    deployment_ids: list[str] = Field(default_factory=list, description="Deployment ids of the tool at the platform.")
    auth_login_url: str | None = Field(default=None, description="The platform's OIDC authorization endpoint.")
    jwks_url: str | None = Field(default=None, description="The platform's public keys (JWKS); on one of `origins`.")

    @field_validator("token_url", "auth_login_url")
    @classmethod
    def _url_is_plain_http(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                parse_url(value)
            except EgressRefused as error:
                raise ValueError(str(error)) from None
        return value

    @field_validator("origins")
    @classmethod
    def _origins_are_plain(cls, origins: list[str]) -> list[str]:
        return _plain_origins(origins)

    @model_validator(mode="after")
    def _launch_registration_is_whole(self) -> LtiPlatform:
        launch_fields = {"issuer": self.issuer, "auth_login_url": self.auth_login_url, "jwks_url": self.jwks_url,
                         "deployment_ids": self.deployment_ids or None}
        missing = [name for name, value in launch_fields.items() if value is None]
        if missing and len(missing) < len(launch_fields):
            raise ValueError(f"launches need issuer, deployment_ids, auth_login_url and jwks_url; missing {missing}")
        if self.jwks_url is not None:
            try:
                check_url(self.jwks_url, self.origins)
            except EgressRefused as error:
                raise ValueError(f"jwks_url is fetched by the service, so it must be on one of origins: {error}") from None
        return self

    @property
    def launches(self) -> bool:
        """Whether users can launch the tool from this platform (not only receive AGS scores)."""
        return self.issuer is not None


class LtiRegistrationInvite(BaseModel):
    """An open invitation to a platform to register the tool itself (LTI Dynamic Registration)."""

    model_config = ConfigDict(extra="forbid")

    token: SecretStr = Field(
        min_length=32, description="Secret part of the registration URL /lti/register/<token> given to the platform's admin."
    )
    origins: list[str] = Field(
        min_length=1,
        description="Origins of the platform's OpenID configuration and registration endpoint; nothing else is fetched.",
    )
    private_key_file: Path = Field(description="PEM RSA key of the registration-to-be; /lti/jwks.json serves its public half.")
    key_id: str | None = Field(default=None, description="`kid` of that key (default: its RFC 7638 thumbprint).")
    published_key_files: list[Path] = Field(default_factory=list, description="As in `lti`; none is needed here.")

    @field_validator("origins")
    @classmethod
    def _origins_are_plain(cls, origins: list[str]) -> list[str]:
        return _plain_origins(origins)


class ClientSettings(BaseModel):
    """One LMS allowed to post submissions."""

    # A misspelt key would otherwise drop a secret or an origin list without a word.
    model_config = ConfigDict(extra="forbid")

    secret: SecretStr = Field(description="`whsec_` secret the client signs its requests with.")
    callback_secret: SecretStr | None = Field(
        default=None, description="Our `whsec_` secret for signing this client's callbacks; required for callbacks."
    )
    api_tokens: list[SecretStr] = Field(
        default_factory=list, description="Bearer tokens that read this client's jobs (and no other client's)."
    )
    callback_origins: list[str] = Field(
        default_factory=list,
        description="Origins (scheme://host[:port]) callback URLs must be on; without any, callbacks are refused.",
    )
    lti: LtiPlatform | None = Field(default=None, description="LTI platform for this client's AGS scores.")
    lti_registration: LtiRegistrationInvite | None = Field(
        default=None, description="Lets this client's platform register the tool itself (see docs/lti.md)."
    )

    @field_validator("callback_origins")
    @classmethod
    def _callback_origins_are_plain(cls, origins: list[str]) -> list[str]:
        return _plain_origins(origins)

    @field_validator("secret")
    @classmethod
    def _secret_is_whsec(cls, value: SecretStr) -> SecretStr:
        parse_secret(value.get_secret_value())
        return value

    @field_validator("callback_secret")
    @classmethod
    def _callback_secret_is_whsec(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None:
            parse_secret(value.get_secret_value())
        return value


class ServiceSettings(BaseSettings):
    """Every knob of `grade serve`."""

    model_config = SettingsConfigDict(env_prefix="GRADER_", env_nested_delimiter="__", extra="forbid")

    config_file: Path | None = Field(default=None, description="TOML file with any of these settings.")
    host: str = Field(default="127.0.0.1", description="Address to listen on.")
    port: int = Field(default=8000, description="Port to listen on.")
    database: Path = Field(default=Path("grader-service.db"), description="SQLite database file (WAL mode).")
    log_level: str = Field(default="info", description="uvicorn log level.")
    public_url: str | None = Field(
        default=None,
        description="The service's address as browsers reach it (https://grader.example.edu), for the LTI"
        " redirect_uri behind a proxy; default: the address of the request.",
    )
    lti_jwks_refetch_seconds: float = Field(
        default=60.0, ge=0,
        description="A launch signed with a key the platform's cached JWKS lacks refetches it at most this often.",
    )

    clients: dict[str, ClientSettings] = Field(
        default_factory=dict, description="LMS clients by name; the name is used in logs and rate limits."
    )
    admin_tokens: list[SecretStr] = Field(
        default_factory=list, description="Bearer tokens that read every client's jobs (operators)."
    )
    api_tokens: list[SecretStr] = Field(
        default_factory=list, description="Removed: refused with a message saying where tokens go now."
    )
    callback_secret: SecretStr | None = Field(
        default=None, description="Removed: refused with a message saying where callback secrets go now."
    )

    max_body_bytes: int = Field(
        # A notebook of MAX_NOTEBOOK_BYTES (32 MiB, outputs included) fits even as base64 JSON (4/3 of it).
        default=48 * 1024 * 1024, description="Largest accepted request body (413 above)."
    )
    max_inflight_body_bytes: int = Field(
        default=192 * 1024 * 1024,
        description="Bytes of request bodies held at once across requests (503 with Retry-After above).",
    )
    body_read_timeout_seconds: float = Field(
        default=120.0, gt=0, description="Longest time a request's body may take to arrive (408 after)."
    )
    timestamp_tolerance_seconds: int = Field(default=300, description="Allowed clock skew of `webhook-timestamp`.")
    rate_limit_per_minute: float = Field(default=600.0, description="Sustained submissions per minute per client.")
    rate_limit_burst: int = Field(default=60, description="Submissions a client may send at once.")
    resubmission_limit: int = Field(
        default=10, ge=0,
        description="Submissions per student and assignment within resubmission_window_seconds (429 above); 0: no limit.",
    )
    resubmission_window_seconds: float = Field(
        default=24 * 3600.0, gt=0, description="Rolling window of resubmission_limit."
    )
    accepted_assignments: list[str] = Field(
        default_factory=list, description="Assignment names accepted; empty accepts any."
    )

    workers: int = Field(default=2, description="Grading workers (each runs one sandbox at a time).")
    grading_processes: bool = Field(
        default=True,
        description="Grade in worker processes at a lower CPU priority, so that answering LMSs never waits for "
        "grading; false grades on threads of the service's own process.",
    )
    grade_backend: str = Field(default="docker", description="Sandbox backend passed to the grading engine.")
    unsafe_no_sandbox: bool = Field(
        default=False, description="Allow grade_backend = 'process', which is NOT a sandbox (trusted code only)."
    )
    grade_timeout_seconds: float | None = Field(default=None, description="Per-submission grading timeout.")
    grade_function: str = Field(
        default="grader.engine:grade", description="`module:function` that grades; tests inject a stand-in."
    )
    job_lease_seconds: float = Field(default=120.0, description="How long a claimed job stays claimed unrenewed.")
    max_job_attempts: int = Field(
        default=3, description="Times a job is tried after crashes or engine errors before 'internal_error'."
    )
    poll_interval_seconds: float = Field(default=0.5, description="Idle workers look for new work this often.")

    queue: Literal["embedded", "celery"] = Field(
        default="embedded", description="Grade in this process ('embedded') or on `grade worker` processes ('celery')."
    )
    broker_url: str | None = Field(default=None, description="Redis URL of the Celery queue (with queue = 'celery').")
    queue_max_in_flight: int = Field(default=500, ge=1, description="Jobs sent to the queue and not yet back, at most.")
    queue_redispatch_seconds: float = Field(
        default=3600.0, gt=0, description="A job sent to the queue without an outcome this long is sent again."
    )

    delivery_max_attempts: int = Field(default=15, description="Callback/AGS attempts before a delivery is 'failed'.")
    delivery_backoff_base_seconds: float = Field(default=5.0, description="First retry delay ceiling.")
    delivery_backoff_cap_seconds: float = Field(default=6 * 3600.0, description="Largest retry delay ceiling.")
    delivery_timeout_seconds: float = Field(default=15.0, description="HTTP timeout of one delivery attempt.")
    delivery_concurrency: int = Field(default=4, description="Deliveries sent at the same time.")

    @field_validator("callback_secret")
    @classmethod
    def _no_shared_callback_secret(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None:
            raise ValueError(
                "one callback_secret for all clients let a client's receiver accept grades another client caused;"
                " give each client its own: clients.<name>.callback_secret (GRADER_CLIENTS__<NAME>__CALLBACK_SECRET)"
            )
        return value

    @field_validator("api_tokens")
    @classmethod
    def _no_global_api_tokens(cls, value: list[SecretStr]) -> list[SecretStr]:
        if value:
            raise ValueError(
                "api_tokens read every client's jobs; put each client's tokens under clients.<name>.api_tokens"
                " and operators' tokens in admin_tokens"
            )
        return value

    @model_validator(mode="after")
    def _secrets_and_tokens_are_not_shared(self) -> ServiceSettings:
        _refuse_shared(
            "secret",
            [(f"clients.{name}.secret", parse_secret(c.secret.get_secret_value())) for name, c in self.clients.items()]
            + [
                (f"clients.{name}.callback_secret", parse_secret(c.callback_secret.get_secret_value()))
                for name, c in self.clients.items()
                if c.callback_secret is not None
            ],
        )
        _refuse_shared(
            "token",
            [(f"clients.{name}.api_tokens", t.get_secret_value().encode()) for name, c in self.clients.items()
             for t in c.api_tokens]
            + [("admin_tokens", t.get_secret_value().encode()) for t in self.admin_tokens]
            + [(f"clients.{name}.lti_registration.token", c.lti_registration.token.get_secret_value().encode())
               for name, c in self.clients.items() if c.lti_registration is not None],
        )
        return self

    @model_validator(mode="after")
    def _one_client_per_lti_registration(self) -> ServiceSettings:
        # A launch names issuer and client id; two clients with the same pair would both claim its users.
        holders: dict[tuple[str, str], list[str]] = {}
        for name, client in self.clients.items():
            if client.lti is not None and client.lti.issuer is not None:
                holders.setdefault((client.lti.issuer, client.lti.client_id), []).append(f"clients.{name}.lti")
        shared = [places for places in holders.values() if len(places) > 1]
        if shared:
            raise ValueError(
                "an LTI issuer and client_id belong to one client, but " + "; ".join(" and ".join(p) for p in shared)
                + " register the same one"
            )
        return self

    @model_validator(mode="after")
    def _sandboxed_unless_unsafe(self) -> ServiceSettings:
        require_sandbox(self.grade_backend, unsafe_no_sandbox=self.unsafe_no_sandbox)
        return self

    @model_validator(mode="after")
    def _celery_has_broker(self) -> ServiceSettings:
        if self.queue == "celery" and not self.broker_url:
            raise ValueError("queue = 'celery' needs broker_url (GRADER_BROKER_URL)")
        return self

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Add the TOML file below the environment."""
        sources = [init_settings, env_settings]
        config_file = _config_file(init_settings)
        if config_file is not None:
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=config_file))
        return tuple(sources)


def _plain_origins(origins: list[str]) -> list[str]:
    """Each origin in its normal form (`https://lms.example.edu`); a path or user information is an error."""
    normal = []
    for origin in origins:
        try:
            normal.append(str(parse_origin(origin)))
        except EgressRefused as error:
            raise ValueError(f"{origin!r} is not an origin: {error}") from None
    return normal


def load_settings(config_file: Path | None = None, **overrides: Any) -> ServiceSettings:
    """Build settings from code overrides, the environment and an optional TOML file."""
    if config_file is not None:
        overrides["config_file"] = config_file
    return ServiceSettings(**overrides)


def _refuse_shared(what: str, owned: list[tuple[str, bytes]]) -> None:
    """Refuse a value that two places hold: whoever knows it could act as, or sign for, the other."""
    holders: dict[bytes, list[str]] = {}
    for place, value in owned:
        holders.setdefault(value, []).append(place)
    shared = [places for places in holders.values() if len(places) > 1]
    if shared:
        listed = "; ".join(" and ".join(places) for places in shared)
        raise ValueError(f"every {what} must be used once, but the same {what} is in {listed}")


def _config_file(init_settings: PydanticBaseSettingsSource) -> Path | None:
    """The TOML file named in code or in `GRADER_CONFIG_FILE`, if any."""
    if isinstance(init_settings, InitSettingsSource) and init_settings.init_kwargs.get("config_file"):
        return Path(init_settings.init_kwargs["config_file"])
    from_env = os.environ.get("GRADER_CONFIG_FILE")
    return Path(from_env) if from_env else None
