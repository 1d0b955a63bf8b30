"""The HTTP API against a real service process: what is accepted, what is refused and why."""

from __future__ import annotations

import base64
import json
import socket
import time
import uuid

import httpx
import pytest

from tests.service.conftest import (
    ADMIN_TOKEN,
    API_TOKEN,
    CLIENT_SECRET,
    OTHER_API_TOKEN,
    OTHER_CLIENT_SECRET,
    submission,
    two_clients,
)
from tests.service.lms_standin import hmac_signature, signed_post

pytestmark = pytest.mark.slow


@pytest.fixture
def service(start_service):
    return start_service(max_body_bytes=4096)


def test_signed_submission_is_accepted_and_graded(service, lms):
    response = service.submit(submission(lms, lines=4))
    assert response.status_code == 202
    accepted = response.json()
    assert accepted["status_url"] == f"{service.url}/v1/submissions/{accepted['job_id']}"
    done = service.wait_for(accepted["job_id"], lambda s: s["state"] == "done")
    assert (done["status"], done["score"], done["max_score"]) == ("graded", 4.0, 10.0)
    assert done["report"]["status"] == "graded"


def test_a_body_over_the_on_loop_size_is_verified_like_a_small_one(start_service, lms):
    service = start_service()
    response = service.submit(submission(lms, lines=20_000))
    assert response.status_code == 202, response.text
    assert service.submit(submission(lms, lines=20_000), secret=OTHER_CLIENT_SECRET).status_code == 401


def test_multipart_submission_is_accepted(service, lms):
    metadata = {"assignment": "regularization", "student_id": "s2"}
    request = httpx.Request(
        "POST", "http://x", files={"file": ("work.py", b"a = 1\nb = 2\n")}, data={"metadata": json.dumps(metadata)}
    )
    body = request.read()
    response = signed_post(
        service.http, f"{service.url}/v1/submissions", body, CLIENT_SECRET, content_type=request.headers["content-type"]
    )
    assert response.status_code == 202, response.text
    done = service.wait_for(response.json()["job_id"], lambda s: s["state"] == "done")
    assert (done["filename"], done["score"]) == ("work.py", 2.0)


@pytest.mark.parametrize(
    ("parts", "message"),
    [
        ({"files": {"metadata": (None, json.dumps({"assignment": "a", "student_id": "s"}))}}, "'file' part"),
        ({"files": {"file": ("work.py", b"a = 1\n")}}, "'metadata' part"),
        ({"files": {"file": ("work.py", b"a = 1\n")}, "data": {"metadata": "{"}}, "not valid"),
    ],
)
def test_incomplete_multipart_is_422(service, parts, message):
    request = httpx.Request("POST", "http://x", **parts)
    body = request.read()
    response = signed_post(
        service.http, f"{service.url}/v1/submissions", body, CLIENT_SECRET, content_type=request.headers["content-type"]
    )
    assert response.status_code == 422
    assert message in response.json()["detail"]


@pytest.mark.parametrize(
    "tamper",
    ["wrong_secret", "old_timestamp", "future_timestamp", "tampered_body", "missing_signature"],
)
def test_bad_signature_is_401(service, lms, tamper):
    body = json.dumps(submission(lms)).encode()
    msg_id, timestamp, secret = f"msg_{uuid.uuid4().hex}", int(time.time()), CLIENT_SECRET
    if tamper == "wrong_secret":
        secret = "whsec_" + base64.b64encode(b"not-the-secret-the-service-has!!").decode()
    elif tamper == "old_timestamp":
        timestamp -= 301
    elif tamper == "future_timestamp":
        timestamp += 301
    headers = {
        "content-type": "application/json",
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": hmac_signature(secret, msg_id, timestamp, body),
    }
    if tamper == "tampered_body":
        body = body.replace(b"student-1", b"student-2")
    if tamper == "missing_signature":
        del headers["webhook-signature"]
    response = service.http.post(f"{service.url}/v1/submissions", content=body, headers=headers)
    assert response.status_code == 401
    assert response.json()["detail"]


def test_second_of_several_signatures_is_enough(service, lms):
    body = json.dumps(submission(lms)).encode()
    msg_id, timestamp = f"msg_{uuid.uuid4().hex}", int(time.time())
    rotated = "v1,AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA= " + hmac_signature(CLIENT_SECRET, msg_id, timestamp, body)
    headers = {"content-type": "application/json", "webhook-id": msg_id,
               "webhook-timestamp": str(timestamp), "webhook-signature": rotated}
    assert service.http.post(f"{service.url}/v1/submissions", content=body, headers=headers).status_code == 202


def test_oversize_by_content_length_is_413(service, lms):
    response = service.submit(submission(lms, source="x = 1\n" * 2000))
    assert response.status_code == 413


def test_oversize_without_content_length_is_413(service, lms):
    """A chunked body has no Content-Length: the bytes read are counted instead."""
    body = json.dumps(submission(lms, source="x = 1\n" * 2000)).encode()
    msg_id, timestamp = f"msg_{uuid.uuid4().hex}", int(time.time())

    def chunks():
        for start in range(0, len(body), 1000):
            yield body[start:start + 1000]

    headers = {"content-type": "application/json", "webhook-id": msg_id, "webhook-timestamp": str(timestamp),
               "webhook-signature": hmac_signature(CLIENT_SECRET, msg_id, timestamp, body)}
    response = service.http.post(f"{service.url}/v1/submissions", content=chunks(), headers=headers)
    assert "content-length" not in response.request.headers
    assert response.status_code == 413


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"student_id": None}, "student_id"),
        ({"source_base64": "eA=="}, "exactly one of 'source' and 'source_base64'"),
        ({"source": None, "source_base64": "not base64!"}, "base64"),
        ({"filename": "../etc/passwd"}, "plain file name"),
        ({"callback_url": "ftp://example.invalid/x"}, "http(s) URL"),
        ({"callback_url": "http://127.0.0.2:1/elsewhere"}, "callback_origins"),
        ({"assignment": ""}, "assignment"),
        ({"unknown": 1}, "unknown"),
    ],
)
def test_malformed_submission_is_422_with_a_clear_message(service, lms, change, message):
    payload = {key: value for key, value in (submission(lms) | change).items() if value is not None}
    response = service.submit(payload)
    assert response.status_code == 422
    problem = response.json()
    assert message in problem["detail"] + " ".join(problem["errors"])


def test_body_that_is_not_json_is_422(service):
    response = signed_post(service.http, f"{service.url}/v1/submissions", b"{not json", CLIENT_SECRET)
    assert response.status_code == 422


def test_other_content_types_are_415(service):
    response = signed_post(
        service.http, f"{service.url}/v1/submissions", b"x = 1", CLIENT_SECRET, content_type="text/x-python"
    )
    assert response.status_code == 415


def test_duplicate_delivery_creates_one_job(service, lms):
    payload = submission(lms)
    first = service.submit(payload, msg_id="msg_same")
    second = service.submit(payload, msg_id="msg_same")
    assert (first.status_code, second.status_code) == (202, 200)
    assert first.json()["job_id"] == second.json()["job_id"]
    service.wait_for(first.json()["job_id"], lambda s: s["state"] == "done")
    assert service.metric("grader_jobs", state="done") == 1


def test_same_webhook_id_with_another_body_is_409(service, lms):
    assert service.submit(submission(lms), msg_id="msg_reused").status_code == 202
    assert service.submit(submission(lms, lines=5), msg_id="msg_reused").status_code == 409


def test_status_needs_the_api_token(service, lms):
    job_id = service.submit(submission(lms)).json()["job_id"]
    url = f"{service.url}/v1/submissions/{job_id}"
    assert service.http.get(url).status_code == 401
    assert service.http.get(url, headers={"authorization": "Bearer wrong"}).status_code == 401
    assert service.http.get(url, headers={"authorization": f"Bearer {API_TOKEN}"}).status_code == 200


def test_a_clients_token_reads_its_own_jobs_and_not_another_clients(start_service, lms, other_lms):
    service = start_service(clients=two_clients(lms, other_lms))
    ours = service.submit(submission(lms)).json()["job_id"]
    theirs = service.submit(submission(other_lms), secret=OTHER_CLIENT_SECRET).json()["job_id"]
    assert service.get_status(ours, API_TOKEN).status_code == 200
    assert service.get_status(theirs, OTHER_API_TOKEN).status_code == 200
    foreign = service.get_status(theirs, API_TOKEN)
    missing = service.get_status("job_nope", API_TOKEN)
    assert (foreign.status_code, missing.status_code) == (404, 404)
    assert foreign.json()["detail"].replace(theirs, "job_nope") == missing.json()["detail"], "404 tells them apart"
    assert service.get_status(ours, OTHER_API_TOKEN).status_code == 404


def test_an_admin_token_reads_every_clients_jobs(start_service, lms, other_lms):
    service = start_service(clients=two_clients(lms, other_lms))
    ours = service.submit(submission(lms)).json()["job_id"]
    theirs = service.submit(submission(other_lms), secret=OTHER_CLIENT_SECRET).json()["job_id"]
    assert [service.get_status(job, ADMIN_TOKEN).status_code for job in (ours, theirs)] == [200, 200]


def test_unknown_job_is_404(service):
    response = service.http.get(f"{service.url}/v1/submissions/job_nope", headers={"authorization": f"Bearer {API_TOKEN}"})
    assert response.status_code == 404


def test_health_metrics_and_openapi(service):
    assert service.http.get(f"{service.url}/healthz").json() == {"status": "ok", "sandbox": {"state": "up", "outages": 0}}
    ready = service.http.get(f"{service.url}/readyz")
    assert (ready.status_code, ready.json()["status"]) == (200, "ok")
    metrics = service.http.get(f"{service.url}/metrics")
    assert metrics.headers["content-type"].startswith("text/plain; version=0.0.4")
    assert "# TYPE grader_submissions_total counter" in metrics.text
    assert (service.metric("grader_sandbox_up"), service.metric("grader_jobs_held")) == (1, 0)
    spec = service.http.get(f"{service.url}/openapi.json").json()
    body = spec["paths"]["/v1/submissions"]["post"]["requestBody"]["content"]
    assert {"application/json", "multipart/form-data"} <= body.keys()
    assert service.http.get(f"{service.url}/docs").status_code == 200


def test_resubmissions_over_the_limit_are_429_with_a_clear_message_and_retry_after(start_service, lms):
    service = start_service(resubmission_limit=2, resubmission_window_seconds=3600)
    first = service.submit(submission(lms), msg_id="msg_first")
    assert [first.status_code, service.submit(submission(lms)).status_code] == [202, 202]
    refused = service.submit(submission(lms))
    assert refused.status_code == 429
    assert "'student-1' has used all 2 submissions of 'regularization'" in refused.json()["detail"]
    assert 3590 <= int(refused.headers["retry-after"]) <= 3600
    assert service.submit(submission(lms), msg_id="msg_first").status_code == 200, "a redelivery does not count"
    assert service.submit(submission(lms, student_id="student-2")).status_code == 202


def test_rate_limit_is_429_with_retry_after(start_service, lms):
    service = start_service(rate_limit_burst=3, rate_limit_per_minute=6)
    codes = [service.submit(submission(lms)).status_code for _ in range(5)]
    assert codes[:3] == [202, 202, 202]
    assert codes[3:] == [429, 429]
    limited = service.submit(submission(lms))
    assert int(limited.headers["retry-after"]) >= 1


def _announce_body(service, headers: dict[str, str], length: int) -> "socket.socket":
    """Open a connection that sends a POST's headers announcing `length` bytes, and no body yet."""
    host, port = service.url.removeprefix("http://").split(":")
    connection = socket.create_connection((host, int(port)), timeout=10)
    lines = [f"POST /v1/submissions HTTP/1.1", f"host: {host}", "content-type: application/json",
             f"content-length: {length}", *(f"{key}: {value}" for key, value in headers.items())]
    connection.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
    return connection


def _status_line(connection: "socket.socket") -> str:
    return connection.recv(4096).decode(errors="replace").split("\r\n", 1)[0]


def _plausible_headers() -> dict[str, str]:
    """Headers that look signed (fresh timestamp), though nothing can check the signature before the body."""
    return {"webhook-id": f"msg_{uuid.uuid4().hex}", "webhook-timestamp": str(int(time.time())),
            "webhook-signature": "v1," + base64.b64encode(b"x" * 32).decode()}


@pytest.mark.parametrize("headers", [{}, {"webhook-id": "m", "webhook-timestamp": "1", "webhook-signature": "v1,x"}],
                         ids=["unsigned", "stale timestamp"])
def test_a_request_that_cannot_be_signed_is_refused_before_its_body_is_read(service, headers):
    # Nothing of the announced body is sent: an answer proves the service did not wait to read it.
    connection = _announce_body(service, headers, 4000)
    with connection:
        assert _status_line(connection) == "HTTP/1.1 401 Unauthorized"


def test_bodies_in_flight_are_bounded_across_requests(start_service):
    # Each request alone is under the body limit; together they would be over the budget.
    service = start_service(max_body_bytes=1_000_000, max_inflight_body_bytes=2_500_000)
    held = [_announce_body(service, _plausible_headers(), 1_000_000) for _ in range(2)]
    try:
        time.sleep(0.5)  # both are now being read
        with _announce_body(service, _plausible_headers(), 1_000_000) as third:
            status = _status_line(third)
        assert status == "HTTP/1.1 503 Service Unavailable"
    finally:
        for connection in held:
            connection.close()
    # The budget is given back once those requests are gone.
    time.sleep(0.5)
    assert service.submit({"assignment": "x"}).status_code == 422


def test_a_body_that_does_not_arrive_in_time_gives_its_share_of_the_budget_back(start_service):
    # A slow sender must not hold its reservation for ever (slowloris against the body budget).
    service = start_service(max_body_bytes=1_000_000, max_inflight_body_bytes=1_000_000, body_read_timeout_seconds=1)
    with _announce_body(service, _plausible_headers(), 1_000_000) as slow:
        assert _status_line(slow) == "HTTP/1.1 408 Request Timeout"
    assert service.submit({"assignment": "x"}).status_code == 422
