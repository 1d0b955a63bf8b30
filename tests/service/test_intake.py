"""Parsing and refusing submissions, before anything is stored."""

from __future__ import annotations

import asyncio
import base64
import json

import httpx
import pytest

from grader.notebook import MAX_NOTEBOOK_BYTES, strip
from grader.service.intake import Unacceptable, check_allowed, parse_json, parse_multipart
from grader.service.settings import ClientSettings, ServiceSettings
from tests.notebook_files import MB, correct_notebook, dump, notebook_with_figures
from tests.service.conftest import CLIENT_SECRET
from tests.service.lms_standin import signed_post

SECRET = "whsec_" + base64.b64encode(b"x" * 32).decode()
CALLBACK = "whsec_" + base64.b64encode(b"y" * 32).decode()


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
        check_allowed(intake, ClientSettings(secret=SECRET), accepted_assignments=["reg"])
    assert refused.value.errors == ["assignment: 'other' is not graded here"]


def test_lti_needs_a_configured_platform():
    intake = parse_json(_body(lti={"lineitem_url": "https://lms.example/li/1", "user_id": "u"}))
    with pytest.raises(Unacceptable) as refused:
        check_allowed(intake, ClientSettings(secret=SECRET), accepted_assignments=[])
    assert refused.value.errors == ["lti: this client has no LTI platform configured"]


def test_callbacks_need_our_secret():
    intake = parse_json(_body(callback_url="https://lms.example/cb"))
    with pytest.raises(Unacceptable) as refused:
        check_allowed(intake, _client(["https://lms.example"], callback_secret=None), accepted_assignments=[])
    assert refused.value.errors == ["callback_url: this client has no callback_secret configured"]


# ---------------------------------------------------------------- notebooks


def _notebook_body(content: bytes) -> bytes:
    metadata = {"assignment": "regularization", "student_id": "s", "filename": "Regularization.ipynb"}
    return json.dumps(metadata | {"source_base64": base64.b64encode(content).decode()}).encode()


def _multipart(content: bytes, filename: str = "Regularization.ipynb") -> httpx.Request:
    metadata = {"assignment": "regularization", "student_id": "s"}
    return httpx.Request("POST", "http://x", files={"file": (filename, content)}, data={"metadata": json.dumps(metadata)})


def _parse_multipart(content: bytes):
    request = _multipart(content)
    scope = {"type": "http", "method": "POST", "path": "/", "query_string": b"",
             "headers": [(b"content-type", request.headers["content-type"].encode())]}
    return asyncio.run(parse_multipart(scope, request.read()))


def test_json_notebooks_are_stored_without_their_outputs():
    intake = parse_json(_notebook_body(notebook_with_figures(20 * MB)))
    assert intake.content == strip(dump(correct_notebook()))


def test_multipart_notebooks_are_stored_without_their_outputs():
    intake = _parse_multipart(notebook_with_figures(20 * MB))
    assert (intake.filename, intake.content) == ("Regularization.ipynb", strip(dump(correct_notebook())))


def test_an_unreadable_notebook_is_refused_with_the_reason():
    with pytest.raises(Unacceptable, match="the notebook cannot be graded") as refused:
        parse_json(_notebook_body(b'{"cells": ['))
    assert refused.value.status == 422
    assert refused.value.errors == ["the notebook is not valid JSON; download it again from Jupyter"]


def test_a_notebook_over_the_ceiling_is_refused_by_multipart():
    with pytest.raises(Unacceptable) as refused:
        _parse_multipart(b" " * (MAX_NOTEBOOK_BYTES + 1))
    assert "larger than 32 MB" in refused.value.errors[0]


def test_the_default_body_limit_fits_the_largest_notebook_as_base64_json():
    largest = len(_notebook_body(b" " * MAX_NOTEBOOK_BYTES))
    assert ServiceSettings().max_body_bytes >= largest


def _grade_all(service, bodies):
    """Post each (body, content type) and wait for its grading."""
    responses = [signed_post(service.http, f"{service.url}/v1/submissions", body, CLIENT_SECRET, content_type=kind)
                 for body, kind in bodies]
    assert [response.status_code for response in responses] == [202] * len(bodies), responses[-1].text
    return [service.wait_for(response.json()["job_id"], lambda s: s["state"] == "done", seconds=120)
            for response in responses]


@pytest.mark.slow
def test_json_intake_gives_full_marks_to_notebooks_with_1_5_and_20_mb_of_figures(start_service):
    service = start_service(grade_function="grader.engine:grade", grade_backend="process")
    bodies = [(_notebook_body(notebook_with_figures(size * MB)), "application/json") for size in (1, 5, 20)]
    assert [(done["status"], done["score"]) for done in _grade_all(service, bodies)] == [("graded", 80)] * 3


@pytest.mark.slow
def test_multipart_intake_gives_full_marks_to_notebooks_with_1_5_and_20_mb_of_figures(start_service):
    service = start_service(grade_function="grader.engine:grade", grade_backend="process")
    requests = [_multipart(notebook_with_figures(size * MB)) for size in (1, 5, 20)]
    bodies = [(request.read(), request.headers["content-type"]) for request in requests]
    assert [(done["status"], done["score"]) for done in _grade_all(service, bodies)] == [("graded", 80)] * 3
def _client(callback_origins=(), lti_origins=None, callback_secret=CALLBACK):
    lti = None
    if lti_origins is not None:
        lti = {"client_id": "tool", "token_url": "https://lms.example.edu/token", "private_key_file": "tool.pem",
               "origins": lti_origins}
    return ClientSettings(secret=SECRET, callback_secret=callback_secret, callback_origins=list(callback_origins), lti=lti)


def _refusals(intake, client):
    with pytest.raises(Unacceptable) as refused:
        check_allowed(intake, client, accepted_assignments=[])
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
    check_allowed(intake, _client(["https://lms.example.edu"]), accepted_assignments=[])


def test_a_line_item_must_be_on_the_platforms_origins_not_the_callback_origins():
    intake = parse_json(_body(lti={"lineitem_url": "https://hooks.example.edu/li/1", "user_id": "u"}))
    client = _client(["https://hooks.example.edu"], lti_origins=["https://canvas.example.edu"])
    assert _refusals(intake, client) == [
        "lti.lineitem_url: https://hooks.example.edu is not one of the allowed origins (lti.origins)"
    ]


def test_a_line_item_on_the_platforms_origin_is_accepted():
    intake = parse_json(_body(lti={"lineitem_url": "https://canvas.example.edu/api/lti/li/1", "user_id": "u"}))
    client = _client(lti_origins=["https://canvas.example.edu"])
    check_allowed(intake, client, accepted_assignments=[])
