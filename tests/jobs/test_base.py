"""Task payloads: a job survives the trip through JSON byte for byte; malformed payloads are refused."""

from __future__ import annotations

import json

import pytest

from grader.jobs.base import Job, job_payload, payload_job
from grader.submission import Submission


def test_a_job_round_trips_through_a_json_payload_byte_for_byte():
    job = Job("job_1", Submission("nb.ipynb", b"\xef\xbb\xbf{\x00\xff binary", refused="a reason"), 12.5)
    assert payload_job("job_1", json.loads(json.dumps(job_payload(job)))) == job


def test_a_job_without_a_timeout_keeps_none():
    assert payload_job("k", job_payload(Job("k", Submission("a.py", b"x = 1\n")))).timeout is None


@pytest.mark.parametrize("payload", [{}, {"name": "a.py", "content": "not base64!"}, {"name": "a.py"}])
def test_a_malformed_payload_is_refused(payload):
    with pytest.raises((KeyError, ValueError)):
        payload_job("k", payload)
