"""The one JSON encoder for everything the grader emits: reports, batch files, service bodies.

Strict receivers (JavaScript's `JSON.parse`, Go, most LMSs) refuse the `NaN` and `Infinity`
tokens that Python's `json` writes by default, and a refused callback means a grade that never
arrives. A non-finite number (an honest `log(0)` in a student's cost, say) is written as `null`.
"""

from __future__ import annotations

import json
import math
from typing import Any


def finite(value: Any) -> Any:
    """`value` with every non-finite float, at any depth, replaced by None."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {key: finite(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [finite(item) for item in value]
    return value


def dumps(value: Any, **options: Any) -> str:
    """`json.dumps` that never writes NaN or Infinity (they become null); options as json.dumps."""
    return json.dumps(finite(value), allow_nan=False, **options)
