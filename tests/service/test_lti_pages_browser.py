"""The whole LTI flow in headless Chromium, graded for real in the Docker sandbox.

The stand-in platform shows the tool in an iframe of its course page, as an LMS does, from
another origin than the tool's (the platform at http://127.0.0.1:P, the tool at
http://localhost:S): a student launches, hands in a file, follows the status to the feedback,
and the score arrives at the platform's AGS endpoint; an instructor's launch opens the class view.
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import pytest

from tests.service.conftest import REPO

pytestmark = [pytest.mark.slow, pytest.mark.docker]

MISTAKE = REPO / "submissions" / "mistakes" / "cost_lambda_over_m.py"
GRADING_SECONDS = 240


def _chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        pytest.skip("headless Chromium is missing; install it with `apt-get install -y chromium`")
    return found


@pytest.fixture
def browser():
    sync_api = pytest.importorskip("playwright.sync_api", reason="pip install playwright (the dev extra)")
    with sync_api.sync_playwright() as playwright:
        # Chromium's own sandbox needs user namespaces that containers often lack; the pages are ours.
        launched = playwright.chromium.launch(executable_path=_chromium(), args=["--no-sandbox"])
        yield launched
        launched.close()


@pytest.fixture
def tool(start_lti_service, platform):
    """The service grading in Docker; the platform reaches it as http://localhost:S, another site than its own."""
    service = start_lti_service(grade_function="grader.engine:grade", grade_backend="docker")
    platform.tool_url = service.url.replace("127.0.0.1", "localhost")
    return service


def _score_arrives(platform, item_id: str, since: float) -> float:
    """Seconds from `since` until the platform holds a score for the line item."""
    deadline = time.monotonic() + GRADING_SECONDS
    while not platform.scores.get(item_id):
        if time.monotonic() > deadline:
            raise AssertionError(f"no score reached the platform within {GRADING_SECONDS} s")
        time.sleep(0.05)
    return time.monotonic() - since


def test_a_student_hands_in_inside_the_lms_and_the_score_reaches_its_gradebook(tool, platform, browser, tmp_path: Path):
    lineitem = platform.add_lineitem(score_maximum=100.0)
    item_id = lineitem.rsplit("/", 1)[1]
    page = browser.new_page()
    page.goto(platform.course_page_url(platform.launch_url("student-1", lineitem=lineitem)))
    frame = page.frame_locator("iframe")
    frame.get_by_role("heading", name="Hand in: Regularization").wait_for(timeout=30_000)
    assert page.url.startswith(platform.url) and "/lti/hand-in" in page.frames[1].url
    assert page.frames[1].url.startswith(platform.tool_url)

    handed_in = tmp_path / "my_solution.py"
    handed_in.write_text(MISTAKE.read_text())
    frame.get_by_label("Your file").set_input_files(handed_in)
    started = time.monotonic()
    frame.get_by_role("button", name="Hand in").click()
    seconds = _score_arrives(platform, item_id, started)

    # The status page refreshes itself (meta refresh) until the grade is ready, then links the feedback.
    frame.get_by_role("link", name="Read the feedback").click(timeout=GRADING_SECONDS * 1000)
    frame.get_by_role("heading", name="Feedback on my_solution.py").wait_for()
    job_id = page.frames[1].url.split("/lti/submissions/")[1].split("/")[0]
    report = tool.status(job_id)["report"]
    assert report["backend"] == "docker"
    print(f"\nhand-in to score at the platform: {seconds:.1f} s (grading in Docker: {report['duration_seconds']:.1f} s)")
    cost = frame.get_by_role("heading", name="compute_cost_with_regularization")
    assert cost.is_visible()
    feedback = frame.locator("main").inner_text()
    assert "Diagnosis:" in feedback and "What failed:" in feedback
    assert "Gradebook: in your course's gradebook." in feedback or "Gradebook: being sent" in feedback
    [score] = platform.scores[item_id]
    assert (score["userId"], score["gradingProgress"]) == ("student-1", "FullyGraded")
    assert 0 < score["scoreGiven"] < score["scoreMaximum"]
    assert f"{score['scoreGiven']:g} / {score['scoreMaximum']:g}" in feedback
    assert score["comment"].startswith(f"{score['scoreGiven']:g} / {score['scoreMaximum']:g}; compute_cost")

    frame.get_by_role("link", name="Your attempts").click()
    frame.get_by_role("heading", name="Your attempts").wait_for()
    assert "my_solution.py" in frame.locator("table").inner_text()

    teacher = browser.new_context().new_page()
    teacher.goto(platform.course_page_url(platform.launch_url("teacher-1", "instructor", lineitem=lineitem)))
    class_view = teacher.frame_locator("iframe")
    class_view.get_by_role("heading", name="Class view: Regularization").wait_for(timeout=30_000)
    row = class_view.get_by_role("row", name="User student-1 (student-1)")
    assert f"{score['scoreGiven']:g} / {score['scoreMaximum']:g} (graded)" in row.inner_text()
    row.get_by_role("link").click()
    class_view.get_by_role("heading", name="Feedback on my_solution.py").wait_for()


def test_a_binary_upload_is_refused_on_the_page_and_stores_nothing(tool, platform, browser, tmp_path: Path):
    page = browser.new_page()
    page.goto(platform.course_page_url(platform.launch_url("student-2", lineitem=platform.add_lineitem())))
    frame = page.frame_locator("iframe")
    binary = tmp_path / "solution.py"
    binary.write_bytes(b"\x7fELF\x02\x01\x01\x00" * 64)
    frame.get_by_label("Your file").set_input_files(binary, timeout=30_000)
    frame.get_by_role("button", name="Hand in").click()
    alert = frame.get_by_role("alert")
    alert.wait_for()
    assert "the file is binary, not Python source" in alert.inner_text()
    frame.get_by_role("link", name="Your attempts").click()
    frame.get_by_text("You have not handed in anything for this assignment yet.").wait_for()


def test_open_in_a_new_window_keeps_the_student_signed_in_there(tool, platform, browser):
    page = browser.new_page()
    page.goto(platform.course_page_url(platform.launch_url("student-3", lineitem=platform.add_lineitem())))
    frame = page.frame_locator("iframe")
    frame.get_by_role("link", name="Your attempts").click(timeout=30_000)
    frame.get_by_role("link", name="Open in a new window").click()
    with page.context.expect_page() as opened:
        frame.get_by_role("button", name="Open in a new window").click()
    window = opened.value
    window.get_by_role("heading", name="Your attempts").wait_for()
    assert window.url.startswith(f"{platform.tool_url}/lti/attempts")
    window.get_by_role("link", name="Hand in").click()
    window.get_by_label("Your file").wait_for()
