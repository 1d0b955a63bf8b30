"""LTI 1.3 launches: who launched us, from which platform, course and gradebook column.

A `Launch` holds only claims of an id_token whose signature, issuer, audience, times, nonce and
deployment were verified; nothing else creates one. The pages see a launch through its `Session`.
"""

from __future__ import annotations

import dataclasses

RESOURCE_LINK_REQUEST = "LtiResourceLinkRequest"
DEEP_LINKING_REQUEST = "LtiDeepLinkingRequest"

# Context roles (LTI 1.3 §A.2.2) that see the class view; the short forms are LTI 1.1 names some
# platforms still send.
_STAFF_ROLES = frozenset(
    f"http://purl.imsglobal.org/vocab/lis/v2/membership#{role}"
    for role in ("Instructor", "ContentDeveloper", "Administrator", "Mentor")
) | frozenset(
    {
        "http://purl.imsglobal.org/vocab/lis/v2/membership/Instructor#TeachingAssistant",
        "Instructor",
        "TeachingAssistant",
    }
)


@dataclasses.dataclass(frozen=True)
class Launch:
    """The verified claims of one launch that the tool acts on."""

    client: str
    """The service client (tenant) the platform is registered under; its jobs, secrets and origins."""
    issuer: str
    deployment_id: str
    user_id: str
    """The platform's `sub` for the user: stable per platform, the student id of the jobs."""
    name: str
    roles: frozenset[str]
    context_id: str
    context_title: str
    resource_link_id: str
    resource_link_title: str
    message_type: str
    lineitem_url: str | None = None
    """The AGS line item of the resource link, when the platform gave one with the score scope."""
    deep_link_return_url: str | None = None
    deep_link_data: str | None = None

    @property
    def staff(self) -> bool:
        """Whether the user teaches the context (instructor, TA, designer): they see the class view."""
        return not self.roles.isdisjoint(_STAFF_ROLES)


@dataclasses.dataclass(frozen=True)
class Session:
    """A browser's session, bound to the one launch that opened it."""

    id: str
    launch: Launch
    csrf_token: str
    expires_at: float
