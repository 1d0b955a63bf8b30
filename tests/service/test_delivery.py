"""Outbound callbacks and AGS scores against the stand-in LMS: retries, give-up, 410, LTI, origins."""

from __future__ import annotations

import dataclasses
import json
import sqlite3
import time
from collections.abc import Iterator

import pytest

from grader.service import lti
from grader.service.delivery import Dispatcher
from grader.service.egress import guarded_client
from grader.service.metrics import Metrics
from grader.service.retry import RetryPolicy
from grader.service.store import NewDelivery, Result
from tests.service.conftest import (
    API_TOKEN, CALLBACK_SECRET, CLIENT_SECRET, LTI_CLIENT_ID, OTHER_CLIENT_SECRET, new_submission, submission, two_clients,
)
from tests.service.lms_standin import StandInLms, strict_loads

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
    assert service.metric("grader_deliveries", state="failed") == 1


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


@pytest.fixture
def foreign(lti_key) -> Iterator[StandInLms]:
    """A second receiver on 127.0.0.1: a host the platform's token must never reach."""
    stand_in = StandInLms(callback_secret=CALLBACK_SECRET, client_id=LTI_CLIENT_ID, public_key_pem=lti_key[1]).start()
    yield stand_in
    stand_in.stop()


def _clients(lms, lti_key, *, callback_origins, lti_origins=None):
    client = {"secret": CLIENT_SECRET, "callback_secret": CALLBACK_SECRET, "callback_origins": callback_origins}
    if lti_origins is not None:
        client["lti"] = {"client_id": LTI_CLIENT_ID, "token_url": lms.token_url, "private_key_file": str(lti_key[0]),
                         "origins": lti_origins}
    return json.dumps({"lms": client})


def test_a_receivers_answer_is_neither_stored_nor_shown(start_service, lms):
    lms.behaviour.always_status = 503
    lms.behaviour.error_body = b"db-7.corp.internal said: secret-marker"
    service = start_service()
    job_id = service.submit(submission(lms)).json()["job_id"]
    status = service.wait_for(job_id, lambda s: s["deliveries"] and s["deliveries"][0]["attempts"] >= 2)
    assert status["deliveries"][0]["last_error"] == "HTTP 503"
    assert "secret-marker" not in service.http.get(
        f"{service.url}/v1/submissions/{job_id}", headers={"authorization": "Bearer api-token-for-tests"}).text
    with sqlite3.connect(service.database) as conn:
        stored = conn.execute("SELECT last_error FROM deliveries").fetchall()
    assert stored == [("HTTP 503",)]


def test_a_callback_host_name_resolving_to_loopback_is_not_sent_to(start_service, lms, lti_key):
    # localhost is not 127.0.0.1: only an origin that names the loopback address (and port) allows it.
    by_name = lms.url.replace("127.0.0.1", "localhost")
    service = start_service(clients=_clients(lms, lti_key, callback_origins=[by_name]))
    job_id = service.submit(submission(lms) | {"callback_url": f"{by_name}/callback"}).json()["job_id"]
    status = service.wait_for(job_id, lambda s: s["deliveries"] and s["deliveries"][0]["attempts"] >= 1)
    assert status["deliveries"][0]["last_error"].startswith("EgressRefused: localhost resolves to ")
    # What our DNS answered is the operator's business, not the client's.
    assert "127.0.0.1" not in status["deliveries"][0]["last_error"]
    assert lms.paths == []


def test_the_platform_token_is_not_sent_to_a_line_item_off_its_origins(start_service, lms, foreign, lti_key):
    service = start_service(
        clients=_clients(lms, lti_key, callback_origins=[lms.url, foreign.url], lti_origins=[lms.url])
    )
    payload = submission(lms, lti=True, callback=False)
    payload["lti"]["lineitem_url"] = f"{foreign.url}/lineitems/7"
    response = service.submit(payload)
    assert response.status_code == 422
    assert response.json()["errors"] == [
        f"lti.lineitem_url: {foreign.url} is not one of the allowed origins (lti.origins)"
    ]
    assert foreign.authorizations == [] and lms.token_requests == 0


def _dispatched(store, delivery, *, callback_origins, platform):
    """Send one delivery with a Dispatcher configured here; its row once the attempt is recorded."""
    job_id, _ = store.accept(new_submission(), time.time())
    store.complete_job(store.claim_job(time.time(), 30), Result("graded", 1.0, 1.0, {}), [delivery], time.time())
    dispatcher = Dispatcher(
        store, policy=RetryPolicy(1, 0.1, 0.1), callback_keys={"lms": b"k" * 32}, callback_origins=callback_origins,
        platforms={"lms": platform}, http=guarded_client(timeout=5), metrics=Metrics(),
        concurrency=1, poll_seconds=0.05,
    )
    dispatcher.start()
    try:
        deadline = time.monotonic() + 10
        while (row := store.job_status(job_id)["deliveries"][0])["attempts"] == 0 and time.monotonic() < deadline:
            time.sleep(0.05)
        return row
    finally:
        dispatcher.stop(5)


def _platform(lms, lti_key, origins):
    return lti.Platform(client_id=LTI_CLIENT_ID, token_url=lms.token_url, private_key=lti_key[0].read_text(),
                        key_id=None, origins=tuple(origins))


def test_a_score_whose_line_item_is_off_the_platforms_origins_at_send_time_is_not_sent(store, lms, foreign, lti_key):
    # Accepted under an older configuration; the platform's origins no longer include the line item.
    row = _dispatched(
        store, NewDelivery("lti", f"{foreign.url}/lineitems/7/scores", b"{}"), callback_origins={},
        platform=_platform(lms, lti_key, [lms.url]),
    )
    assert row["last_error"] == f"EgressRefused: {foreign.url} is not one of the allowed origins"
    assert foreign.paths == [] and lms.token_requests == 0


def test_a_callback_off_the_clients_origins_at_send_time_is_not_sent(store, lms, foreign, lti_key):
    row = _dispatched(
        store, NewDelivery("callback", f"{foreign.url}/callback", b"{}"), callback_origins={"lms": [lms.url]},
        platform=_platform(lms, lti_key, [lms.url]),
    )
    assert row["last_error"] == f"EgressRefused: {foreign.url} is not one of the allowed origins"
    assert foreign.paths == []


def test_a_token_endpoints_answer_is_not_stored(store, lms, lti_key):
    row = _dispatched(
        store, NewDelivery("lti", f"{lms.url}/lineitems/7/scores", b"{}"), callback_origins={},
        platform=dataclasses.replace(_platform(lms, lti_key, [lms.url]), client_id="unknown-tool"),
    )
    assert row["last_error"] == "TokenError: token endpoint answered HTTP 400"
    lms.errors.clear()  # the stand-in rightly complained about the unknown client id
