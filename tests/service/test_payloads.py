"""What a finished job sends: the callback event and the AGS score."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import math

from grader.service.payloads import callback_body, plan_deliveries
from grader.service.store import ClaimedJob, Result
from tests.service.lms_standin import strict_loads

WHEN = dt.datetime(2025, 3, 1, 12, 0, 0, 123456, tzinfo=dt.timezone.utc)
RESULT = Result(status="graded", score=7.0, max_score=10.0, report={"status": "graded", "score": 7.0})


def _job(callback_url="http://127.0.0.1:9/cb", lti=None):
    return ClaimedJob(
        id="job_1", lease_token="t", attempts=1, client="lms", assignment="reg", student_id="s1",
        filename="f.py", content=b"", content_sha256="abc", callback_url=callback_url, lti=lti,
    )


def test_callback_is_a_grading_completed_event():
    event = json.loads(callback_body(_job(), RESULT, WHEN))
    assert event == {
        "type": "grading.completed",
        "timestamp": "2025-03-01T12:00:00.123Z",
        "data": {
            "job_id": "job_1", "client": "lms", "assignment": "reg", "student_id": "s1", "filename": "f.py",
            "submission_sha256": "abc", "status": "graded", "score": 7.0, "max_score": 10.0,
            "report": {"status": "graded", "score": 7.0},
        },
    }


def test_callback_body_is_byte_stable():
    assert callback_body(_job(), RESULT, WHEN) == callback_body(_job(), RESULT, WHEN)


def test_no_targets_no_deliveries():
    assert plan_deliveries(_job(callback_url=None), RESULT, WHEN) == []


def test_lti_submissions_get_a_score_delivery():
    lti = {"lineitem_url": "http://127.0.0.1:9/li/3?x=1", "user_id": "u9"}
    callback, score = plan_deliveries(_job(lti=lti), RESULT, WHEN)
    assert (callback.kind, score.kind) == ("callback", "lti")
    assert score.url == "http://127.0.0.1:9/li/3/scores?x=1"
    assert json.loads(score.payload)["userId"] == "u9"


def test_non_finite_report_numbers_become_null_in_the_callback():
    result = dataclasses.replace(RESULT, report={"cost": -math.inf, "relative_error": math.nan})
    event = strict_loads(callback_body(_job(), result, WHEN))
    assert event["data"]["report"] == {"cost": None, "relative_error": None}


def test_non_finite_score_becomes_null_in_the_lti_score():
    result = dataclasses.replace(RESULT, score=math.nan)
    [score] = plan_deliveries(_job(callback_url=None, lti={"lineitem_url": "http://127.0.0.1:9/li", "user_id": "u"}),
                              result, WHEN)
    assert strict_loads(score.payload)["scoreGiven"] is None
HELD = Result(status="internal_error", score=0.0, max_score=0.0,
              report={"status": "internal_error", "score": 0.0, "message": "a person will look at it"})


def test_an_internal_error_is_sent_as_held_without_a_score():
    event = json.loads(callback_body(_job(), HELD, WHEN))
    assert event["type"] == "grading.held"
    assert event["data"] == {
        "job_id": "job_1", "client": "lms", "assignment": "reg", "student_id": "s1", "filename": "f.py",
        "submission_sha256": "abc", "status": "internal_error", "message": "a person will look at it",
    }


def test_an_internal_error_sends_no_score_to_the_lms():
    job = _job(lti={"lineitem_url": "http://127.0.0.1:9/lineitems/1", "user_id": "u1"})
    assert [delivery.kind for delivery in plan_deliveries(job, HELD, WHEN)] == ["callback"]


def test_the_lti_score_carries_a_comment_with_the_score_and_each_functions_score():
    report = {"functions": {"compute_cost_with_regularization": {"score": 2.0, "max_score": 2.0},
                            "forward_propagation_with_dropout": {"score": 1.5, "max_score": 3.0}}}
    result = dataclasses.replace(RESULT, score=3.5, max_score=5.0, report=report)
    [score] = plan_deliveries(_job(callback_url=None, lti={"lineitem_url": "http://127.0.0.1:9/li", "user_id": "u"}),
                              result, WHEN)
    assert json.loads(score.payload)["comment"] == (
        "3.5 / 5; compute_cost_with_regularization 2 / 2, forward_propagation_with_dropout 1.5 / 3"
    )


def test_the_comment_of_a_report_without_functions_is_the_score_alone():
    [score] = plan_deliveries(_job(callback_url=None, lti={"lineitem_url": "http://127.0.0.1:9/li", "user_id": "u"}),
                              RESULT, WHEN)
    assert json.loads(score.payload)["comment"] == "7 / 10"
