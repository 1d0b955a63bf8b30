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
        check_allowed(intake, ClientSettings(secret=SECRET), accepted_assignments=[], has_callback_secret=False)
    assert refused.value.errors == ["callback_url: this service has no callback_secret configured"]
