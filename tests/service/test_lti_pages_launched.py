"""The pages behind real launches: the service under uvicorn, sessions opened by the stand-in platforms.

Isolation and CSRF with the cookies and sessions a launch really makes, not test overrides.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator

import pytest

from tests.service.lti_platform import Browser, StandInPlatform

pytestmark = pytest.mark.slow


@pytest.fixture
def tool(start_lti_service):
    return start_lti_service()


@pytest.fixture
def browsers() -> Iterator[list[Browser]]:
    opened: list[Browser] = []
    yield opened
    for browser in opened:
        browser.close()


def _launched(browsers: list[Browser], platform: StandInPlatform, user: str, role: str = "student",
              **launch: str) -> Browser:
    browser = Browser()
    browsers.append(browser)
    response = browser.launch(platform.launch_url(user, role, **launch))
    assert response.status_code == 303, response.text
    return browser


def _csrf_token(browser: Browser, tool) -> str:
    page = browser.request("GET", f"{tool.url}/lti/hand-in").text
    return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)


def _hand_in(browser: Browser, tool, token: str | None) -> object:
    data = {"csrf_token": token} if token is not None else {}
    return browser.request("POST", f"{tool.url}/lti/hand-in", data=data,
                           files={"file": ("solution.py", b"x = 1\ny = 2\n")})


def _job_id(browser: Browser, tool) -> str:
    response = _hand_in(browser, tool, _csrf_token(browser, tool))
    assert response.status_code == 303, response.text
    return re.search(r"/lti/submissions/(job_[0-9a-f]+)", response.headers["location"]).group(1)


def _graded(browser: Browser, tool, job_id: str) -> None:
    deadline = time.monotonic() + 30
    while 'id="ready"' not in browser.request("GET", f"{tool.url}/lti/submissions/{job_id}").text:
        assert time.monotonic() < deadline, f"{job_id} was not graded"
        time.sleep(0.1)


def test_a_launched_student_hands_in_and_reads_the_feedback(tool, platform, browsers):
    student = _launched(browsers, platform, "student-1", lineitem=platform.add_lineitem())
    job_id = _job_id(student, tool)
    _graded(student, tool, job_id)
    assert student.request("GET", f"{tool.url}/lti/submissions/{job_id}/feedback").status_code == 200


def test_a_hand_in_without_the_csrf_token_is_refused(tool, platform, browsers):
    student = _launched(browsers, platform, "student-1")
    assert _hand_in(student, tool, None).status_code == 403


def test_a_hand_in_with_another_sessions_csrf_token_is_refused(tool, platform, browsers):
    student = _launched(browsers, platform, "student-1")
    other = _launched(browsers, platform, "student-2")
    assert _hand_in(student, tool, _csrf_token(other, tool)).status_code == 403


def test_another_student_asking_for_a_students_report_gets_404(tool, platform, browsers):
    student = _launched(browsers, platform, "student-1")
    job_id = _job_id(student, tool)
    _graded(student, tool, job_id)
    other = _launched(browsers, platform, "student-2")
    assert other.request("GET", f"{tool.url}/lti/submissions/{job_id}/feedback").status_code == 404


def test_staff_of_the_course_see_the_report_and_staff_of_another_course_do_not(tool, platform, browsers):
    student = _launched(browsers, platform, "student-1")
    job_id = _job_id(student, tool)
    _graded(student, tool, job_id)
    teacher = _launched(browsers, platform, "teacher-1", "instructor")
    elsewhere = _launched(browsers, platform, "teacher-2", "instructor", context="course-2")
    assert teacher.request("GET", f"{tool.url}/lti/submissions/{job_id}/feedback").status_code == 200
    assert elsewhere.request("GET", f"{tool.url}/lti/submissions/{job_id}/feedback").status_code == 404


def test_the_same_user_and_course_on_another_platform_see_nothing(tool, platform, other_platform, browsers):
    student = _launched(browsers, platform, "student-1")
    job_id = _job_id(student, tool)
    _graded(student, tool, job_id)
    namesake = _launched(browsers, other_platform, "student-1")
    teacher = _launched(browsers, other_platform, "teacher-1", "instructor")
    assert namesake.request("GET", f"{tool.url}/lti/submissions/{job_id}").status_code == 404
    assert teacher.request("GET", f"{tool.url}/lti/submissions/{job_id}/feedback").status_code == 404
    assert "No student has handed in yet." in teacher.request("GET", f"{tool.url}/lti/class").text
