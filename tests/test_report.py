"""The report's JSON Schema is generated from its model, and reports are written atomically."""

import json

from grader.assignment import load_assignment
from grader.report import SCHEMA_PATH, Report, SubmissionInfo, render_schema, write_report
from tests.conftest import correct_source, grade_source


def test_committed_schema_matches_the_model():
    assert SCHEMA_PATH.read_text() == render_schema(), "run `make schema` and commit the result"


def test_write_report_replaces_the_file_whole(tmp_path, report_validator):
    report = grade_source(correct_source())
    path = write_report(report, tmp_path / "deep" / "report.json")
    report_validator.validate(json.loads(path.read_text()))
    assert [p.name for p in path.parent.iterdir()] == ["report.json"]


def test_a_failed_report_scores_every_function_zero_and_is_schema_valid(report_validator):
    assignment = load_assignment()
    report = Report.failed(assignment, "internal_error", "the grader failed",
                           submission=SubmissionInfo(name="a.py", sha256="ab", size=2))
    assert (report.score, report.max_score) == (0.0, assignment.max_score)
    assert {name: (f.score, f.cases) for name, f in report.functions.items()} == dict.fromkeys(assignment.functions, (0.0, []))
    report_validator.validate(json.loads(report.to_json()))
