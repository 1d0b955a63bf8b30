"""Verifying an LTI 1.3 launch: the id_token's signature against the platform's JWKS, then its claims.

Per the LTI 1.3 core spec §5.1.3 and OpenID Connect Core §3.1.3.7: RS256 with a key of the
issuer's JWKS named by `kid`; `iss` is a registered platform; `aud` holds our client id (and
`azp` is it when there are several audiences); `exp`/`iat` with a small leeway; version 1.3.0,
a message type we handle, a registered deployment. The nonce and state are checked by the
caller against the login it started. Every failure is an `LtiRefused` whose message names the
rule broken, never a key or what the platform sent.
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Callable, Iterable
from typing import Any

import httpx
import jwt

from grader.service import egress
from grader.service.lti import SCORE_SCOPE
from grader.service.lti_launch import DEEP_LINKING_REQUEST, RESOURCE_LINK_REQUEST, Launch
from grader.service.lti_session import LtiRefused
from grader.service.settings import ServiceSettings

CLAIM = "https://purl.imsglobal.org/spec/lti/claim/"
AGS_ENDPOINT_CLAIM = "https://purl.imsglobal.org/spec/lti-ags/claim/endpoint"
DEEP_LINKING_CLAIM = "https://purl.imsglobal.org/spec/lti-dl/claim/deep_linking_settings"
LEEWAY_SECONDS = 60
_JWKS_CACHE_SECONDS = 3600
_JWKS_MAX_BYTES = 256 * 1024


@dataclasses.dataclass(frozen=True)
class Registration:
    """Our tool's registration at one platform, as the launch needs it; it belongs to one client."""

    client: str
    issuer: str
    client_id: str
    deployment_ids: frozenset[str]
    auth_login_url: str
    jwks_url: str
    origins: tuple[str, ...]


def registrations(settings: ServiceSettings) -> list[Registration]:
    """Every platform users can launch the tool from."""
    return [
        Registration(
            client=name, issuer=c.lti.issuer, client_id=c.lti.client_id, deployment_ids=frozenset(c.lti.deployment_ids),
            auth_login_url=c.lti.auth_login_url, jwks_url=c.lti.jwks_url, origins=tuple(c.lti.origins),
        )
        for name, c in settings.clients.items()
        if c.lti is not None and c.lti.issuer is not None and c.lti.auth_login_url and c.lti.jwks_url
    ]


def find_registration(found: Iterable[Registration], issuer: str, client_id: str | None) -> Registration:
    """The registration of `issuer` and `client_id` (without a client id: the issuer's only one)."""
    candidates = [r for r in found if r.issuer == issuer and (client_id is None or r.client_id == client_id)]
    if len(candidates) != 1:
        raise LtiRefused(400, "Unknown platform", "This tool is not registered with the platform that sent you here.")
    return candidates[0]


class PlatformKeys:
    """The platforms' public keys, fetched through the egress guard and cached per JWKS URL.

    A token naming a key the cached set lacks refetches the set once (the platform rotated), but
    no more often than every `refetch_seconds`: made-up `kid`s cannot make us hammer a platform.
    """

    def __init__(self, http: Callable[[], httpx.Client], clock: Callable[[], float], refetch_seconds: float) -> None:
        self._http = http
        self._clock = clock
        self._refetch_seconds = refetch_seconds
        self._sets: dict[str, tuple[dict[str, jwt.PyJWK], float]] = {}
        self._lock = threading.Lock()
        self._fetch_locks: dict[str, threading.Lock] = {}

    def key(self, registration: Registration, kid: str) -> jwt.PyJWK:
        """The platform's key `kid`, or LtiRefused when the platform does not publish one."""
        url = registration.jwks_url
        with self._lock:
            fetch_lock = self._fetch_locks.setdefault(url, threading.Lock())
        with fetch_lock:
            keys, fetched_at = self._sets.get(url, ({}, None))
            age = None if fetched_at is None else self._clock() - fetched_at
            stale = age is None or age >= _JWKS_CACHE_SECONDS
            if stale or (kid not in keys and age >= self._refetch_seconds):
                try:
                    keys = self._fetch(registration)
                except LtiRefused:
                    if kid not in keys:
                        raise
                    # The platform is down but we know the key: launches go on; ask again after a while.
                self._sets[url] = (keys, self._clock())
        if kid not in keys:
            raise LtiRefused(401, "Launch refused", "The launch was signed with a key the platform does not publish.")
        return keys[kid]

    def _fetch(self, registration: Registration) -> dict[str, jwt.PyJWK]:
        unavailable = LtiRefused(502, "Platform unavailable", "The platform's keys could not be read; try again shortly.")
        try:
            with self._http().stream(
                "GET", registration.jwks_url, headers={"accept": "application/json"},
                extensions=egress.allowing(registration.origins),
            ) as response:
                if response.status_code != 200:
                    raise unavailable
                body = b""
                for chunk in response.iter_bytes():
                    body += chunk
                    if len(body) > _JWKS_MAX_BYTES:
                        raise unavailable
            keys = jwt.PyJWKSet.from_json(body.decode()).keys
        except (httpx.HTTPError, egress.EgressRefused, jwt.PyJWTError, UnicodeDecodeError, ValueError):
            raise unavailable from None
        return {key.key_id: key for key in keys if key.key_id and key.key_type == "RSA"}


def verify_id_token(token: str, found: Iterable[Registration], keys: PlatformKeys) -> tuple[Registration, dict[str, Any]]:
    """The registration a launch's id_token is for and its verified claims; LtiRefused otherwise."""
    try:
        header = jwt.get_unverified_header(token)
        unverified = jwt.decode(token, options={"verify_signature": False})
    except jwt.PyJWTError:
        raise LtiRefused(400, "Launch refused", "The launch did not carry a valid id_token.") from None
    issuer = unverified.get("iss")
    audience = unverified.get("aud")
    audiences = [audience] if isinstance(audience, str) else audience if isinstance(audience, list) else []
    of_issuer = [r for r in found if r.issuer == issuer]
    if not of_issuer:
        raise LtiRefused(400, "Unknown platform", "This tool is not registered with the platform that sent you here.")
    matching = [r for r in of_issuer if r.client_id in audiences]
    if len(matching) != 1:
        raise LtiRefused(401, "Launch refused", "The launch was meant for another tool (audience).")
    registration = matching[0]
    kid = header.get("kid")
    if not isinstance(kid, str) or header.get("alg") != "RS256":
        raise LtiRefused(401, "Launch refused", "The launch must be signed with RS256 and name its key (kid).")
    key = keys.key(registration, kid)
    claims = _decode(token, key, registration)
    _check_lti_claims(claims, registration)
    return registration, claims


def _decode(token: str, key: jwt.PyJWK, registration: Registration) -> dict[str, Any]:
    try:
        claims = jwt.decode(
            token, key, algorithms=["RS256"], audience=registration.client_id, issuer=registration.issuer,
            leeway=LEEWAY_SECONDS, options={"require": ["exp", "iat", "iss", "aud", "sub", "nonce"]},
        )
    except jwt.InvalidSignatureError:
        raise LtiRefused(401, "Launch refused", "The launch's signature does not verify.") from None
    except jwt.ExpiredSignatureError:
        raise LtiRefused(401, "Launch expired", "The launch has expired. Open the assignment from your course again.") from None
    except jwt.ImmatureSignatureError:
        raise LtiRefused(401, "Launch refused", "The launch was issued in the future; check the clocks.") from None
    except jwt.MissingRequiredClaimError as error:
        raise LtiRefused(400, "Launch refused", f"The launch lacks the required claim {error.claim!r}.") from None
    except jwt.PyJWTError:
        raise LtiRefused(401, "Launch refused", "The launch's id_token is not valid.") from None
    audience = claims["aud"]
    several = isinstance(audience, list) and len(audience) > 1
    if (several or "azp" in claims) and claims.get("azp") != registration.client_id:
        raise LtiRefused(401, "Launch refused", "The launch was meant for another tool (azp).")
    return claims


def _check_lti_claims(claims: dict[str, Any], registration: Registration) -> None:
    if claims.get(CLAIM + "version") != "1.3.0":
        raise LtiRefused(400, "Launch refused", "Only LTI 1.3.0 launches are supported.")
    if claims.get(CLAIM + "message_type") not in (RESOURCE_LINK_REQUEST, DEEP_LINKING_REQUEST):
        raise LtiRefused(400, "Launch refused", "This kind of launch is not supported.")
    if claims.get(CLAIM + "deployment_id") not in registration.deployment_ids:
        raise LtiRefused(401, "Launch refused", "The tool is not registered for this deployment of the platform.")
    roles = claims.get(CLAIM + "roles")
    if not isinstance(roles, list) or not all(isinstance(role, str) for role in roles):
        raise LtiRefused(400, "Launch refused", "The launch lacks the roles claim.")


def launch_from_claims(registration: Registration, claims: dict[str, Any]) -> Launch:
    """The `Launch` of verified claims; LtiRefused when a claim this message needs is missing."""
    message_type = claims[CLAIM + "message_type"]
    if not _text(claims["sub"]):
        raise LtiRefused(400, "Launch refused", "The launch does not name its user (sub); anonymous launches are not supported.")
    context = _object(claims.get(CLAIM + "context"))
    if not _text(context.get("id")):
        raise LtiRefused(400, "Launch refused", "The launch does not name a course (context claim).")
    link = _object(claims.get(CLAIM + "resource_link"))
    return_url = data = None
    if message_type == RESOURCE_LINK_REQUEST:
        if not _text(link.get("id")) or not _text(claims.get(CLAIM + "target_link_uri")):
            raise LtiRefused(400, "Launch refused", "The launch lacks its resource link or target link URI.")
    else:
        settings = _object(claims.get(DEEP_LINKING_CLAIM))
        accepted = settings.get("accept_types")
        if not isinstance(accepted, list) or "ltiResourceLink" not in accepted:
            raise LtiRefused(400, "Launch refused", "This place in the course does not accept resource links.")
        return_url = _text(settings.get("deep_link_return_url"))
        if not _on_origins(return_url, registration.origins):
            raise LtiRefused(400, "Launch refused", "The deep-linking return URL is not on the platform's origins.")
        data = _text(settings.get("data")) or None
    name = _text(claims.get("name")) or " ".join(
        part for part in (_text(claims.get("given_name")), _text(claims.get("family_name"))) if part
    )
    return Launch(
        client=registration.client, issuer=registration.issuer, deployment_id=claims[CLAIM + "deployment_id"],
        user_id=_text(claims["sub"]), name=name, roles=frozenset(claims[CLAIM + "roles"]),
        context_id=_text(context.get("id")), context_title=_text(context.get("title")),
        resource_link_id=_text(link.get("id")), resource_link_title=_text(link.get("title")),
        message_type=message_type, lineitem_url=_lineitem(claims, registration),
        deep_link_return_url=return_url, deep_link_data=data,
    )


def _lineitem(claims: dict[str, Any], registration: Registration) -> str | None:
    """The line item to post scores to: only with the score scope, and only on the platform's origins."""
    endpoint = _object(claims.get(AGS_ENDPOINT_CLAIM))
    scopes = endpoint.get("scope")
    lineitem = _text(endpoint.get("lineitem"))
    if not isinstance(scopes, list) or SCORE_SCOPE not in scopes or not _on_origins(lineitem, registration.origins):
        return None
    return lineitem


def _on_origins(url: str, origins: Iterable[str]) -> bool:
    try:
        egress.check_url(url, origins)
    except egress.EgressRefused:
        return False
    return True


def _object(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""
