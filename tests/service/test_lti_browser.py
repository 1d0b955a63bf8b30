"""The launch in a real browser: headless Chromium opens the tool in the stand-in platform's iframe."""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterator

import pytest


playwright = pytest.importorskip("playwright.sync_api")

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def chromium() -> Iterator:
    with playwright.sync_playwright() as driver:
        # The system's Chromium where there is one (no download); else Playwright's own.
        executable = shutil.which("chromium") or shutil.which("chromium-browser")
        browser = driver.chromium.launch(executable_path=executable, args=["--no-sandbox"])
        yield browser
        browser.close()


def _wait_for(predicate, seconds: float = 20.0) -> None:
    deadline = time.monotonic() + seconds
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_an_instructor_adds_the_assignment_from_the_platforms_iframe(chromium, lti_stand_ins):
    tool, platform, _ = lti_stand_ins
    page = chromium.new_page()
    try:
        launch = platform.launch_url("teacher-1", "instructor", message_type="LtiDeepLinkingRequest",
                                     context="course-browser")
        before = len(platform.lineitems)
        page.goto(platform.course_page_url(launch))
        frame = page.frame_locator("iframe")
        frame.get_by_role("button", name="Add this assignment").click()
        _wait_for(lambda: len(platform.lineitems) > before)
        assert [item["scoreMaximum"] for item in platform.lineitems.values()][-1] == 80.0
        assert platform.errors == []
    finally:
        page.close()


def test_a_student_sees_a_page_not_a_deep_linking_form(chromium, lti_stand_ins):
    tool, platform, _ = lti_stand_ins
    page = chromium.new_page()
    try:
        page.goto(platform.course_page_url(platform.launch_url("student-1", message_type="LtiDeepLinkingRequest")))
        frame = page.frame_locator("iframe")
        assert "Only instructors" in frame.locator("main").inner_text(timeout=20_000)
    finally:
        page.close()
