"""Outbound callbacks and AGS scores against the stand-in LMS: retries, give-up, 410, LTI."""

from __future__ import annotations

import pytest

from tests.service.conftest import API_TOKEN, submission
from tests.service.lms_standin import strict_loads

pytestmark = pytest.mark.slow


def _delivered(kind):
    return lambda s: any(d["kind"] == kind and d["state"] == "delivered" for d in s["deliveries"])


def test_callback_is_signed_and_carries_the_report(start_service, lms):
    service = start_service()
    job_id = service.submit(submission(lms, lines=2)).json()["job_id"]
    status = service.wait_for(job_id, _delivered("callback"))
    [(msg_id, event)] = lms.callbacks.items()
    assert msg_id == status["deliveries"][0]["id"]
    assert event["data"]["job_id"] == job_id
    assert (event["data"]["status"], event["data"]["score"], event["data"]["max_score"]) == ("graded", 2.0, 10.0)
    assert event["data"]["report"] == status["report"]


def test_non_finite_report_numbers_reach_status_and_callback_as_strict_json(start_service, lms):
    service = start_service()
    job_id = service.submit(submission(lms, source="cost = np.log(0)\n")).json()["job_id"]
    service.wait_for(job_id, _delivered("callback"))
    response = service.http.get(f"{service.url}/v1/submissions/{job_id}", headers={"authorization": f"Bearer {API_TOKEN}"})
    status = strict_loads(response.text)
    assert status["report"]["details"] == {"cost": None, "relative_error": None}
    [event] = lms.callbacks.values()
    assert event["data"]["report"] == status["report"]


def test_callback_is_retried_with_the_same_id_until_the_lms_accepts(start_service, lms):
    lms.behaviour.fail_first = 2
    service = start_service()
    job_id = service.submit(submission(lms)).json()["job_id"]
    status = service.wait_for(job_id, _delivered("callback"))
    [delivery] = status["deliveries"]
    assert delivery["attempts"] == 3
    assert lms.callback_attempts[delivery["id"]] == 3
    assert list(lms.callbacks) == [delivery["id"]]


def test_retry_after_is_honoured(start_service, lms):
    lms.behaviour.fail_first = 1
    lms.behaviour.fail_status = 429
    lms.behaviour.retry_after = "2"
    service = start_service()
    job_id = service.submit(submission(lms)).json()["job_id"]
    status = service.wait_for(job_id, _delivered("callback"))
    first, second = lms.callback_attempt_times[status["deliveries"][0]["id"]]
    assert second - first >= 1.9


def test_delivery_fails_visibly_after_max_attempts(start_service, lms):
    lms.behaviour.always_status = 503
    service = start_service()
    job_id = service.submit(submission(lms)).json()["job_id"]
    status = service.wait_for(job_id, lambda s: s["deliveries"] and s["deliveries"][0]["state"] == "failed")
    [delivery] = status["deliveries"]
    assert (delivery["attempts"], delivery["last_status"]) == (4, 503)
    assert "HTTP 503" in delivery["last_error"]
    assert status["status"] == "graded"
    assert 'grader_deliveries{state="failed"} 1' in service.http.get(f"{service.url}/metrics").text


def test_410_disables_the_endpoint(start_service, lms):
    lms.behaviour.always_status = 410
    service = start_service()
    first = service.submit(submission(lms)).json()["job_id"]
    status = service.wait_for(first, lambda s: s["deliveries"] and s["deliveries"][0]["state"] == "disabled")
    assert status["deliveries"][0]["attempts"] == 1
    second = service.submit(submission(lms)).json()["job_id"]
    status = service.wait_for(second, lambda s: s["deliveries"] and s["deliveries"][0]["state"] == "disabled")
    assert status["deliveries"][0]["last_status"] is None
    assert sum(lms.callback_attempts.values()) == 1


def test_lti_score_is_published_with_a_cached_token(start_service, lms):
    service = start_service()
    job_ids = [service.submit(submission(lms, lines=n, lti=True, callback=False)).json()["job_id"] for n in (1, 2, 3)]
    for job_id in job_ids:
        service.wait_for(job_id, _delivered("lti"))
    scores = lms.scores["/lineitems/7/scores"]
    assert sorted(s["scoreGiven"] for s in scores) == [1.0, 2.0, 3.0]
    assert {(s["userId"], s["scoreMaximum"], s["activityProgress"], s["gradingProgress"]) for s in scores} == {
        ("lti-user-1", 10.0, "Completed", "FullyGraded")
    }
    assert lms.token_requests == 1


def test_lti_score_of_a_failed_run_says_failed(start_service, lms):
    service = start_service()
    job_id = service.submit(submission(lms, lti=True, callback=False, source="raise SystemExit\n")).json()["job_id"]
    service.wait_for(job_id, _delivered("lti"))
    [score] = lms.scores["/lineitems/7/scores"]
    assert score["gradingProgress"] == "Failed"


def test_expired_token_is_fetched_again(start_service, lms):
    # Tokens are kept until 30 s before they expire, so a 30 s token is never reused.
    lms.behaviour.token_expires_in = 30
    service = start_service()
    for lines in (1, 2):
        job_id = service.submit(submission(lms, lines=lines, lti=True, callback=False)).json()["job_id"]
        service.wait_for(job_id, _delivered("lti"))
    assert lms.token_requests == 2
