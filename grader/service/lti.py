"""LTI 1.3 Assignment and Grade Services: publishing a score to a platform's line item.

The score body, the scores URL and the JWT client assertion are pure functions; `TokenSource`
is the imperative part that asks the platform's token endpoint and caches the token.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
import threading
import urllib.parse
import uuid
from collections.abc import Callable
from typing import Any

import httpx
import jwt

from grader.service import egress

SCORE_SCOPE = "https://purl.imsglobal.org/spec/lti-ags/scope/score"
SCORE_CONTENT_TYPE = "application/vnd.ims.lis.v1.score+json"
CLIENT_ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
_ASSERTION_LIFETIME_SECONDS = 300
_TOKEN_EXPIRY_MARGIN_SECONDS = 30


class TokenError(Exception):
    """The platform did not give us an access token."""


def scores_url(lineitem_url: str) -> str:
    """The AGS scores endpoint of a line item: `/scores` appended to the path, before any query."""
    parts = urllib.parse.urlsplit(lineitem_url)
    return urllib.parse.urlunsplit(parts._replace(path=parts.path.rstrip("/") + "/scores"))


def score_body(
    *, user_id: str, status: str, score: float, max_score: float, timestamp: dt.datetime, comment: str | None = None
) -> dict[str, Any]:
    """The AGS Score for one graded job; a job that did not end 'graded' is reported as Failed.

    The score fields are left out when there is no positive maximum, which AGS requires.
    """
    body: dict[str, Any] = {
        "userId": user_id,
        "activityProgress": "Completed",
        "gradingProgress": "FullyGraded" if status == "graded" else "Failed",
        "timestamp": timestamp.astimezone(dt.timezone.utc).isoformat(timespec="milliseconds"),
    }
    if max_score > 0:
        body["scoreGiven"] = score
        body["scoreMaximum"] = max_score
    if comment:
        body["comment"] = comment
    return body


def client_assertion(
    *, client_id: str, token_url: str, private_key: str, key_id: str | None, now: float, jti: str
) -> str:
    """The RS256 JWT with which the tool authenticates to the token endpoint (RFC 7523)."""
    claims = {
        "iss": client_id,
        "sub": client_id,
        "aud": token_url,
        "iat": int(now),
        "exp": int(now) + _ASSERTION_LIFETIME_SECONDS,
        "jti": jti,
    }
    headers = {"kid": key_id} if key_id else None
    return jwt.encode(claims, private_key, algorithm="RS256", headers=headers)


def token_request_form(assertion: str) -> dict[str, str]:
    """The form fields of an OAuth 2 client-credentials request with a JWT client assertion."""
    return {
        "grant_type": "client_credentials",
        "client_assertion_type": CLIENT_ASSERTION_TYPE,
        "client_assertion": assertion,
        "scope": SCORE_SCOPE,
    }


@dataclasses.dataclass(frozen=True)
class Platform:
    """Our registration at one LTI platform, and the origins its access token may be sent to."""

    client_id: str
    token_url: str
    private_key: str
    key_id: str | None
    origins: tuple[str, ...]


class TokenSource:
    """Access tokens for the score scope, fetched when missing or about to expire."""

    def __init__(self, http: httpx.Client, clock: Callable[[], float]) -> None:
        self._http = http
        self._clock = clock
        # Keyed by the whole registration (origins and key included), not by token URL and client id:
        # a token fetched for one client's platform never goes to another client's line items.
        self._tokens: dict[Platform, tuple[str, float]] = {}
        self._lock = threading.Lock()
        self._fetch_locks: dict[Platform, threading.Lock] = {}

    def token(self, platform: Platform) -> str:
        """A valid bearer token for `platform`, from the cache when it still has one."""
        with self._lock:
            fetch_lock = self._fetch_locks.setdefault(platform, threading.Lock())
        # Senders that find no token wait for the one fetching it rather than each asking the platform.
        with fetch_lock:
            with self._lock:
                cached = self._tokens.get(platform)
            if cached is not None and cached[1] > self._clock():
                return cached[0]
            token, expires_at = self._fetch(platform)
            with self._lock:
                self._tokens[platform] = (token, expires_at)
            return token

    def forget(self, platform: Platform) -> None:
        """Drop a cached token the platform refused, so the next call fetches a new one."""
        with self._lock:
            self._tokens.pop(platform, None)

    def _fetch(self, platform: Platform) -> tuple[str, float]:
        now = self._clock()
        assertion = client_assertion(
            client_id=platform.client_id, token_url=platform.token_url, private_key=platform.private_key,
            key_id=platform.key_id, now=now, jti=uuid.uuid4().hex,
        )
        response = self._http.post(
            platform.token_url, data=token_request_form(assertion),
            extensions=egress.allowing([str(egress.parse_url(platform.token_url))]),
        )
        # The messages name the status only: what a remote answered is never stored or shown.
        if response.status_code != 200:
            raise TokenError(f"token endpoint answered HTTP {response.status_code}")
        try:
            body = response.json()
            token = body["access_token"]
            expires_in = float(body.get("expires_in", 3600))
        except (ValueError, KeyError, TypeError):
            raise TokenError("token endpoint answered without a usable access_token and expires_in") from None
        if not isinstance(token, str) or not math.isfinite(expires_in):
            raise TokenError("token endpoint answered without a usable access_token and expires_in")
        return token, now + max(0.0, expires_in - _TOKEN_EXPIRY_MARGIN_SECONDS)
