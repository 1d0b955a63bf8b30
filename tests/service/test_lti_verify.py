"""Launch verification pieces: claims into a Launch, and the platforms' keys fetched with a rate limit."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from grader.service import egress
from grader.service.lti_session import LtiRefused
from grader.service.lti_verify import PlatformKeys, Registration, find_registration, launch_from_claims
from tests.service.lti_platform import AGS_CLAIM, SCORE_SCOPE, PendingLaunch, StandInPlatform

pytestmark = pytest.mark.slow  # a stand-in platform serves each test


@pytest.fixture
def stand_in() -> Iterator[StandInPlatform]:
    platform = StandInPlatform(client_id="tool").start()
    platform.tool_url = "https://grader.example"
    yield platform
    platform.stop()


def _registration(platform: StandInPlatform) -> Registration:
    return Registration(
        client="lms", issuer=platform.issuer, client_id="tool", deployment_ids=frozenset({platform.deployment_id}),
        auth_login_url=f"{platform.url}/auth", jwks_url=f"{platform.url}/jwks", origins=(platform.url,),
    )


def _claims(platform: StandInPlatform, role: str = "student", message_type: str = "LtiResourceLinkRequest", **changes):
    pending = PendingLaunch("u1", role, "link-1", message_type, "course-1", f"{platform.url}/lineitems/1")
    return platform.claims(pending, "nonce-1", **changes)


def test_a_launch_keeps_a_line_item_on_the_platforms_origins(stand_in):
    launch = launch_from_claims(_registration(stand_in), _claims(stand_in))
    assert launch.lineitem_url == f"{stand_in.url}/lineitems/1"
    assert (launch.user_id, launch.context_id, launch.resource_link_id, launch.staff) == ("u1", "course-1", "link-1", False)


def test_a_line_item_off_the_platforms_origins_is_dropped(stand_in):
    claims = _claims(stand_in, **{AGS_CLAIM: {"scope": [SCORE_SCOPE], "lineitem": "http://127.0.0.1:9/lineitems/1"}})
    assert launch_from_claims(_registration(stand_in), claims).lineitem_url is None


def test_a_line_item_without_the_score_scope_is_dropped(stand_in):
    claims = _claims(stand_in, **{AGS_CLAIM: {"scope": [], "lineitem": f"{stand_in.url}/lineitems/1"}})
    assert launch_from_claims(_registration(stand_in), claims).lineitem_url is None


def test_a_deep_linking_return_url_off_the_platforms_origins_is_refused(stand_in):
    claims = _claims(stand_in, "instructor", "LtiDeepLinkingRequest")
    claims["https://purl.imsglobal.org/spec/lti-dl/claim/deep_linking_settings"]["deep_link_return_url"] = (
        "https://elsewhere.example/return"
    )
    with pytest.raises(LtiRefused, match="return URL"):
        launch_from_claims(_registration(stand_in), claims)


def test_an_anonymous_launch_is_refused(stand_in):
    with pytest.raises(LtiRefused, match="sub"):
        launch_from_claims(_registration(stand_in), _claims(stand_in, sub=""))


def test_an_issuer_with_two_registrations_needs_the_client_id(stand_in):
    one = _registration(stand_in)
    two = Registration(**(vars(one) | {"client": "other", "client_id": "tool-2"}))
    assert find_registration([one, two], stand_in.issuer, "tool-2") is two
    with pytest.raises(LtiRefused):
        find_registration([one, two], stand_in.issuer, None)


class _Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def http():
    client = egress.guarded_client(timeout=5)
    yield client
    client.close()


def test_a_rotated_key_is_fetched_once_its_kid_appears(stand_in, http):
    clock = _Clock()
    keys = PlatformKeys(lambda: http, clock, refetch_seconds=30)
    registration = _registration(stand_in)
    keys.key(registration, stand_in.keys[0].kid)
    new = stand_in.rotate()
    clock.now += 30
    assert keys.key(registration, new.kid).key_id == new.kid
    assert stand_in.jwks_requests == 2


def test_unknown_kids_refetch_the_jwks_at_most_once_per_interval(stand_in, http):
    clock = _Clock()
    keys = PlatformKeys(lambda: http, clock, refetch_seconds=30)
    registration = _registration(stand_in)
    keys.key(registration, stand_in.keys[0].kid)
    for attempt in range(20):
        clock.now += 1
        with pytest.raises(LtiRefused, match="does not publish"):
            keys.key(registration, f"made-up-{attempt}")
    assert stand_in.jwks_requests == 1
    clock.now += 30
    with pytest.raises(LtiRefused):
        keys.key(registration, "made-up-again")
    assert stand_in.jwks_requests == 2


def test_known_keys_are_served_from_the_cache(stand_in, http):
    keys = PlatformKeys(lambda: http, _Clock(), refetch_seconds=0)
    for _ in range(5):
        keys.key(_registration(stand_in), stand_in.keys[0].kid)
    assert stand_in.jwks_requests == 1


def test_a_jwks_url_off_the_origins_is_never_fetched(stand_in, http):
    registration = Registration(**(vars(_registration(stand_in)) | {"origins": ("https://lms.example",)}))
    with pytest.raises(LtiRefused) as refused:
        PlatformKeys(lambda: http, _Clock(), refetch_seconds=0).key(registration, stand_in.keys[0].kid)
    assert refused.value.status == 502
    assert stand_in.jwks_requests == 0


def test_cached_keys_still_verify_while_the_platform_cannot_be_reached(stand_in, http):
    clock = _Clock()
    keys = PlatformKeys(lambda: http, clock, refetch_seconds=30)
    registration = _registration(stand_in)
    kid = stand_in.keys[0].kid
    keys.key(registration, kid)
    stand_in.jwks_down = True
    clock.now += 2 * 3600
    assert keys.key(registration, kid).key_id == kid
