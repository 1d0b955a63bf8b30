"""The service through a real sandbox outage: the Docker daemon stops answering while it grades.

The grader reaches the real daemon through a proxy the test cuts and restores (tests/sandbox/docker_proxy.py).
Every accepted submission must end with its true grade, none internal_error, each callback and score
delivered once with one body (the stand-in LMS checks), and no container may be left behind.
"""

from __future__ import annotations

import socket
import sqlite3
import time

import pytest

from tests.sandbox.conftest import docker_client, proxy, sandbox_image  # noqa: F401  (re-used fixtures)
from tests.service.conftest import REPO

pytestmark = [pytest.mark.slow, pytest.mark.docker]

CORRECT = (REPO / "submissions" / "correct" / "template_with_seed.py").read_text()
OUTAGE_SECONDS = 3.0


def _post(service, lms, student: str) -> str:
    response = service.submit({
        "assignment": "regularization", "student_id": student, "filename": "submission.py", "source": CORRECT,
        "callback_url": f"{lms.url}/callback",
        "lti": {"lineitem_url": f"{lms.url}/lineitems/{student}", "user_id": f"lti-{student}"},
    })
    assert response.status_code == 202, response.text
    return response.json()["job_id"]


def _delivered(status) -> bool:
    return status["state"] == "done" and len(status["deliveries"]) == 2 and all(
        delivery["state"] == "delivered" for delivery in status["deliveries"])


def _start_on_proxy(start_service, monkeypatch, proxy):
    monkeypatch.setenv("DOCKER_HOST", proxy.url)
    return start_service(grade_function="grader.engine:grade", grade_backend="docker", max_job_attempts=1)


def _check_true_grades(service, lms, job_ids) -> None:
    for job_id in job_ids:
        status = service.wait_for(job_id, _delivered, seconds=240)
        assert status["status"] == "graded", (status["last_error"], status["report"])
        assert status["score"] == status["max_score"] > 0
    assert len(lms.callbacks) == len(job_ids)
    assert all(event["type"] == "grading.completed" for event in lms.callbacks.values())
    scores = [score for posted in lms.scores.values() for score in posted]
    assert len(scores) == len(job_ids)
    assert {score["gradingProgress"] for score in scores} == {"FullyGraded"}


def _containers_of(docker_client, service) -> list[dict]:  # noqa: F811
    prefix = f"{socket.gethostname()}:{service.process.pid}:"
    return [c for c in docker_client.containers(all=True, filters={"label": "grader.sandbox"})
            if c["Labels"].get("grader.sandbox.owner", "").startswith(prefix)]


def _first_finished_after(database, moment: float) -> float:
    with sqlite3.connect(database) as conn:
        [(first,)] = conn.execute("SELECT MIN(finished_at) FROM jobs WHERE finished_at >= ?", (moment,)).fetchall()
    return first - moment


def _log_lines(service, text: str) -> int:
    return service.log.read_text().count(text)


def test_the_daemon_going_away_while_grading_costs_no_grade(start_service, lms, proxy, docker_client, monkeypatch):  # noqa: F811
    service = _start_on_proxy(start_service, monkeypatch, proxy)
    job_ids = [_post(service, lms, f"s{n}") for n in range(6)]
    service.wait_for(job_ids[0], lambda status: status["state"] == "running", seconds=60)
    time.sleep(0.5)
    proxy.cut()
    time.sleep(0.5)
    ready = service.http.get(f"{service.url}/readyz")
    assert (ready.status_code, ready.json()["sandbox"]["state"]) == (503, "down")
    assert service.http.get(f"{service.url}/healthz").json()["sandbox"]["state"] == "down"
    time.sleep(OUTAGE_SECONDS)
    restored = time.time()
    proxy.restore()
    _check_true_grades(service, lms, job_ids)
    print(f"\nMEASURED service: first job graded {_first_finished_after(service.database, restored):.2f} s "
          "after the sandbox returned")
    assert (service.metric("grader_sandbox_outages_total"), service.metric("grader_sandbox_up")) == (1, 1)
    assert (_log_lines(service, "sandbox down"), _log_lines(service, "sandbox answers again")) == (1, 1)
    assert _containers_of(docker_client, service) == []


def test_the_daemon_down_when_the_service_starts(start_service, lms, proxy, docker_client, monkeypatch):  # noqa: F811
    proxy.cut()
    service = _start_on_proxy(start_service, monkeypatch, proxy)
    ready = service.http.get(f"{service.url}/readyz")
    assert (ready.status_code, ready.json()["sandbox"]["state"]) == (503, "down")
    job_ids = [_post(service, lms, f"s{n}") for n in range(2)]
    time.sleep(2.0)
    assert {service.status(job_id)["state"] for job_id in job_ids} == {"queued"}
    restored = time.time()
    proxy.restore()
    _check_true_grades(service, lms, job_ids)
    print(f"\nMEASURED service start: first job graded {_first_finished_after(service.database, restored):.2f} s "
          "after the sandbox returned")
    assert service.http.get(f"{service.url}/readyz").status_code == 200
    assert _containers_of(docker_client, service) == []
