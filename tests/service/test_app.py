"""Pieces of the HTTP layer that need no server."""

from __future__ import annotations

import math

from grader.service.app import StrictJSONResponse
from tests.service.lms_standin import strict_loads


def test_json_answers_write_non_finite_numbers_as_null():
    response = StrictJSONResponse({"score": math.inf, "report": {"cost": [math.nan, 1.5]}})
    assert strict_loads(response.body) == {"score": None, "report": {"cost": [None, 1.5]}}
