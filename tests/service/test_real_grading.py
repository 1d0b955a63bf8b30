"""The service with the real grading engine: process backend and the Docker sandbox."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.service.conftest import ADMIN_TOKEN, REPO
from tests.service.lms_standin import strict_loads

pytestmark = pytest.mark.slow

CORRECT = REPO / "submissions" / "correct" / "template_with_seed.py"


def _post(service, lms, path: Path, **extra):
    payload = {
        "assignment": "regularization",
        "student_id": "student-real",
        "filename": path.name,
        "source": path.read_text(),
        "callback_url": f"{lms.url}/callback",
        "lti": {"lineitem_url": f"{lms.url}/lineitems/real", "user_id": "lti-real"},
    } | extra
    response = service.submit(payload)
    assert response.status_code == 202, response.text
    return response.json()["job_id"]


def _all_delivered(status):
    return status["state"] == "done" and len(status["deliveries"]) == 2 and all(
        d["state"] == "delivered" for d in status["deliveries"]
    )


def _check_round_trip(service, lms, job_id, backend):
    status = service.wait_for(job_id, _all_delivered, seconds=180)
    assert status["status"] == "graded", (status["last_error"], json.dumps(status["report"])[:2000])
    assert status["report"]["backend"] == backend
    assert status["score"] == status["max_score"] > 0
    assert status["report"]["submission"]["sha256"] == status["submission_sha256"]
    [event] = lms.callbacks.values()
    assert event["data"]["report"] == status["report"]
    [score] = lms.scores["/lineitems/real/scores"]
    assert (score["scoreGiven"], score["gradingProgress"]) == (status["score"], "FullyGraded")


def test_real_engine_process_backend(start_service, lms):
    service = start_service(grade_function="grader.engine:grade", grade_backend="process")
    _check_round_trip(service, lms, _post(service, lms, CORRECT), "process")


def test_real_engine_reports_a_broken_submission(start_service, lms):
    service = start_service(grade_function="grader.engine:grade", grade_backend="process")
    job_id = _post(service, lms, CORRECT, source="def broken(:\n")
    status = service.wait_for(job_id, _all_delivered, seconds=180)
    assert status["status"] != "graded"
    [score] = lms.scores["/lineitems/real/scores"]
    assert score["gradingProgress"] == "Failed"


def test_a_report_with_infinite_errors_reaches_status_and_lms_as_strict_json(start_service, lms):
    """An honest log(0) in the cost: the report's errors are infinite, and every receiver still parses it."""
    service = start_service(grade_function="grader.engine:grade", grade_backend="process")
    source = CORRECT.read_text().replace("    cost = cross_entropy_cost + L2_regularization_cost\n",
                                         "    cost = np.log(0.0) + L2_regularization_cost\n")
    assert "np.log(0.0)" in source
    job_id = _post(service, lms, CORRECT, source=source)
    service.wait_for(job_id, _all_delivered, seconds=180)
    response = service.get_status(job_id, ADMIN_TOKEN)
    status = strict_loads(response.text)
    [case, *_] = status["report"]["functions"]["compute_cost_with_regularization"]["cases"]
    assert case["outputs"]["cost"]["max_abs_error"] is None
    [event] = lms.callbacks.values()
    assert event["data"]["report"] == status["report"]


@pytest.mark.docker
def test_real_engine_docker_backend(start_service, lms):
    service = start_service(grade_function="grader.engine:grade", grade_backend="docker")
    _check_round_trip(service, lms, _post(service, lms, CORRECT), "docker")


@pytest.mark.docker
def test_kill_9_during_docker_grading_loses_nothing(start_service, lms):
    service = start_service(grade_function="grader.engine:grade", grade_backend="docker")
    job_ids = [_post(service, lms, CORRECT, student_id=f"s{n}", lti=None) for n in range(6)]
    service.wait_for(job_ids[0], lambda s: s["state"] == "running", seconds=60)
    service.kill()
    restarted = start_service(database=service.database, grade_function="grader.engine:grade", grade_backend="docker")
    for job_id in job_ids:
        status = restarted.wait_for(
            job_id, lambda s: s["state"] == "done" and s["deliveries"][0]["state"] == "delivered", seconds=240
        )
        assert status["status"] == "graded", status["last_error"]
    assert sorted(event["data"]["job_id"] for event in lms.callbacks.values()) == sorted(job_ids)
