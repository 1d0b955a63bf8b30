"""Standard Webhooks signing and verification, as pure functions."""

from __future__ import annotations

import base64
import datetime
import time

import pytest
from standardwebhooks.webhooks import Webhook

from grader.service.signing import SignatureError, parse_secret, sign, signed_headers, verify

# The published Standard Webhooks test vector: a receiver's own library must accept what we send.
VECTOR_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
VECTOR_ID = "msg_p5jXN8AQM9LWM0D4loKWxJek"
VECTOR_TIMESTAMP = 1614265330
VECTOR_BODY = b'{"test": 2432232314}'
VECTOR_SIGNATURE = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="

KEY = parse_secret(VECTOR_SECRET)
OTHER_KEY = b"another-secret-of-32-bytes-long!"


def _headers(signature=VECTOR_SIGNATURE, timestamp=VECTOR_TIMESTAMP, msg_id=VECTOR_ID):
    return {"webhook-id": msg_id, "webhook-timestamp": str(timestamp), "webhook-signature": signature}


def test_sign_reproduces_the_published_vector():
    assert sign(KEY, VECTOR_ID, VECTOR_TIMESTAMP, VECTOR_BODY) == VECTOR_SIGNATURE


def test_signed_headers_carry_id_timestamp_and_signature():
    assert signed_headers(KEY, VECTOR_ID, VECTOR_TIMESTAMP, VECTOR_BODY) == _headers()


def test_verify_names_the_client_whose_key_matches():
    keys = {"other": OTHER_KEY, "canvas": KEY}
    assert verify(keys, _headers(), VECTOR_BODY, now=VECTOR_TIMESTAMP) == "canvas"


def test_any_of_several_signatures_may_match():
    header = f"v1,bm9wZQ== v1a,ignored {VECTOR_SIGNATURE}"
    assert verify({"c": KEY}, _headers(header), VECTOR_BODY, now=VECTOR_TIMESTAMP) == "c"


def test_wrong_secret_is_refused():
    with pytest.raises(SignatureError, match="no webhook-signature matches"):
        verify({"c": OTHER_KEY}, _headers(), VECTOR_BODY, now=VECTOR_TIMESTAMP)


def test_tampered_body_is_refused():
    with pytest.raises(SignatureError):
        verify({"c": KEY}, _headers(), VECTOR_BODY.replace(b"2", b"3"), now=VECTOR_TIMESTAMP)


def test_tampered_id_is_refused():
    with pytest.raises(SignatureError):
        verify({"c": KEY}, _headers(msg_id="msg_other"), VECTOR_BODY, now=VECTOR_TIMESTAMP)


@pytest.mark.parametrize("skew", [-301, 301])
def test_timestamps_outside_the_tolerance_are_refused(skew):
    with pytest.raises(SignatureError, match="300 s"):
        verify({"c": KEY}, _headers(), VECTOR_BODY, now=VECTOR_TIMESTAMP + skew)


@pytest.mark.parametrize("skew", [-300, 300])
def test_timestamps_at_the_tolerance_are_accepted(skew):
    assert verify({"c": KEY}, _headers(), VECTOR_BODY, now=VECTOR_TIMESTAMP + skew) == "c"


@pytest.mark.parametrize("missing", ["webhook-id", "webhook-timestamp", "webhook-signature"])
def test_missing_headers_are_refused(missing):
    headers = _headers()
    del headers[missing]
    with pytest.raises(SignatureError, match="required"):
        verify({"c": KEY}, headers, VECTOR_BODY, now=VECTOR_TIMESTAMP)


def test_non_integer_timestamp_is_refused():
    with pytest.raises(SignatureError, match="integer"):
        verify({"c": KEY}, _headers(timestamp="1614265330.5"), VECTOR_BODY, now=VECTOR_TIMESTAMP)


@pytest.mark.parametrize(
    "secret",
    ["MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "whsec_!!!", "whsec_" + base64.b64encode(b"short").decode()],
)
def test_malformed_secrets_are_refused(secret):
    with pytest.raises(ValueError):
        parse_secret(secret)


def test_the_reference_library_accepts_what_we_sign():
    now = int(time.time())
    headers = signed_headers(KEY, VECTOR_ID, now, VECTOR_BODY)
    assert Webhook(VECTOR_SECRET).verify(VECTOR_BODY, headers, json_parse=False) is None


def test_we_accept_what_the_reference_library_signs():
    now = int(time.time())
    signature = Webhook(VECTOR_SECRET).sign(VECTOR_ID, datetime.datetime.fromtimestamp(now, datetime.UTC), "{}")
    assert verify({"c": KEY}, _headers(signature, timestamp=now), b"{}", now=now) == "c"


def test_a_body_that_is_not_utf8_is_refused_with_the_reason():
    with pytest.raises(SignatureError, match="not UTF-8"):
        verify({"c": KEY}, _headers(), b"\xff\xfe", now=VECTOR_TIMESTAMP)


def test_malformed_signature_entries_are_ignored():
    header = f"v1 v1,!!! garbage {VECTOR_SIGNATURE}"
    assert verify({"c": KEY}, _headers(header), VECTOR_BODY, now=VECTOR_TIMESTAMP) == "c"
