"""Frames as the in-sandbox runner writes them, for tests that play the runner's part."""

from __future__ import annotations

import json
from typing import Any

from grader.wire import FRAME_PREFIX


def frame_line(frame: dict[str, Any]) -> bytes:
    """One frame, as `grader/runner.py` writes it on its output channel."""
    return FRAME_PREFIX + json.dumps(frame).encode() + b"\n"
