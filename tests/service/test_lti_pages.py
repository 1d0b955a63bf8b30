"""The LTI pages in-process (FastAPI's TestClient, the service's real store and workers).

Sessions are made here directly (what a verified launch would hold) and chosen per request by
a test header; the launch protocol itself is tested in its own files.
"""

from __future__ import annotations

import dataclasses
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi import Request
from fastapi.testclient import TestClient

from grader.service.app import create_app
from grader.service.lti_launch import RESOURCE_LINK_REQUEST, Launch, Session
from grader.service.lti_session import current_session
from grader.service.lti_views import assignment_key
from grader.service.settings import ServiceSettings
from grader.service.store import Store
from grader.submission import MAX_BYTES
from tests.service.conftest import CLIENT_SECRET, LTI_CLIENT_ID, OTHER_CLIENT_SECRET
from tests.service.stand_in_grading import grade

PLATFORM = "http://localhost:9"
"""The platform's origin; nothing listens there, so scores stay pending (no test waits on them)."""
INSTRUCTOR = "http://purl.imsglobal.org/vocab/lis/v2/membership#Instructor"
LEARNER = "http://purl.imsglobal.org/vocab/lis/v2/membership#Learner"
SOURCE = b"def f():\n    return 1\n\nx = 2\n"


def launch(user: str = "student-1", *, staff: bool = False, client: str = "lms", context: str = "course-1",
           link: str = "link-1", **extra: Any) -> Launch:
    claims: dict[str, Any] = {
        "client": client, "issuer": PLATFORM, "deployment_id": "dep-1", "user_id": user, "name": f"Name of {user}",
        "roles": frozenset({INSTRUCTOR if staff else LEARNER}), "context_id": context,
        "context_title": "Deep Learning", "resource_link_id": link, "resource_link_title": "Regularization",
        "message_type": RESOURCE_LINK_REQUEST, "lineitem_url": f"{PLATFORM}/lineitems/{link}",
    }
    return Launch(**claims | extra)


@dataclasses.dataclass
class Pages:
    """The app with a session per name; requests name theirs in a header."""

    http: TestClient
    sessions: dict[str, Session]
    database: Path

    def login(self, name: str, as_launch: Launch) -> dict[str, str]:
        self.sessions[name] = Session(id=f"sess-{name}", launch=as_launch, csrf_token=f"csrf-{name}",
                                      expires_at=time.time() + 3600)
        return {"x-test-session": name}

    def hand_in(self, who: dict[str, str], filename: str = "solution.py", content: bytes = SOURCE,
                csrf: str | None = "auto") -> Any:
        token = f"csrf-{who['x-test-session']}" if csrf == "auto" else csrf
        data = {"csrf_token": token} if token is not None else {}
        return self.http.post("/lti/hand-in", headers=who, data=data, files={"file": (filename, content)},
                              follow_redirects=False)

    def job_id(self, response: Any) -> str:
        assert response.status_code == 303, response.text
        return re.search(r"/lti/submissions/(job_\w+)", response.headers["location"]).group(1)

    def stored(self) -> int:
        store = Store(self.database)
        try:
            return sum(store.counts()["jobs"].values())
        finally:
            store.close()

    def wait_graded(self, who: dict[str, str], job_id: str) -> str:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            page = self.http.get(f"/lti/submissions/{job_id}", headers=who).text
            if 'id="ready"' in page:
                return page
            time.sleep(0.05)
        raise AssertionError(f"{job_id} was not graded")


def _settings(tmp_path: Path, lti_key: tuple[Path, str], **overrides: Any) -> ServiceSettings:
    lti = {"client_id": LTI_CLIENT_ID, "token_url": f"{PLATFORM}/token", "private_key_file": str(lti_key[0]),
           "origins": [PLATFORM]}
    return ServiceSettings(
        database=tmp_path / "pages.db", grade_backend="process", unsafe_no_sandbox=True,
        clients={"lms": {"secret": CLIENT_SECRET, "lti": lti}, "other": {"secret": OTHER_CLIENT_SECRET, "lti": lti}},
        poll_interval_seconds=0.02, delivery_max_attempts=1, **overrides,
    )


@pytest.fixture
def make_pages(tmp_path: Path, lti_key: tuple[Path, str]) -> Iterator[Any]:
    opened: list[TestClient] = []

    def make(grade_fn: Any = grade, **overrides: Any) -> Pages:
        settings = _settings(tmp_path, lti_key, **overrides)
        app = create_app(settings, grade_fn=grade_fn)
        sessions: dict[str, Session] = {}

        def chosen(request: Request) -> Session:
            return sessions[request.headers["x-test-session"]]

        app.dependency_overrides[current_session] = chosen
        http = TestClient(app).__enter__()
        opened.append(http)
        return Pages(http, sessions, settings.database)

    yield make
    for http in opened:
        http.__exit__(None, None, None)


@pytest.fixture
def pages(make_pages: Any) -> Pages:
    return make_pages()


def test_the_hand_in_page_has_a_labelled_file_input_and_the_csrf_token(pages):
    page = pages.http.get("/lti/hand-in", headers=pages.login("s", launch())).text
    assert '<label for="file">' in page and 'id="file" name="file" type="file"' in page
    assert '<input type="hidden" name="csrf_token" value="csrf-s">' in page


def test_pages_may_be_framed_by_the_platform_only_and_are_never_cached(pages):
    response = pages.http.get("/lti/hand-in", headers=pages.login("s", launch()))
    assert "x-frame-options" not in response.headers
    assert response.headers["content-security-policy"].endswith(f"frame-ancestors 'self' {PLATFORM}")
    assert (response.headers["cache-control"], response.headers["referrer-policy"]) == ("no-store", "no-referrer")


def test_every_page_offers_to_open_itself_in_a_new_window(pages):
    page = pages.http.get("/lti/attempts", headers=pages.login("s", launch())).text
    assert re.search(r'<a href="/lti/new-window\?page=%2Flti%2Fattempts[^"]*">Open in a new window</a>', page)


OWN_ORIGIN = {"origin": "http://testserver"}
"""What a browser sends with the button of our own new-window page (TestClient's address)."""


def _handoff(pages: Pages, who: dict[str, str], page: str) -> str:
    button = pages.http.get("/lti/new-window", params={"page": page}, headers=who).text
    assert 'target="_blank"' in button
    return re.search(r'name="handoff" value="([^"]+)"', button).group(1)


def test_a_new_window_gets_a_session_of_its_own_for_the_same_launch(pages):
    handoff = _handoff(pages, pages.login("s", launch()), "/lti/attempts")
    response = pages.http.post("/lti/window", data={"handoff": handoff}, headers=OWN_ORIGIN, follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"].startswith("/lti/attempts")
    assert "grader_session" in response.headers["set-cookie"]
    store = Store(pages.database)
    try:
        [launch_data] = [row[0] for row in store._conn().execute("SELECT launch FROM lti_sessions")]
    finally:
        store.close()
    assert '"user_id":"student-1"' in launch_data.replace(" ", "")


@pytest.mark.parametrize("origin", [{"origin": "https://attacker.example"}, {"origin": "null"}, {}])
def test_a_handoff_posted_from_anywhere_but_the_tools_own_page_opens_no_session(pages, origin):
    """Login CSRF: another site posting a student's browser its own handoff would sign the student in
    as someone else, and their work would be handed in under that name."""
    handoff = _handoff(pages, pages.login("s", launch()), "/lti/hand-in")
    response = pages.http.post("/lti/window", data={"handoff": handoff}, headers=origin, follow_redirects=False)
    assert response.status_code == 403 and "set-cookie" not in response.headers
    assert pages.http.post("/lti/window", data={"handoff": handoff}, headers=OWN_ORIGIN,
                           follow_redirects=False).status_code == 303


def test_a_new_window_session_ends_when_the_session_that_opened_it_does(pages):
    """Pressing the button again and again must not keep a launch alive past its session."""
    who = pages.login("s", launch())
    opened_by = pages.sessions["s"].expires_at
    handoff = _handoff(pages, who, "/lti/hand-in")
    pages.http.post("/lti/window", data={"handoff": handoff}, headers=OWN_ORIGIN, follow_redirects=False)
    store = Store(pages.database)
    try:
        [expires_at] = [row[0] for row in store._conn().execute("SELECT expires_at FROM lti_sessions")]
    finally:
        store.close()
    assert expires_at <= opened_by


def test_a_handoff_works_once(pages):
    handoff = _handoff(pages, pages.login("s", launch()), "/lti/attempts")
    def post():
        return pages.http.post("/lti/window", data={"handoff": handoff}, headers=OWN_ORIGIN, follow_redirects=False)

    assert post().status_code == 303
    assert post().status_code == 401


def test_a_handoff_leads_only_to_the_tools_own_pages(pages):
    handoff = _handoff(pages, pages.login("s", launch()), "https://attacker.example/phish")
    response = pages.http.post("/lti/window", data={"handoff": handoff}, headers=OWN_ORIGIN, follow_redirects=False)
    assert response.headers["location"].startswith("/lti/hand-in")


def test_text_from_the_platform_is_escaped(pages):
    who = pages.login("s", launch(resource_link_title="<script>alert(1)</script>"))
    page = pages.http.get("/lti/hand-in", headers=who).text
    assert "<script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_a_hand_in_is_graded_as_a_job_of_the_launch_and_the_status_page_links_the_feedback(pages):
    who = pages.login("s", launch())
    job_id = pages.job_id(pages.hand_in(who))
    page = pages.wait_graded(who, job_id)
    assert "Graded: <strong>4 / 10</strong>" in page
    assert f'href="/lti/submissions/{job_id}/feedback' in page
    store = Store(pages.database)
    try:
        found = store.job_status(job_id)
    finally:
        store.close()
    assert (found["job"]["client"], found["job"]["student_id"]) == ("lms", "student-1")
    assert found["job"]["assignment"] == assignment_key(launch())
    assert [(d["kind"], d["url"]) for d in found["deliveries"]] == [("lti", f"{PLATFORM}/lineitems/link-1/scores")]


def test_the_status_page_refreshes_itself_until_the_grade_is_ready(make_pages, monkeypatch):
    monkeypatch.setenv("STANDIN_GRADE_SECONDS", "1.5")
    pages = make_pages()
    who = pages.login("s", launch())
    job_id = pages.job_id(pages.hand_in(who))
    waiting = pages.http.get(f"/lti/submissions/{job_id}", headers=who).text
    assert '<meta http-equiv="refresh" content="2">' in waiting and "Refresh now" in waiting
    assert '<meta http-equiv="refresh"' not in pages.wait_graded(who, job_id)


def test_a_submission_the_grader_failed_on_says_it_is_held_for_a_person(make_pages):
    def failing(*_: Any, **__: Any) -> Any:
        raise RuntimeError("the grader broke")

    pages = make_pages(grade_fn=failing, max_job_attempts=1)
    who = pages.login("s", launch())
    page = pages.wait_graded(who, pages.job_id(pages.hand_in(who)))
    assert "The grader failed on this submission, not your code; a person will look at it." in page
    assert "Graded:" not in page


def test_the_feedback_page_says_whether_the_score_reached_the_gradebook(pages):
    who = pages.login("s", launch())
    job_id = pages.job_id(pages.hand_in(who))
    pages.wait_graded(who, job_id)
    page = pages.http.get(f"/lti/submissions/{job_id}/feedback", headers=who).text
    assert re.search(r'id="gradebook">Gradebook: (being sent to|could not be sent to) your course', page)


def test_a_link_without_a_gradebook_column_says_the_score_is_not_sent(pages):
    who = pages.login("s", launch(lineitem_url=None))
    job_id = pages.job_id(pages.hand_in(who))
    pages.wait_graded(who, job_id)
    page = pages.http.get(f"/lti/submissions/{job_id}/feedback", headers=who).text
    assert "Gradebook: not sent: this link of your course has no gradebook column." in page


def test_a_post_without_the_csrf_token_is_refused_and_stores_nothing(pages):
    response = pages.hand_in(pages.login("s", launch()), csrf=None)
    assert response.status_code == 403
    assert pages.stored() == 0


def test_a_post_with_another_sessions_csrf_token_is_refused(pages):
    pages.login("other", launch("student-2"))
    response = pages.hand_in(pages.login("s", launch()), csrf="csrf-other")
    assert response.status_code == 403
    assert pages.stored() == 0


def test_an_oversized_python_file_is_refused_with_413_and_stores_nothing(pages):
    response = pages.hand_in(pages.login("s", launch()), content=b"x = 1\n" * (MAX_BYTES // 6 + 1))
    assert response.status_code == 413
    assert "larger than 2 MB" in response.text and "Nothing was stored" in response.text
    assert pages.stored() == 0


def test_a_body_over_max_body_bytes_is_refused_before_it_is_read(make_pages):
    pages = make_pages(max_body_bytes=1000)
    response = pages.hand_in(pages.login("s", launch()), content=b"x = 1\n" * 200)
    assert response.status_code == 413
    assert pages.stored() == 0


def test_a_binary_file_is_refused_with_the_reason_and_stores_nothing(pages):
    response = pages.hand_in(pages.login("s", launch()), content=b"\x7fELF\x00\x01\x02" * 50)
    assert response.status_code == 422
    assert "the file is binary, not Python source" in response.text
    assert pages.stored() == 0


def test_a_file_of_another_kind_is_refused_with_415(pages):
    response = pages.hand_in(pages.login("s", launch()), filename="solution.pdf", content=b"%PDF-1.4")
    assert response.status_code == 415
    assert "Hand in a .py file or a .ipynb notebook." in response.text
    assert pages.stored() == 0


def test_a_notebook_is_stored_as_its_code_cells(pages):
    notebook = (b'{"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": [{"cell_type": "code", '
                b'"metadata": {}, "execution_count": 1, "outputs": [{"output_type": "stream", "name": "stdout", '
                b'"text": "secret output"}], "source": "x = 1\\n"}]}')
    who = pages.login("s", launch())
    job_id = pages.job_id(pages.hand_in(who, filename="work.ipynb", content=notebook))
    store = Store(pages.database)
    try:
        [content] = store._conn().execute("SELECT content FROM submissions WHERE id = ?", (job_id,)).fetchone()
    finally:
        store.close()
    assert b"x = 1" in content and b"secret output" not in content


def test_the_resubmission_limit_answers_429_on_the_page(make_pages):
    pages = make_pages(resubmission_limit=1)
    who = pages.login("s", launch())
    pages.job_id(pages.hand_in(who))
    response = pages.hand_in(who)
    assert response.status_code == 429 and "the next hand-in is possible in" in response.text
    assert pages.stored() == 1


def test_the_clients_rate_limit_answers_429_on_the_page(make_pages):
    pages = make_pages(rate_limit_burst=1, rate_limit_per_minute=1)
    who = pages.login("s", launch())
    pages.job_id(pages.hand_in(who))
    response = pages.hand_in(who)
    assert response.status_code == 429 and "Too many hand-ins at the moment" in response.text
    assert pages.stored() == 1


def test_a_student_asking_for_another_students_submission_gets_404(pages):
    first = pages.login("first", launch("student-1"))
    job_id = pages.job_id(pages.hand_in(first))
    pages.wait_graded(first, job_id)
    second = pages.login("second", launch("student-2"))
    assert pages.http.get(f"/lti/submissions/{job_id}", headers=second).status_code == 404
    assert pages.http.get(f"/lti/submissions/{job_id}/feedback", headers=second).status_code == 404


def test_the_same_user_id_from_another_client_sees_nothing(pages):
    mine = pages.login("mine", launch("student-1"))
    job_id = pages.job_id(pages.hand_in(mine))
    theirs = pages.login("theirs", launch("student-1", client="other"))
    assert pages.http.get(f"/lti/submissions/{job_id}", headers=theirs).status_code == 404
    assert "You have not handed in anything" in pages.http.get("/lti/attempts", headers=theirs).text


def test_staff_see_their_courses_submissions_but_not_another_courses(pages):
    student = pages.login("student", launch("student-1"))
    job_id = pages.job_id(pages.hand_in(student))
    pages.wait_graded(student, job_id)
    teacher = pages.login("teacher", launch("teacher-1", staff=True))
    elsewhere = pages.login("elsewhere", launch("teacher-2", staff=True, context="course-2"))
    assert pages.http.get(f"/lti/submissions/{job_id}/feedback", headers=teacher).status_code == 200
    assert pages.http.get(f"/lti/submissions/{job_id}/feedback", headers=elsewhere).status_code == 404
    assert "No student has handed in yet." in pages.http.get("/lti/class", headers=elsewhere).text


def test_staff_of_another_client_do_not_see_the_submission(pages):
    student = pages.login("student", launch("student-1"))
    job_id = pages.job_id(pages.hand_in(student))
    stranger = pages.login("stranger", launch("teacher-1", staff=True, client="other"))
    assert pages.http.get(f"/lti/submissions/{job_id}", headers=stranger).status_code == 404


def test_students_cannot_open_the_class_view(pages):
    who = pages.login("s", launch())
    assert pages.http.get("/lti/class", headers=who).status_code == 403
    assert pages.http.get("/lti/class/summary", headers=who).status_code == 403


def test_attempts_list_only_the_students_own_newest_first(pages):
    who = pages.login("s", launch())
    older = pages.job_id(pages.hand_in(who, filename="first.py"))
    newer = pages.job_id(pages.hand_in(who, filename="second.py"))
    other = pages.login("o", launch("student-2"))
    pages.job_id(pages.hand_in(other, filename="theirs.py"))
    page = pages.http.get("/lti/attempts", headers=who).text
    assert page.index(newer) < page.index(older)
    assert "theirs.py" not in page


def test_the_class_view_lists_each_students_latest_attempt_by_name(pages):
    for user in ("student-1", "student-2"):
        who = pages.login(user, launch(user))
        pages.job_id(pages.hand_in(who))
        pages.wait_graded(who, pages.job_id(pages.hand_in(who, content=SOURCE * 2)))
    page = pages.http.get("/lti/class", headers=pages.login("t", launch("teacher-1", staff=True))).text
    for user in ("student-1", "student-2"):
        row = rf"<th scope=\"row\">Name of {user} \({user}\)</th>\s*<td>8 / 10 \(graded\)</td>\s*<td>2</td>"
        assert re.search(row, page)


def test_without_a_session_the_pages_answer_401(tmp_path, lti_key):
    with TestClient(create_app(_settings(tmp_path, lti_key), grade_fn=grade)) as http:
        assert http.get("/lti/hand-in").status_code == 401


def test_the_new_window_address_reads_no_large_bodies(pages):
    response = pages.http.post("/lti/window", data={"handoff": "x" * 5000}, follow_redirects=False)
    assert response.status_code == 413

def test_the_feedback_page_shows_each_functions_score_diagnosis_and_failures_as_the_report_says(make_pages):
    from tests.service.test_lti_views import _report_with_hidden_failure

    pages = make_pages(grade_fn=lambda *_, **__: _report_with_hidden_failure())
    who = pages.login("s", launch())
    job_id = pages.job_id(pages.hand_in(who))
    pages.wait_graded(who, job_id)
    page = pages.http.get(f"/lti/submissions/{job_id}/feedback", headers=who).text
    assert re.search(r'compute_cost_with_regularization</a></th>\s*<td>1 / 3</td>\s*<td class="failed">not yet', page)
    assert "<strong>Diagnosis:</strong> Revisit the 1/2 of the L2 term." in page
    assert "<li>cost-hidden (hidden): cost is outside the tolerance</li>" in page
    assert "cost-public" not in page


def test_staff_read_the_full_class_summary(pages):
    who = pages.login("s", launch())
    pages.wait_graded(who, pages.job_id(pages.hand_in(who)))
    page = pages.http.get("/lti/class/summary", headers=pages.login("t", launch("teacher-1", staff=True)))
    assert page.status_code == 200 and "class summary</title>" in page.text


def test_a_hand_in_without_a_declared_size_is_refused_before_it_is_read(pages):
    who = pages.login("s", launch())
    body = (b'--b\r\nContent-Disposition: form-data; name="csrf_token"\r\n\r\ncsrf-s\r\n--b\r\n'
            b'Content-Disposition: form-data; name="file"; filename="a.py"\r\n\r\nx = 1\n\r\n--b--\r\n')
    response = pages.http.post("/lti/hand-in", headers=who | {"content-type": "multipart/form-data; boundary=b"},
                               content=iter([body]), follow_redirects=False)
    assert response.status_code == 411
    assert pages.stored() == 0
