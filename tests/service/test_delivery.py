"""Outbound callbacks and AGS scores against the stand-in LMS: retries, give-up, 410, LTI."""

from __future__ import annotations

import pytest

from tests.service.conftest import API_TOKEN, OTHER_CLIENT_SECRET, submission, two_clients
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


def test_a_callback_one_client_caused_is_refused_by_another_clients_receiver(start_service, lms, other_lms):
    """Client `lms` submits as other's student with other's callback URL: other's LMS must not take the grade."""
    service = start_service(clients=two_clients(lms, other_lms))
    forged = submission(lms, student_id="student-of-other", callback_url=f"{other_lms.url}/callback")
    job_id = service.submit(forged).json()["job_id"]
    status = service.wait_for(job_id, lambda s: s["deliveries"] and s["deliveries"][0]["attempts"] >= 1)
    assert status["deliveries"][0]["state"] != "delivered"
    assert status["deliveries"][0]["last_status"] == 401
    assert other_lms.callbacks == {}
    assert any("bad signature" in error for error in other_lms.errors)


def test_each_clients_callbacks_carry_its_name_and_its_own_signature(start_service, lms, other_lms):
    service = start_service(clients=two_clients(lms, other_lms))
    ours = service.submit(submission(lms)).json()["job_id"]
    theirs = service.submit(submission(other_lms), secret=OTHER_CLIENT_SECRET).json()["job_id"]
    service.wait_for(ours, _delivered("callback"))
    service.wait_for(theirs, _delivered("callback"))
    assert [(e["data"]["job_id"], e["data"]["client"]) for e in lms.callbacks.values()] == [(ours, "lms")]
    assert [(e["data"]["job_id"], e["data"]["client"]) for e in other_lms.callbacks.values()] == [(theirs, "other")]
    assert other_lms.errors == []


def test_a_410_disables_a_url_only_for_the_client_whose_callback_got_it(start_service, lms, other_lms):
    lms.behaviour.gone = True
    service = start_service(clients=two_clients(lms, other_lms))
    url = f"{lms.url}/callback"
    theirs = service.submit(submission(other_lms, callback_url=url), secret=OTHER_CLIENT_SECRET).json()["job_id"]
    service.wait_for(theirs, lambda s: s["deliveries"] and s["deliveries"][0]["state"] == "disabled")
    ours = service.submit(submission(lms, callback_url=url)).json()["job_id"]
    status = service.wait_for(ours, lambda s: s["deliveries"] and s["deliveries"][0]["state"] == "disabled")
    assert status["deliveries"][0]["last_status"] == 410, "lms's callback was not even sent"
    assert lms.gone_answers == 2


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
