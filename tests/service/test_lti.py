"""LTI AGS pieces: the scores URL, the Score body and the client assertion."""

from __future__ import annotations

import datetime as dt
import re

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from grader.service.lti import SCORE_SCOPE, client_assertion, score_body, scores_url, token_request_form

WHEN = dt.datetime(2025, 3, 1, 12, 30, 5, 250000, tzinfo=dt.timezone.utc)


@pytest.mark.parametrize(
    ("lineitem", "expected"),
    [
        ("https://lms.example/api/lti/courses/1/line_items/2", "https://lms.example/api/lti/courses/1/line_items/2/scores"),
        ("https://lms.example/li/2?type_id=9", "https://lms.example/li/2/scores?type_id=9"),
        ("https://lms.example/li/2/", "https://lms.example/li/2/scores"),
    ],
)
def test_scores_url_goes_before_the_query(lineitem, expected):
    assert scores_url(lineitem) == expected


def test_graded_score_body():
    body = score_body(user_id="u1", status="graded", score=72.5, max_score=80.0, timestamp=WHEN)
    assert body == {
        "userId": "u1",
        "scoreGiven": 72.5,
        "scoreMaximum": 80.0,
        "activityProgress": "Completed",
        "gradingProgress": "FullyGraded",
        "timestamp": "2025-03-01T12:30:05.250+00:00",
    }


@pytest.mark.parametrize("status", ["error", "timeout", "rejected", "memory_limit_exceeded", "internal_error"])
def test_ungraded_runs_are_failed(status):
    assert score_body(user_id="u", status=status, score=0, max_score=80, timestamp=WHEN)["gradingProgress"] == "Failed"


def test_no_maximum_means_no_score_fields():
    body = score_body(user_id="u", status="internal_error", score=0, max_score=0, timestamp=WHEN)
    assert "scoreGiven" not in body and "scoreMaximum" not in body


def test_timestamp_has_sub_second_precision_even_on_whole_seconds():
    stamp = score_body(user_id="u", status="graded", score=1, max_score=1, timestamp=WHEN.replace(microsecond=0))
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+00:00", stamp["timestamp"])


def test_client_assertion_claims_and_signature():
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    token = client_assertion(
        client_id="tool", token_url="https://lms.example/token", private_key=pem.decode(), key_id="k1",
        now=1_700_000_000, jti="j1",
    )
    assert jwt.get_unverified_header(token) == {"alg": "RS256", "kid": "k1", "typ": "JWT"}
    claims = jwt.decode(
        token, key.public_key(), algorithms=["RS256"], audience="https://lms.example/token",
        options={"verify_exp": False, "verify_iat": False},
    )
    assert claims == {"iss": "tool", "sub": "tool", "aud": "https://lms.example/token",
                      "iat": 1_700_000_000, "exp": 1_700_000_300, "jti": "j1"}


def test_token_request_form():
    assert token_request_form("A.B.C") == {
        "grant_type": "client_credentials",
        "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
        "client_assertion": "A.B.C",
        "scope": SCORE_SCOPE,
    }
