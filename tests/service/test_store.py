"""The SQLite store: idempotent intake, leases, one completion per job, recovery after a crash."""

from __future__ import annotations

import dataclasses
import math
import sqlite3

import pytest

from grader.service.ratelimit import ResubmissionLimit
from grader.service.store import ConflictError, NewDelivery, Result, ResubmissionLimitReached, Store
from tests.service.conftest import new_submission
from tests.service.lms_standin import strict_loads

NOW = 1_000.0
RESULT = Result(status="graded", score=8.0, max_score=10.0, report={"status": "graded"})
CALLBACK = NewDelivery("callback", "http://127.0.0.1:9/cb", b"{}")


def test_database_is_in_wal_mode(store, tmp_path):
    with sqlite3.connect(tmp_path / "db.sqlite") as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_same_webhook_id_is_the_same_job(store):
    first = store.accept(new_submission(), NOW)
    again = store.accept(new_submission(), NOW)
    assert first == (first[0], True)
    assert again == (first[0], False)


def test_webhook_ids_are_per_client(store):
    assert store.accept(new_submission(client="a"), NOW)[0] != store.accept(new_submission(client="b"), NOW)[0]


def test_same_webhook_id_with_another_body_conflicts(store):
    store.accept(new_submission(), NOW)
    with pytest.raises(ConflictError):
        store.accept(new_submission(request_sha256="bb"), NOW)


def test_a_claimed_job_is_not_claimed_twice_while_leased(store):
    store.accept(new_submission(), NOW)
    assert store.claim_job(NOW, 60) is not None
    assert store.claim_job(NOW + 59, 60) is None


def test_an_expired_lease_lets_another_worker_take_the_job(store):
    store.accept(new_submission(), NOW)
    first = store.claim_job(NOW, 60)
    second = store.claim_job(NOW + 61, 60)
    assert second is not None and second.attempts == 2
    assert store.complete_job(second, RESULT, [CALLBACK], NOW + 62)
    assert not store.complete_job(first, RESULT, [CALLBACK], NOW + 63), "the stale holder's result is discarded"
    assert store.counts() == {"jobs": {"done": 1}, "deliveries": {"pending": 1}}


def test_renewed_lease_keeps_the_job(store):
    store.accept(new_submission(), NOW)
    job = store.claim_job(NOW, 60)
    store.renew_leases([job.lease_token], NOW + 120)
    assert store.claim_job(NOW + 100, 60) is None


def test_completion_writes_result_and_deliveries_together(store):
    job_id, _ = store.accept(new_submission(), NOW)
    job = store.claim_job(NOW, 60)
    assert store.complete_job(job, RESULT, [CALLBACK], NOW)
    status = store.job_status(job_id)
    assert status["job"]["state"] == "done"
    assert status["result"]["report"] == {"status": "graded"}
    assert [d["state"] for d in status["deliveries"]] == ["pending"]


def test_a_failing_completion_leaves_the_job_running(store):
    store.accept(new_submission(), NOW)
    job = store.claim_job(NOW, 60)
    duplicate_kinds = [CALLBACK, CALLBACK]
    with pytest.raises(sqlite3.IntegrityError):
        store.complete_job(job, RESULT, duplicate_kinds, NOW)
    assert store.counts() == {"jobs": {"running": 1}, "deliveries": {}}


def test_recover_requeues_running_jobs_and_frees_deliveries(store):
    store.accept(new_submission("msg_1"), NOW)
    store.accept(new_submission("msg_2"), NOW)
    done = store.claim_job(NOW, 60)
    store.complete_job(done, RESULT, [CALLBACK], NOW)
    store.claim_job(NOW, 60)
    assert store.claim_delivery(NOW, 60) is not None
    assert store.recover(NOW + 1) == 1
    assert store.claim_job(NOW + 1, 60) is not None
    assert store.claim_delivery(NOW + 1, 60) is not None


def test_retry_job_waits_until_not_before(store):
    store.accept(new_submission(), NOW)
    job = store.claim_job(NOW, 60)
    store.retry_job(job, "engine down", NOW + 10)
    assert store.claim_job(NOW + 5, 60) is None
    assert store.claim_job(NOW + 10, 60).attempts == 2


def test_delivery_attempts_are_recorded(store):
    store.accept(new_submission(), NOW)
    store.complete_job(store.claim_job(NOW, 60), RESULT, [CALLBACK], NOW)
    delivery = store.claim_delivery(NOW, 60)
    store.record_attempt(delivery.id, state="pending", status=500, error="HTTP 500", next_attempt_at=NOW + 5, now=NOW)
    assert store.claim_delivery(NOW + 4, 60) is None
    again = store.claim_delivery(NOW + 5, 60)
    assert dataclasses.replace(again, attempts=0) == delivery and again.attempts == 1


def test_disabled_endpoints_are_remembered(store):
    store.disable_endpoint("a", "http://127.0.0.1:9/cb", "410", NOW)
    assert store.is_disabled("a", "http://127.0.0.1:9/cb")
    assert not store.is_disabled("a", "http://127.0.0.1:9/other")


def test_an_endpoint_disabled_for_one_client_stays_enabled_for_another(store):
    store.disable_endpoint("a", "http://127.0.0.1:9/cb", "410", NOW)
    assert not store.is_disabled("b", "http://127.0.0.1:9/cb")


def test_disabled_endpoints_of_an_old_database_stay_disabled_for_the_client_that_got_the_410(tmp_path):
    database = tmp_path / "old.sqlite"
    with sqlite3.connect(database) as conn:
        conn.executescript(_OLD_DISABLED_ENDPOINTS)
    store = Store(database)
    try:
        assert store.is_disabled("a", "http://127.0.0.1:9/cb")
        assert not store.is_disabled("b", "http://127.0.0.1:9/cb")
        assert not store.is_disabled("a", "http://127.0.0.1:9/unattributed")
    finally:
        store.close()


def test_job_status_for_a_client_hides_other_clients_jobs(store):
    job_id, _ = store.accept(new_submission(client="a"), NOW)
    assert store.job_status(job_id, client="a")["job"]["client"] == "a"
    assert store.job_status(job_id, client="b") is None
    assert store.job_status(job_id)["job"]["client"] == "a"


TWO_PER_100_S = ResubmissionLimit(2, window_seconds=100)


def test_a_submission_over_the_resubmission_limit_is_refused_with_the_wait(store):
    store.accept(new_submission("msg_1"), NOW, limit=TWO_PER_100_S)
    store.accept(new_submission("msg_2"), NOW + 10, limit=TWO_PER_100_S)
    with pytest.raises(ResubmissionLimitReached) as refused:
        store.accept(new_submission("msg_3"), NOW + 20, limit=TWO_PER_100_S)
    assert refused.value.wait_seconds == 80
    assert store.counts()["jobs"] == {"queued": 2}


def test_a_submission_that_left_the_window_no_longer_counts(store):
    store.accept(new_submission("msg_1"), NOW, limit=TWO_PER_100_S)
    store.accept(new_submission("msg_2"), NOW + 10, limit=TWO_PER_100_S)
    assert store.accept(new_submission("msg_3"), NOW + 100, limit=TWO_PER_100_S)[1]


def test_a_redelivered_webhook_id_does_not_count_and_is_answered_at_the_limit(store):
    first, _ = store.accept(new_submission("msg_1"), NOW, limit=TWO_PER_100_S)
    assert store.accept(new_submission("msg_1"), NOW, limit=TWO_PER_100_S) == (first, False)
    store.accept(new_submission("msg_2"), NOW, limit=TWO_PER_100_S)
    assert store.accept(new_submission("msg_2"), NOW, limit=TWO_PER_100_S)[1] is False


def test_a_run_that_ended_internal_error_does_not_count_against_the_student(store):
    store.accept(new_submission("msg_1"), NOW, limit=TWO_PER_100_S)
    store.accept(new_submission("msg_2"), NOW, limit=TWO_PER_100_S)
    failed = dataclasses.replace(RESULT, status="internal_error")
    store.complete_job(store.claim_job(NOW, 60), failed, [], NOW)
    assert store.accept(new_submission("msg_3"), NOW, limit=TWO_PER_100_S)[1]


def test_the_resubmission_limit_is_per_client_student_and_assignment(store):
    for n in (1, 2):
        store.accept(new_submission(f"msg_{n}"), NOW, limit=TWO_PER_100_S)
    others = [
        dataclasses.replace(new_submission("msg_3"), student_id="another student"),
        dataclasses.replace(new_submission("msg_4"), assignment="another assignment"),
        new_submission("msg_5", client="another client"),
    ]
    assert [store.accept(sub, NOW, limit=TWO_PER_100_S)[1] for sub in others] == [True, True, True]


# The table as versions before per-client endpoints wrote it, with one delivery 'a' had refused by 410.
_OLD_DISABLED_ENDPOINTS = """
CREATE TABLE deliveries (
    id TEXT PRIMARY KEY, job_id TEXT NOT NULL, client TEXT NOT NULL, kind TEXT NOT NULL, url TEXT NOT NULL,
    payload BLOB NOT NULL, state TEXT NOT NULL, attempts INTEGER NOT NULL DEFAULT 0, next_attempt_at REAL NOT NULL,
    leased_until REAL, last_status INTEGER, last_error TEXT, created_at REAL NOT NULL, delivered_at REAL,
    UNIQUE (job_id, kind)
);
INSERT INTO deliveries (id, job_id, client, kind, url, payload, state, attempts, next_attempt_at, last_status,
                        created_at)
    VALUES ('msg_1', 'job_1', 'a', 'callback', 'http://127.0.0.1:9/cb', x'7b7d', 'disabled', 1, 0, 410, 0);
CREATE TABLE disabled_endpoints (url TEXT PRIMARY KEY, disabled_at REAL NOT NULL, reason TEXT NOT NULL);
INSERT INTO disabled_endpoints VALUES ('http://127.0.0.1:9/cb', 0, 'HTTP 410 to delivery msg_1');
INSERT INTO disabled_endpoints VALUES ('http://127.0.0.1:9/unattributed', 0, 'HTTP 410');
"""


def test_non_finite_report_numbers_are_stored_as_strict_json(store, tmp_path):
    job_id, _ = store.accept(new_submission(), NOW)
    report = {"status": "graded", "cost": math.inf, "errors": [math.nan, 1.0]}
    store.complete_job(store.claim_job(NOW, 60), dataclasses.replace(RESULT, report=report), [], NOW)
    with sqlite3.connect(tmp_path / "db.sqlite") as conn:
        [stored] = conn.execute("SELECT report FROM results WHERE job_id = ?", (job_id,)).fetchone()
    assert strict_loads(stored) == {"status": "graded", "cost": None, "errors": [None, 1.0]}


def _delivery_with_error(store, error):
    job_id, _ = store.accept(new_submission(), NOW)
    store.complete_job(store.claim_job(NOW, 30), RESULT, [CALLBACK], NOW)
    delivery = store.claim_delivery(NOW, 60)
    store.record_attempt(delivery.id, state="pending", status=503, error=error, next_attempt_at=NOW, now=NOW)
    return job_id


def test_opening_an_old_database_forgets_the_receiver_answers_it_stored(store, tmp_path):
    job_id = _delivery_with_error(store, "HTTP 503: <html>internal host db-7.corp, token abc</html>")
    store.close()
    with sqlite3.connect(tmp_path / "db.sqlite") as conn:
        conn.execute("PRAGMA user_version = 0")
    reopened = Store(tmp_path / "db.sqlite")
    try:
        assert reopened.job_status(job_id)["deliveries"][0]["last_error"] == "HTTP 503"
    finally:
        reopened.close()


def test_errors_in_our_own_words_survive_reopening(store, tmp_path):
    job_id = _delivery_with_error(store, "EgressRefused: https://a.test is not one of the allowed origins")
    store.close()
    reopened = Store(tmp_path / "db.sqlite")
    try:
        assert reopened.job_status(job_id)["deliveries"][0]["last_error"].startswith("EgressRefused: https://a.test")
    finally:
        reopened.close()


def test_lti_logins_beyond_the_limit_are_not_stored(store):
    for n in range(3):
        assert store.start_lti_login(nonce=f"n{n}", state_sha256="s", client="lms", login_query="", expires_at=100.0, now=1.0, limit=3)
    assert not store.start_lti_login(nonce="n3", state_sha256="s", client="lms", login_query="", expires_at=100.0, now=1.0, limit=3)
    assert store.finish_lti_login("n3", now=2.0) is None


def test_expired_lti_logins_make_room(store):
    for n in range(3):
        store.start_lti_login(nonce=f"n{n}", state_sha256="s", client="lms", login_query="", expires_at=10.0, now=1.0, limit=3)
    assert store.start_lti_login(nonce="n3", state_sha256="s", client="lms", login_query="", expires_at=100.0, now=10.0, limit=3)
