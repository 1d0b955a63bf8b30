import json
import math

import pytest

from grader import strict_json


def _strict_loads(text: str):
    def refuse(token: str):
        raise ValueError(f"non-standard JSON token {token}")

    return json.loads(text, parse_constant=refuse)


def test_non_finite_numbers_at_any_depth_become_null():
    value = {"a": math.nan, "b": [1.0, -math.inf, {"c": (math.inf, 2)}], "d": "NaN"}
    text = strict_json.dumps(value)
    assert _strict_loads(text) == {"a": None, "b": [1.0, None, {"c": [None, 2]}], "d": "NaN"}


def test_plain_json_is_unchanged():
    value = {"score": 80.0, "items": [1, 2.5, "x", None, True]}
    assert strict_json.dumps(value, sort_keys=True) == json.dumps(value, sort_keys=True)


def test_python_json_would_have_written_invalid_tokens():
    # The reason this module exists: the standard encoder's default output is not JSON.
    with pytest.raises(ValueError):
        _strict_loads(json.dumps({"cost": math.inf}))
