"""LTI Deep Linking 2.0 response: an instructor adds the assignment, the platform makes its gradebook column.

The response is a JWT signed with our key (`iss` our client id, `aud` the platform's issuer)
carrying one `ltiResourceLink` with a `lineItem`, so the platform creates the column with the
assignment's maximum score; it goes back to the platform in the browser's form post.
"""

from __future__ import annotations

import html
import secrets
from typing import Any

import jwt

from grader.service.lti_keys import SigningKey
from grader.service.lti_launch import Launch

DEEP_LINKING_RESPONSE = "LtiDeepLinkingResponse"
LINE_ITEM_TAG = "grader"
_CLAIM = "https://purl.imsglobal.org/spec/lti/claim/"
_DL_CLAIM = "https://purl.imsglobal.org/spec/lti-dl/claim/"
_LIFETIME_SECONDS = 300


def content_item(*, assignment: str, title: str, max_score: float) -> dict[str, Any]:
    """The one resource link we offer: the assignment, with a gradebook column of its maximum score."""
    return {
        "type": "ltiResourceLink",
        "title": title,
        "custom": {"assignment": assignment},
        "lineItem": {"scoreMaximum": max_score, "label": title, "resourceId": assignment, "tag": LINE_ITEM_TAG},
    }


def response_jwt(launch: Launch, *, client_id: str, key: SigningKey, items: list[dict[str, Any]], now: float) -> str:
    """The signed LtiDeepLinkingResponse for a deep-linking launch (LTI-DL 2.0 §4.2)."""
    claims: dict[str, Any] = {
        "iss": client_id,
        "aud": launch.issuer,
        "iat": int(now),
        "exp": int(now) + _LIFETIME_SECONDS,
        "nonce": secrets.token_urlsafe(16),
        _CLAIM + "deployment_id": launch.deployment_id,
        _CLAIM + "message_type": DEEP_LINKING_RESPONSE,
        _CLAIM + "version": "1.3.0",
        _DL_CLAIM + "content_items": items,
    }
    if launch.deep_link_data is not None:
        claims[_DL_CLAIM + "data"] = launch.deep_link_data
    return jwt.encode(claims, key.private_pem, algorithm="RS256", headers={"kid": key.kid})


def return_form(return_url: str, token: str) -> str:
    """The body of a page that posts the response JWT to the platform at once (a button without JavaScript)."""
    return (
        f'<form method="post" action="{html.escape(return_url)}">'
        f'<input type="hidden" name="JWT" value="{html.escape(token)}">'
        '<p>Returning to your course…</p><button type="submit">Continue</button></form>'
        "<script>document.forms[0].submit()</script>"
    )
