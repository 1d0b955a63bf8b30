"""The report's JSON Schema is generated from its model, and reports are written atomically."""

import json

from grader.report import SCHEMA_PATH, render_schema, write_report
from tests.conftest import correct_source, grade_source


def test_committed_schema_matches_the_model():
    assert SCHEMA_PATH.read_text() == render_schema(), "run `make schema` and commit the result"


def test_write_report_replaces_the_file_whole(tmp_path, report_validator):
    report = grade_source(correct_source())
    path = write_report(report, tmp_path / "deep" / "report.json")
    report_validator.validate(json.loads(path.read_text()))
    assert [p.name for p in path.parent.iterdir()] == ["report.json"]
