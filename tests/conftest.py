"""Fixtures shared by the whole suite."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

from grader.assignment import load_assignment
from grader.engine import grade
from grader.report import SCHEMA_PATH, Report
from grader.submission import Submission

ROOT = Path(__file__).resolve().parent.parent
SUBMISSIONS = ROOT / "submissions"
CORRECT = SUBMISSIONS / "correct"
NON_FINITE_COST = ROOT / "tests" / "data" / "cost_log_of_labels.py"
"""An honest mistake whose cost is inf/nan (log of the 0/1 labels): non-finite numbers in a real report."""


def strict_json_loads(text: str):
    """`json.loads` that refuses NaN and Infinity, like JavaScript's JSON.parse and most LMSs."""

    def refuse(token: str):
        raise ValueError(f"non-standard JSON token {token}")

    return json.loads(text, parse_constant=refuse)


@pytest.fixture(scope="session")
def assignment():
    return load_assignment()


@pytest.fixture(scope="session")
def report_validator():
    schema = json.loads(SCHEMA_PATH.read_text())
    return jsonschema.Draft202012Validator(schema)


def grade_source(source: str | bytes, name: str = "submission.py", **options) -> Report:
    """Grade source text with the local process backend (fast; for engine behaviour)."""
    content = source.encode() if isinstance(source, str) else source
    return grade(Submission(name=name, content=content), backend=options.pop("backend", "process"), **options)


def correct_source() -> str:
    return (CORRECT / "template_without_seed.py").read_text()
