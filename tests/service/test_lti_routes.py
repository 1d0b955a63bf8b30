"""The LTI launch through the real service and a stand-in platform: login, launch, keys, deep linking."""

from __future__ import annotations

import base64
import html
import re
import time
import tomllib
import urllib.parse
from collections.abc import Iterator

import pytest
from cryptography.hazmat.primitives import serialization

from tests.service.conftest import (
    LTI_CLIENT_ID,
    OTHER_LTI_CLIENT_ID,
    REGISTRATION_INVITE,
    Service,
    lti_clients,
    service_env,
    spawn_service,
    submission,
)
from tests.service.lti_platform import CLAIM, DL_SETTINGS_CLAIM, Browser, StandInPlatform, form_fields, new_key

pytestmark = pytest.mark.slow


@pytest.fixture
def tool(lti_stand_ins) -> Service:
    return lti_stand_ins[0]


@pytest.fixture
def platform(lti_stand_ins) -> Iterator[StandInPlatform]:
    yield from _checked(lti_stand_ins[1])


@pytest.fixture
def other_platform(lti_stand_ins) -> Iterator[StandInPlatform]:
    yield from _checked(lti_stand_ins[2])


def _checked(platform: StandInPlatform) -> Iterator[StandInPlatform]:
    yield platform
    with platform.lock:
        errors, platform.errors[:] = list(platform.errors), []
    assert errors == [], "the stand-in platform found problems in what the tool sent"


@pytest.fixture
def browser() -> Iterator[Browser]:
    opened = Browser()
    yield opened
    opened.close()


def _refused(response, status: int, words: str) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("text/html")
    assert words in response.text
    assert "Traceback" not in response.text


def _launch_with(browser: Browser, platform: StandInPlatform, **changes) -> tuple:
    """Start a student's launch and answer it with an id_token changed by `changes` (claims)."""
    params = browser.login(platform.launch_url("student-1"))
    token = platform.id_token(params["lti_message_hint"], params["nonce"], **changes)
    return params, token


def test_a_students_launch_opens_a_session_and_goes_to_the_hand_in_page(tool, platform, browser):
    response = browser.launch(platform.launch_url("student-1"))
    assert response.status_code == 303
    assert urllib.parse.urlsplit(response.headers["location"]).path == "/lti/hand-in"
    cookies = [h for h in response.headers.get_list("set-cookie") if h.startswith("grader_session")]
    assert len(cookies) == 2  # this launch's own, and the browser's latest
    for cookie in cookies:
        assert {"httponly", "secure", "samesite=none", "partitioned"} <= {a.strip().lower() for a in cookie.split(";")}
    assert "grader_session" in browser.cookies


def test_an_instructors_launch_goes_to_the_class_view(tool, platform, browser):
    response = browser.launch(platform.launch_url("teacher-1", "instructor"))
    assert response.status_code == 303
    assert urllib.parse.urlsplit(response.headers["location"]).path == "/lti/class"


def test_the_jwks_serves_public_halves_with_their_kid_only(tool, browser):
    keys = browser.request("GET", f"{tool.url}/lti/jwks.json").json()["keys"]
    assert len(keys) == 1
    assert set(keys[0]) == {"kty", "e", "n", "kid", "alg", "use"}
    assert keys[0]["kid"]


def test_a_launch_signed_with_a_key_the_platform_does_not_publish_is_refused(tool, platform, browser):
    params = browser.login(platform.launch_url("student-1"))
    with platform.lock:
        pending = platform.pending[params["lti_message_hint"]]
    forged = platform.sign(platform.claims(pending, params["nonce"]), key=new_key(), kid=platform.keys[-1].kid)
    _refused(browser.post_launch(params["redirect_uri"], {"id_token": forged, "state": params["state"]}),
             401, "signature does not verify")


def test_a_launch_naming_an_unknown_kid_is_refused(tool, platform, browser):
    params = browser.login(platform.launch_url("student-1"))
    with platform.lock:
        pending = platform.pending[params["lti_message_hint"]]
    token = platform.sign(platform.claims(pending, params["nonce"]), key=new_key("made-up"))
    _refused(browser.post_launch(params["redirect_uri"], {"id_token": token, "state": params["state"]}),
             401, "key the platform does not publish")


def test_a_launch_for_another_audience_is_refused(tool, platform, browser):
    params, token = _launch_with(browser, platform, aud="some-other-tool")
    _refused(browser.post_launch(params["redirect_uri"], {"id_token": token, "state": params["state"]}),
             401, "meant for another tool")


def test_a_launch_with_several_audiences_needs_our_client_id_as_azp(tool, platform, browser):
    params, token = _launch_with(browser, platform, aud=[LTI_CLIENT_ID, "some-other-tool"], azp="some-other-tool")
    _refused(browser.post_launch(params["redirect_uri"], {"id_token": token, "state": params["state"]}),
             401, "another tool (azp)")


def test_an_expired_launch_is_refused(tool, platform, browser):
    past = int(time.time()) - 3600
    params, token = _launch_with(browser, platform, iat=past - 300, exp=past)
    _refused(browser.post_launch(params["redirect_uri"], {"id_token": token, "state": params["state"]}),
             401, "expired")


def test_a_replayed_id_token_is_refused_by_its_used_nonce(tool, platform, browser):
    params = browser.login(platform.launch_url("student-1"))
    token = platform.id_token(params["lti_message_hint"], params["nonce"])
    assert browser.post_launch(params["redirect_uri"], {"id_token": token, "state": params["state"]}).status_code == 303
    # The attacker starts a login of their own, then posts the captured token with its state.
    again = browser.login(platform.launch_url("student-1"))
    _refused(browser.post_launch(again["redirect_uri"], {"id_token": token, "state": again["state"]}),
             401, "already used (nonce)")


def test_a_launch_answering_another_login_of_the_browser_is_refused(tool, platform, browser):
    first = browser.login(platform.launch_url("student-1"))
    second = browser.login(platform.launch_url("student-1"))
    token = platform.id_token(first["lti_message_hint"], first["nonce"])
    _refused(browser.post_launch(first["redirect_uri"], {"id_token": token, "state": second["state"]}),
             401, "does not belong to the login this browser started (state)")


def test_a_launch_without_the_browsers_state_cookie_is_refused(tool, platform, browser):
    params, token = _launch_with(browser, platform)
    browser.cookies.clear()
    _refused(browser.post_launch(params["redirect_uri"], {"id_token": token, "state": params["state"]}),
             401, "did not start in this browser")


def test_a_launch_from_an_unregistered_deployment_is_refused(tool, platform, browser):
    params, token = _launch_with(browser, platform, **{CLAIM + "deployment_id": "deployment-9"})
    _refused(browser.post_launch(params["redirect_uri"], {"id_token": token, "state": params["state"]}),
             401, "not registered for this deployment")


def test_a_login_from_an_unknown_issuer_is_refused(tool, platform, browser):
    url = platform.launch_url("student-1").replace("iss=http", "iss=https")
    _refused(browser.request("GET", url), 400, "not registered with the platform")


def test_a_student_cannot_deep_link(tool, platform, browser):
    url = platform.launch_url("student-1", message_type="LtiDeepLinkingRequest")
    _refused(browser.launch(url), 403, "Only instructors")


def test_an_instructor_adds_the_assignment_and_the_platform_creates_its_column(tool, platform, browser):
    response = browser.launch(platform.launch_url("teacher-1", "instructor", message_type="LtiDeepLinkingRequest"))
    assert urllib.parse.urlsplit(response.headers["location"]).path == "/lti/deep-link"
    page = browser.request("GET", f"{tool.url}{response.headers['location']}")
    assert "Add this assignment" in page.text
    action, fields = form_fields(page.text)
    answer = browser.request("POST", f"{tool.url}{action}", data=fields)
    return_url, returned = form_fields(answer.text)
    assert return_url == f"{platform.url}/deep-link-return"
    assert browser.request("POST", return_url, data=returned).status_code == 200
    assert [item["scoreMaximum"] for item in platform.lineitems.values()] == [80.0]
    assert platform.deep_link_responses[0][CLAIM + "deployment_id"] == platform.deployment_id


def test_a_deep_linking_post_without_the_csrf_token_is_refused(tool, platform, browser):
    browser.launch(platform.launch_url("teacher-1", "instructor", message_type="LtiDeepLinkingRequest"))
    _refused(browser.request("POST", f"{tool.url}/lti/deep-link", data={"csrf_token": "guess"}), 403, "no longer valid")


def test_a_page_without_a_session_answers_401_with_a_way_back(tool, browser):
    _refused(browser.request("GET", f"{tool.url}/lti/deep-link"), 401, "Open the assignment from your course again")


def test_another_platforms_id_token_cannot_finish_this_platforms_login(tool, platform, other_platform, browser):
    params = browser.login(platform.launch_url("student-1"))
    other_params = browser.login(other_platform.launch_url("student-1"))
    # The other platform answers with the nonce of our login at `platform`: a valid token for client `other`.
    token = other_platform.id_token(other_params["lti_message_hint"], params["nonce"])
    _refused(browser.post_launch(params["redirect_uri"], {"id_token": token, "state": params["state"]}),
             401, "does not belong to the login")


def test_another_platform_cannot_sign_as_this_platform(tool, platform, other_platform, browser):
    params = browser.login(platform.launch_url("student-1"))
    with platform.lock:
        pending = platform.pending[params["lti_message_hint"]]
    token = other_platform.sign(platform.claims(pending, params["nonce"]))
    _refused(browser.post_launch(params["redirect_uri"], {"id_token": token, "state": params["state"]}),
             401, "key the platform does not publish")


def test_a_score_reaches_a_platform_that_reads_our_key_from_the_jwks(tool, platform):
    # Such a platform finds our key by the assertion's kid, so every assertion must name one.
    lineitem = platform.add_lineitem()
    payload = submission(None, callback=False) | {"lti": {"lineitem_url": lineitem, "user_id": "student-1"}}
    job_id = tool.submit(payload).json()["job_id"]
    status = tool.wait_for(job_id, lambda s: any(d["state"] != "pending" for d in s["deliveries"]))
    assert [d["state"] for d in status["deliveries"]] == ["delivered"]
    assert [s["userId"] for s in platform.scores[lineitem.rsplit("/", 1)[1]]] == ["student-1"]


def test_the_private_key_appears_in_no_answer(tool, platform, browser, lti_key):
    private = serialization.load_pem_private_key(lti_key[0].read_bytes(), password=None)
    d = private.private_numbers().d
    secret_forms = [base64.urlsafe_b64encode(d.to_bytes((d.bit_length() + 7) // 8, "big")).rstrip(b"=").decode(),
                    lti_key[0].read_text().splitlines()[1]]
    browser.launch(platform.launch_url("teacher-1", "instructor", message_type="LtiDeepLinkingRequest"))
    page = browser.request("GET", f"{tool.url}/lti/deep-link")
    action, fields = form_fields(page.text)
    answers = [browser.request("GET", f"{tool.url}{path}").text for path in ("/lti/jwks.json", "/openapi.json")]
    answers += [page.text, browser.request("POST", f"{tool.url}{action}", data=fields).text]
    assert not [form for form in secret_forms for answer in answers if form in answer]


def test_a_login_initiation_may_be_posted(tool, platform, browser):
    query = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(platform.launch_url("student-1")).query))
    response = browser.request("POST", f"{tool.url}/lti/login", data=query)
    assert response.status_code == 302
    assert response.headers["location"].startswith(f"{platform.url}/auth?")


def test_a_launch_signed_with_the_platforms_new_key_is_accepted_after_rotation(tmp_path, lti_key, browser):
    platform = StandInPlatform(client_id=LTI_CLIENT_ID).start()
    other_platform = StandInPlatform(client_id=OTHER_LTI_CLIENT_ID).start()
    started: list[Service] = []
    try:
        env = service_env(tmp_path / "service.db", lti_clients(platform, other_platform, lti_key[0]))
        platform.tool_url = spawn_service(env | {"GRADER_LTI_JWKS_REFETCH_SECONDS": "0"}, tmp_path, started).url
        assert browser.launch(platform.launch_url("student-1")).status_code == 303
        platform.rotate()
        assert browser.launch(platform.launch_url("student-1")).status_code == 303
        assert platform.jwks_requests == 2
        assert platform.errors == []
    finally:
        for service in started:
            service.stop()
        platform.stop()
        other_platform.stop()


def test_unknown_kids_do_not_make_the_tool_refetch_the_platforms_keys(tool, platform, browser):
    assert browser.launch(platform.launch_url("student-1")).status_code == 303
    before = platform.jwks_requests
    for attempt in range(5):
        params = browser.login(platform.launch_url("student-1"))
        with platform.lock:
            pending = platform.pending[params["lti_message_hint"]]
        token = platform.sign(platform.claims(pending, params["nonce"]), key=new_key(f"made-up-{attempt}"))
        browser.post_launch(params["redirect_uri"], {"id_token": token, "state": params["state"]})
    # At most one refetch (when the last fetch is older than lti_jwks_refetch_seconds), not one per kid.
    assert platform.jwks_requests - before <= 1


def test_a_launch_from_an_unknown_issuer_is_refused(tool, platform, browser):
    params, token = _launch_with(browser, platform, iss="https://elsewhere.example")
    _refused(browser.post_launch(params["redirect_uri"], {"id_token": token, "state": params["state"]}),
             400, "not registered with the platform")


def test_each_tab_keeps_the_launch_that_opened_it(tool, platform, browser):
    # Two courses open in two tabs of one browser: each tab's links must act for its own launch.
    first = browser.launch(platform.launch_url("teacher-1", "instructor", message_type="LtiDeepLinkingRequest",
                                               context="course-1"))
    browser.launch(platform.launch_url("teacher-1", "instructor", message_type="LtiDeepLinkingRequest",
                                       context="course-2"))
    page = browser.request("GET", f"{tool.url}{first.headers['location']}")
    assert "Course course-1" in page.text


def test_launches_are_counted_by_outcome(tool, platform, browser):
    def count(outcome: str) -> float:
        text = browser.request("GET", f"{tool.url}/metrics").text
        line = f'grader_lti_launches_total{{outcome="{outcome}"}} '
        return sum(float(row.removeprefix(line)) for row in text.splitlines() if row.startswith(line))

    opened, refused = count("opened"), count("401")
    browser.launch(platform.launch_url("student-1"))
    params, token = _launch_with(browser, platform, aud="some-other-tool")
    browser.post_launch(params["redirect_uri"], {"id_token": token, "state": params["state"]})
    assert (count("opened") - opened, count("401") - refused) == (1, 1)


@pytest.mark.parametrize(
    ("changes", "status", "words"),
    [
        ({CLAIM + "version": "1.1"}, 400, "Only LTI 1.3.0"),
        ({CLAIM + "message_type": "LtiSubmissionReviewRequest"}, 400, "kind of launch is not supported"),
        ({CLAIM + "context": None}, 400, "does not name a course"),
        ({CLAIM + "roles": None}, 400, "lacks the roles claim"),
        ({CLAIM + "resource_link": None}, 400, "lacks its resource link"),
        ({"iat": int(time.time()) + 3600, "exp": int(time.time()) + 7200}, 401, "issued in the future"),
        ({"nonce": None}, 400, "required claim &#x27;nonce&#x27;"),
    ],
)
def test_a_launch_with_a_missing_or_wrong_claim_is_refused_with_the_rule(tool, platform, browser, changes, status, words):
    params, token = _launch_with(browser, platform, **changes)
    _refused(browser.post_launch(params["redirect_uri"], {"id_token": token, "state": params["state"]}), status, words)


@pytest.mark.parametrize(
    ("fields", "words"),
    [
        ({"state": "s"}, "lacks its id_token or state"),
        ({"id_token": "not-a-jwt", "state": "s"}, "did not carry a valid id_token"),
        ({"error": "login_required", "state": "s"}, "did not complete the login (login_required)"),
        ({"error": "<script>", "state": "s"}, "did not complete the login (unknown)"),
    ],
)
def test_a_malformed_launch_post_gets_a_page_saying_why(tool, browser, fields, words):
    response = browser.request("POST", f"{tool.url}/lti/launch", data=fields)
    assert response.status_code in (400, 401)
    _refused(response, response.status_code, words)


def test_a_launch_post_larger_than_a_launch_is_refused_unread(tool, browser):
    _refused(browser.request("POST", f"{tool.url}/lti/launch", data={"id_token": "x" * 70_000}), 413, "too large")


def test_a_login_without_its_parameters_is_refused(tool, platform, browser):
    _refused(browser.request("GET", f"{tool.url}/lti/login?iss={urllib.parse.quote(platform.issuer)}"),
             400, "lacks iss, login_hint or target_link_uri")


def test_a_deep_linking_request_that_takes_no_resource_links_is_refused(tool, platform, browser):
    params = browser.login(platform.launch_url("teacher-1", "instructor", message_type="LtiDeepLinkingRequest"))
    settings = {"deep_link_return_url": f"{platform.url}/deep-link-return", "accept_types": ["file", "html"]}
    token = platform.id_token(params["lti_message_hint"], params["nonce"], **{DL_SETTINGS_CLAIM: settings})
    _refused(browser.post_launch(params["redirect_uri"], {"id_token": token, "state": params["state"]}),
             400, "does not accept resource links")


def test_a_browser_without_cookies_in_the_iframe_is_offered_the_launch_in_a_new_window(tool, platform, browser):
    params, token = _launch_with(browser, platform)
    browser.cookies.clear()  # the iframe kept no cookie
    page = browser.post_launch(params["redirect_uri"], {"id_token": token, "state": params["state"]})
    _refused(page, 401, "did not start in this browser")
    link = html.unescape(re.search(r'<a href="([^"]+)" target="_blank" rel="noopener">', page.text).group(1))
    window = Browser()
    try:
        assert urllib.parse.urlsplit(window.launch(f"{tool.url}{link}").headers["location"]).path == "/lti/hand-in"
    finally:
        window.close()


def test_a_forged_state_gets_no_new_window_link(tool, platform, browser):
    params, token = _launch_with(browser, platform)
    page = browser.post_launch(params["redirect_uri"], {"id_token": token, "state": "made-up-state"})
    _refused(page, 401, "did not start in this browser")
    assert "target=\"_blank\"" not in page.text


def test_an_invited_platform_registers_the_tool_and_the_operator_gets_its_settings(tool, other_platform, browser):
    page = browser.request("GET", other_platform.registration_url(f"{tool.url}/lti/register/{REGISTRATION_INVITE}"))
    assert page.status_code == 200, page.text
    [registered] = other_platform.registrations[-1:]
    block = html.unescape(re.search(r"<pre>(.*)</pre>", page.text, re.S).group(1))
    settings = tomllib.loads(block)["clients"]["other"]["lti"]
    assert settings["client_id"] == registered["client_id"]
    assert settings["issuer"] == other_platform.issuer
    assert settings["deployment_ids"] == ["deployment-dr"]
    assert settings["jwks_url"] == f"{other_platform.url}/jwks"
    assert "org.imsglobal.lti.close" in page.text


def test_a_registration_link_with_a_wrong_token_opens_nothing(tool, other_platform, browser):
    before = len(other_platform.registrations)
    page = browser.request("GET", other_platform.registration_url(f"{tool.url}/lti/register/made-up-token"))
    _refused(page, 404, "not valid")
    assert len(other_platform.registrations) == before


def test_a_platform_that_was_not_invited_cannot_register(tool, platform, browser):
    # `platform` (client lms) has no invitation; the other client's token does not let it in.
    page = browser.request("GET", platform.registration_url(f"{tool.url}/lti/register/{REGISTRATION_INVITE}"))
    _refused(page, 400, "not invited")
    assert platform.registrations == []


@pytest.mark.parametrize(
    "changes",
    [{"registration_endpoint": "http://127.0.0.1:9/register"}, {"jwks_uri": "http://127.0.0.1:9/jwks"},
     {"issuer": "https://elsewhere.example"}, {"token_endpoint": None}],
)
def test_a_configuration_pointing_elsewhere_is_refused_before_anything_is_posted(tool, other_platform, browser, changes):
    before = len(other_platform.registrations)
    other_platform.configuration_changes = changes
    try:
        page = browser.request("GET", other_platform.registration_url(f"{tool.url}/lti/register/{REGISTRATION_INVITE}"))
    finally:
        other_platform.configuration_changes = {}
    _refused(page, 400, "OpenID configuration is not usable")
    assert len(other_platform.registrations) == before

