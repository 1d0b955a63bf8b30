"""LTI Dynamic Registration 1.0: a platform's admin registers the tool from inside the platform.

The operator invites one client's platform (`clients.<name>.lti_registration`: a secret token,
the platform's origins and the key to use). The platform's admin gives the platform our URL
/lti/register/<token>; the platform opens it with `openid_configuration` and
`registration_token`. We read the platform's OpenID configuration (only from the invited
origins, through the egress guard), check it, post our tool configuration to its registration
endpoint, and show the `lti` block with the client id and deployment id the platform issued,
for the operator to add to the settings (registrations live in the settings, not the database).
"""

from __future__ import annotations

import dataclasses
import json
import urllib.parse
from typing import Any

import httpx

from grader.service import egress
from grader.service.lti import SCORE_SCOPE
from grader.service.lti_session import LtiRefused
from grader.service.settings import LtiRegistrationInvite

TOOL_CONFIGURATION = "https://purl.imsglobal.org/spec/lti-tool-configuration"
LINEITEM_SCOPE = "https://purl.imsglobal.org/spec/lti-ags/scope/lineitem"
_MAX_ANSWER_BYTES = 256 * 1024


@dataclasses.dataclass(frozen=True)
class PlatformConfiguration:
    """What the platform's OpenID configuration tells the tool (LTI-DR §3.4)."""

    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    jwks_uri: str
    registration_endpoint: str


@dataclasses.dataclass(frozen=True)
class Registered:
    """The tool's registration the platform made."""

    platform: PlatformConfiguration
    client_id: str
    deployment_id: str | None


def platform_configuration(config: Any, configuration_url: str, origins: list[str]) -> PlatformConfiguration:
    """The checked configuration: its issuer on the configuration URL's host, every endpoint a URL,
    the keys and the registration endpoint on the invited origins."""
    refused = LtiRefused(400, "Registration refused", "The platform's OpenID configuration is not usable here.")
    if not isinstance(config, dict):
        raise refused
    fields = {name: config.get(name) for name in (
        "issuer", "authorization_endpoint", "token_endpoint", "jwks_uri", "registration_endpoint")}
    if not all(isinstance(value, str) and value for value in fields.values()):
        raise refused
    try:
        for value in fields.values():
            egress.parse_url(value)
        egress.check_url(fields["jwks_uri"], origins)
        egress.check_url(fields["registration_endpoint"], origins)
    except egress.EgressRefused:
        raise refused from None
    if urllib.parse.urlsplit(fields["issuer"]).hostname != urllib.parse.urlsplit(configuration_url).hostname:
        raise refused
    return PlatformConfiguration(**fields)


def tool_configuration(tool_url: str, *, title: str) -> dict[str, Any]:
    """Our registration request (LTI-DR §3.5.1): the tool's URLs, its keys, the messages and scopes it uses."""
    launch = f"{tool_url}/lti/launch"
    return {
        "application_type": "web",
        "response_types": ["id_token"],
        "grant_types": ["implicit", "client_credentials"],
        "initiate_login_uri": f"{tool_url}/lti/login",
        "redirect_uris": [launch],
        "client_name": title,
        "jwks_uri": f"{tool_url}/lti/jwks.json",
        "token_endpoint_auth_method": "private_key_jwt",
        "scope": f"{SCORE_SCOPE} {LINEITEM_SCOPE}",
        TOOL_CONFIGURATION: {
            "domain": urllib.parse.urlsplit(tool_url).netloc,
            "target_link_uri": launch,
            "claims": ["iss", "sub", "name", "given_name", "family_name"],
            "messages": [
                {"type": "LtiResourceLinkRequest", "target_link_uri": launch, "label": title},
                # `placements` is Canvas's; other platforms ignore it.
                {"type": "LtiDeepLinkingRequest", "target_link_uri": launch, "label": title,
                 "placements": ["assignment_selection", "link_selection"]},
            ],
        },
    }


def register(
    http: httpx.Client, invite: LtiRegistrationInvite, *, configuration_url: str, registration_token: str | None,
    tool_url: str, title: str,
) -> Registered:
    """Read the platform's configuration, post our tool configuration, return what the platform issued."""
    try:
        egress.check_url(configuration_url, invite.origins)
    except egress.EgressRefused:
        raise LtiRefused(400, "Registration refused", "This platform was not invited to register the tool.") from None
    platform = platform_configuration(
        _json(http, "GET", configuration_url, invite.origins), configuration_url, invite.origins
    )
    headers = {"authorization": f"Bearer {registration_token}"} if registration_token else {}
    answer = _json(http, "POST", platform.registration_endpoint, invite.origins,
                   json=tool_configuration(tool_url, title=title), headers=headers)
    client_id = answer.get("client_id") if isinstance(answer, dict) else None
    if not isinstance(client_id, str) or not client_id:
        raise LtiRefused(502, "Registration failed", "The platform did not issue a client id.")
    configuration = answer.get(TOOL_CONFIGURATION)
    deployment_id = configuration.get("deployment_id") if isinstance(configuration, dict) else None
    return Registered(platform, client_id, deployment_id if isinstance(deployment_id, str) else None)


def settings_block(client: str, registered: Registered, invite: LtiRegistrationInvite) -> str:
    """The TOML `lti` block of the new registration, for the operator to add (it holds no secret)."""
    platform = registered.platform
    origins = sorted({str(egress.parse_url(url)) for url in (platform.jwks_uri, platform.token_endpoint)}
                     | set(invite.origins))
    lines = {
        "issuer": platform.issuer,
        "client_id": registered.client_id,
        "deployment_ids": [registered.deployment_id] if registered.deployment_id else [],
        "auth_login_url": platform.authorization_endpoint,
        "jwks_url": platform.jwks_uri,
        "token_url": platform.token_endpoint,
        "private_key_file": str(invite.private_key_file),
        "origins": origins,
    }
    if invite.key_id:
        lines["key_id"] = invite.key_id
    body = "\n".join(f"{name} = {json.dumps(value)}" for name, value in lines.items())
    return f"[clients.{client}.lti]\n{body}\n"


def _json(http: httpx.Client, method: str, url: str, origins: list[str], **kwargs: Any) -> Any:
    """A JSON answer of at most 256 kB from one of `origins`; what else the platform said is not kept."""
    failed = LtiRefused(502, "Registration failed", "The platform's configuration or registration endpoint failed.")
    try:
        with http.stream(method, url, extensions=egress.allowing(origins), **kwargs) as response:
            if response.status_code not in (200, 201):
                raise failed
            body = b""
            for chunk in response.iter_bytes():
                body += chunk
                if len(body) > _MAX_ANSWER_BYTES:
                    raise failed
        return json.loads(body)
    except (httpx.HTTPError, egress.EgressRefused, ValueError):
        raise failed from None
