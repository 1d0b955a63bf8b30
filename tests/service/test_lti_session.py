"""Sessions of LTI launches: stored by hash, expiring, found from the cookie, CSRF-checked forms."""

from __future__ import annotations

import dataclasses

import pytest
from fastapi import Depends, FastAPI
from fastapi.testclient import TestClient

from grader.service.lti_launch import DEEP_LINKING_REQUEST, RESOURCE_LINK_REQUEST, Launch, Session
from grader.service.lti_session import (
    SESSION_COOKIE,
    SESSION_SECONDS,
    LtiRefused,
    check_csrf,
    current_session,
    find_session,
    open_session,
    refusal_response,
    session_handle,
    session_url,
)

LAUNCH = Launch(
    client="lms", issuer="https://lms.example", deployment_id="d1", user_id="u1", name="Ada",
    roles=frozenset({"http://purl.imsglobal.org/vocab/lis/v2/membership#Learner"}), context_id="c1",
    context_title="Course", resource_link_id="r1", resource_link_title="Regularization",
    message_type=RESOURCE_LINK_REQUEST, lineitem_url="https://lms.example/lineitems/1",
)


def test_an_open_session_is_found_by_its_id_with_its_launch(store):
    session = open_session(store, LAUNCH, now=1000.0)
    assert find_session(store, session.id, now=1001.0) == session


def test_the_database_holds_no_session_id(store, tmp_path):
    session = open_session(store, LAUNCH, now=1000.0)
    assert session.id.encode() not in (tmp_path / "db.sqlite").read_bytes() + (tmp_path / "db.sqlite-wal").read_bytes()


def test_a_session_expires(store):
    session = open_session(store, LAUNCH, now=1000.0)
    assert find_session(store, session.id, now=1000.0 + SESSION_SECONDS) is None


def test_an_unknown_session_id_finds_nothing(store):
    open_session(store, LAUNCH, now=1000.0)
    assert find_session(store, "made-up", now=1001.0) is None


def test_the_csrf_token_of_the_session_passes():
    session = Session(id="s", launch=LAUNCH, csrf_token="token-1", expires_at=2.0)
    check_csrf(session, "token-1")


@pytest.mark.parametrize("offered", [None, "", "token-2", "token-1 "])
def test_any_other_csrf_token_is_refused_with_403(offered):
    session = Session(id="s", launch=LAUNCH, csrf_token="token-1", expires_at=2.0)
    with pytest.raises(LtiRefused) as refused:
        check_csrf(session, offered)
    assert refused.value.status == 403


def test_session_url_names_the_session_by_its_handle_not_its_id():
    session = Session(id="secret-session-id", launch=LAUNCH, csrf_token="t", expires_at=2.0)
    assert session_url(session, "/lti/hand-in") == f"/lti/hand-in?s={session_handle(session.id)}"
    assert session_url(session, "/lti/report?job=j1") == f"/lti/report?job=j1&s={session_handle(session.id)}"
    assert session.id not in session_url(session, "/lti/hand-in")


def test_session_url_refuses_what_is_not_a_tool_page():
    session = Session(id="s", launch=LAUNCH, csrf_token="t", expires_at=2.0)
    with pytest.raises(ValueError):
        session_url(session, "https://elsewhere.example/")


class _Runtime:
    def __init__(self, store, now):
        self.store = store
        self.clock = lambda: now


def _app(store, now: float) -> TestClient:
    app = FastAPI()
    app.state.lti_runtime = _Runtime(store, now)
    app.add_exception_handler(LtiRefused, lambda _, error: refusal_response(error))

    @app.get("/lti/whoami")
    def whoami(session: Session = Depends(current_session)) -> dict:
        return {"user": session.launch.user_id}

    return TestClient(app)


def test_current_session_reads_the_session_cookie(store):
    session = open_session(store, LAUNCH, now=1000.0)
    client = _app(store, 1001.0)
    assert client.get("/lti/whoami", headers={"cookie": f"{SESSION_COOKIE}={session.id}"}).json() == {"user": "u1"}


def test_current_session_takes_the_session_the_url_names(store):
    first = open_session(store, LAUNCH, now=1000.0)
    latest = open_session(store, dataclasses.replace(LAUNCH, user_id="u2"), now=1000.0)
    cookies = {f"{SESSION_COOKIE}_{session_handle(first.id)}": first.id, f"{SESSION_COOKIE}_{session_handle(latest.id)}": latest.id,
               SESSION_COOKIE: latest.id}
    cookie = "; ".join(f"{name}={value}" for name, value in cookies.items())
    client = _app(store, 1001.0)
    assert client.get(session_url(first, "/lti/whoami"), headers={"cookie": cookie}).json() == {"user": "u1"}
    assert client.get("/lti/whoami", headers={"cookie": cookie}).json() == {"user": "u2"}


def test_a_handle_whose_cookie_holds_another_session_opens_nothing(store):
    first = open_session(store, LAUNCH, now=1000.0)
    other = open_session(store, LAUNCH, now=1000.0)
    cookie = f"{SESSION_COOKIE}_{session_handle(first.id)}={other.id}"
    assert _app(store, 1001.0).get(session_url(first, "/lti/whoami"), headers={"cookie": cookie}).status_code == 401


def test_current_session_answers_401_html_without_a_session(store):
    response = _app(store, 1001.0).get("/lti/whoami")
    assert response.status_code == 401
    assert response.headers["content-type"].startswith("text/html")
    assert "Open the assignment from your course again" in response.text


def test_a_deep_linking_session_does_not_open_the_pages(store):
    session = open_session(store, dataclasses.replace(LAUNCH, message_type=DEEP_LINKING_REQUEST), now=1000.0)
    response = _app(store, 1001.0).get("/lti/whoami", headers={"cookie": f"{SESSION_COOKIE}={session.id}"})
    assert response.status_code == 401
