"""Parsing and refusing submissions, before anything is stored."""

from __future__ import annotations

import base64
import json

import pytest

from grader.service.intake import Unacceptable, check_allowed, parse_json
from grader.service.settings import ClientSettings

SECRET = "whsec_" + base64.b64encode(b"x" * 32).decode()


def _body(**fields):
    return json.dumps({"assignment": "reg", "student_id": "s", "filename": "f.py", "source": "x = 1\n"} | fields).encode()


def test_source_text_is_utf8_encoded():
    intake = parse_json(_body(source="π = 3\n"))
    assert (intake.filename, intake.content) == ("f.py", "π = 3\n".encode())


def test_source_base64_is_decoded():
    body = json.loads(_body())
    del body["source"]
    body["source_base64"] = base64.b64encode(b"\x00\x01").decode()
    assert parse_json(json.dumps(body).encode()).content == b"\x00\x01"


def test_every_problem_is_listed():
    with pytest.raises(Unacceptable) as refused:
        parse_json(json.dumps({"filename": "a/b.py"}).encode())
    errors = " ".join(refused.value.errors)
    assert "assignment: Field required" in errors
    assert "student_id: Field required" in errors
    assert "plain file name" in errors


def test_unknown_assignment_is_refused():
    intake = parse_json(_body(assignment="other"))
    with pytest.raises(Unacceptable, match="cannot be accepted") as refused:
        check_allowed(intake, ClientSettings(secret=SECRET), accepted_assignments=["reg"], has_callback_secret=True)
    assert refused.value.errors == ["assignment: 'other' is not graded here"]


def test_lti_needs_a_configured_platform():
    intake = parse_json(_body(lti={"lineitem_url": "https://lms.example/li/1", "user_id": "u"}))
    with pytest.raises(Unacceptable) as refused:
        check_allowed(intake, ClientSettings(secret=SECRET), accepted_assignments=[], has_callback_secret=True)
    assert refused.value.errors == ["lti: this client has no LTI platform configured"]


def test_callbacks_need_our_secret():
    intake = parse_json(_body(callback_url="https://lms.example/cb"))
    with pytest.raises(Unacceptable) as refused:
        check_allowed(intake, _client(["https://lms.example"]), accepted_assignments=[], has_callback_secret=False)
    assert refused.value.errors == ["callback_url: this service has no callback_secret configured"]


def _client(callback_origins=(), lti_origins=None):
    lti = None
    if lti_origins is not None:
        lti = {"client_id": "tool", "token_url": "https://lms.example.edu/token", "private_key_file": "tool.pem",
               "origins": lti_origins}
    return ClientSettings(secret=SECRET, callback_origins=list(callback_origins), lti=lti)


def _refusals(intake, client):
    with pytest.raises(Unacceptable) as refused:
        check_allowed(intake, client, accepted_assignments=[], has_callback_secret=True)
    return refused.value.errors


def test_callbacks_need_the_client_to_have_callback_origins():
    intake = parse_json(_body(callback_url="http://169.254.169.254/latest/meta-data/"))
    assert _refusals(intake, _client()) == ["callback_url: this client has no callback_origins configured"]


@pytest.mark.parametrize(
    "url", ["https://lms.example.edu@attacker.test/cb", "https://lms.example.edu.attacker.test/cb"]
)
def test_a_callback_url_that_only_starts_like_an_origin_is_refused(url):
    # Written without a trailing slash, the origin used to be a prefix of both.
    intake = parse_json(_body(callback_url=url))
    [error] = _refusals(intake, _client(["https://lms.example.edu"]))
    assert error.startswith("callback_url: ")


def test_a_callback_url_on_a_configured_origin_is_accepted():
    intake = parse_json(_body(callback_url="https://LMS.example.edu:443/hooks/grader"))
    check_allowed(intake, _client(["https://lms.example.edu"]), accepted_assignments=[], has_callback_secret=True)


def test_a_line_item_must_be_on_the_platforms_origins_not_the_callback_origins():
    intake = parse_json(_body(lti={"lineitem_url": "https://hooks.example.edu/li/1", "user_id": "u"}))
    client = _client(["https://hooks.example.edu"], lti_origins=["https://canvas.example.edu"])
    assert _refusals(intake, client) == [
        "lti.lineitem_url: https://hooks.example.edu is not one of the allowed origins (lti.origins)"
    ]


def test_a_line_item_on_the_platforms_origin_is_accepted():
    intake = parse_json(_body(lti={"lineitem_url": "https://canvas.example.edu/api/lti/li/1", "user_id": "u"}))
    client = _client(lti_origins=["https://canvas.example.edu"])
    check_allowed(intake, client, accepted_assignments=[], has_callback_secret=True)
