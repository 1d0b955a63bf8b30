"""A job the grader fails on is held for a person: a grading.held callback without a score, no AGS score."""

from __future__ import annotations

from typing import Any

import pytest

from tests.service.conftest import submission

pytestmark = pytest.mark.slow


def broken(submission: Any, *, backend: str, timeout: float | None) -> Any:
    """A grading function with a bug (the service loads it by name)."""
    raise RuntimeError("a bug in the grader")


def test_an_internal_error_is_held_not_published_as_a_grade(start_service, lms, report_validator):
    service = start_service(grade_function="tests.service.test_held:broken", max_job_attempts=1)
    response = service.submit(submission(lms, lti=True))
    assert response.status_code == 202, response.text
    job_id = response.json()["job_id"]
    status = service.wait_for(job_id, lambda s: s["state"] == "done" and s["deliveries"]
                              and s["deliveries"][0]["state"] == "delivered")
    assert status["status"] == "internal_error"
    report_validator.validate(status["report"])
    assert [delivery["kind"] for delivery in status["deliveries"]] == ["callback"]
    [event] = lms.callbacks.values()
    assert event["type"] == "grading.held"
    assert "score" not in event["data"] and "report" not in event["data"]
    assert lms.scores == {}
    assert service.metric("grader_jobs_held") == 1
