"""The class outputs: gradebook.csv, junit.xml and Gradescope results.json, from really graded reports."""

from __future__ import annotations

import csv
import json
import math
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from grader.assignment import load_assignment
from grader.batch.inputs import Absent
from grader.batch.outputs import gradescope_results, junit_xml, write_outputs
from grader.batch.run import LOG_NAME, absent_report, grade_batch
from tests.batch.conftest import BROKEN, correct, mistaken, write_tree
from tests.conftest import NON_FINITE_COST, strict_json_loads

FUNCTIONS = list(load_assignment().functions)
GRADESCOPE_VISIBILITY = {"hidden", "after_due_date", "after_published", "visible"}


STUDENTS = ["Jane_Smith", "alice", "carol", "dave", "nina", "zoe"]


@pytest.fixture(scope="module")
def graded(tmp_path_factory) -> Path:
    """A graded class: correct, mistaken, broken, a cost that is not finite, two files claiming one
    student (a conflict), and a roster student who handed in nothing."""
    root = tmp_path_factory.mktemp("class")
    write_tree(root / "in", {"alice.py": correct(), "carol.py": mistaken(), "dave.py": BROKEN,
                             "nina.py": NON_FINITE_COST.read_text(),
                             "Jane Smith.py": correct("one"), "Jane_Smith.py": correct("other")})
    (root / "roster.csv").write_text("student_id\nalice\ncarol\ndave\nnina\nJane_Smith\nzoe\n")
    grade_batch(root / "in", root / "out", jobs=2, backend="process", roster=root / "roster.csv")
    return root / "out"


def _gradebook(graded: Path) -> tuple[list[str], list[list[str]]]:
    with open(graded / "gradebook.csv", newline="") as handle:
        header, *rows = list(csv.reader(handle))
    return header, rows


def test_every_gradebook_cell_agrees_with_the_students_report(graded):
    header, rows = _gradebook(graded)
    assert header == ["student_id", "score", "max_score", *FUNCTIONS, "status"]
    assert [row[0] for row in rows] == STUDENTS
    assert sorted(path.stem for path in (graded / "reports").glob("*.json")) == STUDENTS
    for row in rows:
        assert len(row) == len(header), row
        cells = dict(zip(header, row))
        report = json.loads((graded / "reports" / f"{cells['student_id']}.json").read_text())
        assert float(cells["score"]) == report["score"], cells
        assert float(cells["max_score"]) == report["max_score"], cells
        for function in FUNCTIONS:
            assert float(cells[function]) == report["functions"][function]["score"], (cells, function)
        assert cells["status"] == report["status"], cells


def test_gradebook_rows_show_each_outcome(graded):
    header, rows = _gradebook(graded)
    assert {row[0]: (row[1], row[-1]) for row in rows} == {
        "Jane_Smith": ("0", "conflict"), "alice": ("80", "graded"), "carol": ("68", "graded"),
        "dave": ("0", "error"), "nina": ("65", "graded"), "zoe": ("0", "missing")}
    carol = dict(zip(header, rows[STUDENTS.index("carol")]))
    assert (carol["compute_cost_with_regularization"], carol["max_score"]) == ("3", "80")


def test_a_conflict_report_names_both_files_and_grades_neither(graded):
    report = json.loads((graded / "reports" / "Jane_Smith.json").read_text())
    assert report["status"] == "conflict" and report["submission"]["sha256"] == ""
    assert "Jane Smith.py" in report["message"] and "Jane_Smith.py" in report["message"]


def test_every_json_the_batch_writes_parses_strictly(graded):
    paths = sorted(graded.rglob("*.json"))
    assert {path.parent.name for path in paths} >= {"reports", "nina"}
    for path in paths:
        strict_json_loads(path.read_text())
    for line in (graded / LOG_NAME).read_text().splitlines():
        strict_json_loads(line)
    nina = json.loads((graded / "reports" / "nina.json").read_text())
    cost = nina["functions"]["compute_cost_with_regularization"]["cases"][0]["outputs"]["cost"]
    assert "NaN or infinity" in cost["message"] and cost["max_abs_error"] is None


def test_gradescope_results_stay_strict_json_with_a_non_finite_number(tmp_path):
    assignment = load_assignment()
    report = absent_report(assignment, Absent("eve", "x")).model_copy(update={"duration_seconds": math.inf})
    write_outputs(tmp_path, {"eve": report}, assignment)
    results = strict_json_loads((tmp_path / "gradescope" / "eve" / "results.json").read_text())
    assert results["execution_time"] is None


def _junit(graded: Path) -> ET.Element:
    return ET.parse(graded / "junit.xml").getroot()


def test_junit_has_a_suite_per_student_and_a_case_per_function(graded):
    root = _junit(graded)
    assert root.tag == "testsuites"
    suites = root.findall("testsuite")
    assert [suite.get("name") for suite in suites] == STUDENTS
    for suite in suites:
        cases = suite.findall("testcase")
        assert [(case.get("classname"), case.get("name")) for case in cases] == [
            (suite.get("name"), function) for function in FUNCTIONS]
        assert int(suite.get("tests")) == len(cases)
        assert int(suite.get("failures")) == sum(case.find("failure") is not None for case in cases)
        assert int(suite.get("errors")) == sum(case.find("error") is not None for case in cases)
        assert all(float(case.get("time")) >= 0 for case in cases)
    assert int(root.get("tests")) == len(STUDENTS) * len(FUNCTIONS)
    assert int(root.get("failures")) == sum(int(suite.get("failures")) for suite in suites)


def test_junit_failures_carry_the_message_and_points_as_properties(graded):
    carol = _junit(graded).find("testsuite[@name='carol']")
    cost = carol.find("testcase[@name='compute_cost_with_regularization']")
    failure = cost.find("failure")
    assert failure.get("type") == "wrong_output"
    assert failure.get("message").startswith("cost is not within tolerance")
    assert "cost is not within tolerance" in failure.text
    assert {prop.get("name"): prop.get("value") for prop in cost.iter("property")} == {"score": "3", "max_score": "15"}
    assert carol.find("testcase[@name='forward_propagation_with_dropout']/failure") is None


def test_junit_marks_broken_and_missing_submissions_as_failures_of_their_kind(graded):
    root = _junit(graded)
    assert {failure.get("type") for failure in root.findall("testsuite[@name='dave']/testcase/failure")} == {"error"}
    zoe = root.findall("testsuite[@name='zoe']/testcase/failure")
    assert len(zoe) == len(FUNCTIONS)
    assert {failure.get("message") for failure in zoe} == {"nothing was handed in"}


def test_junit_reports_grader_failures_as_errors_and_stays_valid_xml_with_control_characters():
    assignment = load_assignment()
    report = absent_report(assignment, Absent("eve", "x")).model_copy(
        update={"status": "internal_error", "message": "the grader failed: \x00\x1b[31m<boom>"})
    root = ET.fromstring(junit_xml({"eve": report}, assignment))
    errors = root.findall("testsuite/testcase/error")
    assert len(errors) == len(FUNCTIONS)
    assert errors[0].get("message") == "the grader failed: \ufffd\ufffd[31m<boom>"
    assert root.get("errors") == str(len(FUNCTIONS))


def test_gradescope_results_have_the_spec_fields_and_add_up_to_the_score(graded):
    for student in STUDENTS:
        results = json.loads((graded / "gradescope" / student / "results.json").read_text())
        report = json.loads((graded / "reports" / f"{student}.json").read_text())
        assert results["score"] == report["score"]
        assert isinstance(results["output"], str) and results["output"]
        assert results["visibility"] in GRADESCOPE_VISIBILITY
        assert isinstance(results["execution_time"], (int, float))
        assert results["tests"], student
        for test in results["tests"]:
            assert set(test) >= {"name", "score", "max_score", "visibility", "output", "status"}
            assert test["visibility"] in GRADESCOPE_VISIBILITY
            assert test["status"] in {"passed", "failed"}
            assert 0 <= test["score"] <= test["max_score"]
        assert sum(test["score"] for test in results["tests"]) == pytest.approx(results["score"])
        assert sum(test["max_score"] for test in results["tests"]) == pytest.approx(report["max_score"])


def test_gradescope_tests_follow_case_visibility_and_explain_failures(graded):
    report = json.loads((graded / "reports" / "carol.json").read_text())
    results = json.loads((graded / "gradescope" / "carol" / "results.json").read_text())
    public = next(test for test in results["tests"] if test["name"] == "compute_cost_with_regularization: cost-public")
    assert (public["visibility"], public["status"], public["score"]) == ("visible", "failed", 0.0)
    assert public["output"].startswith("cost is not within tolerance")
    hidden_cases = {case["id"] for cases in report["functions"].values() for case in cases["cases"]
                    if case["visibility"] == "hidden"}
    assert {test["name"].split(": ")[1] for test in results["tests"]
            if test["visibility"] == "after_due_date"} == hidden_cases


def test_gradescope_results_of_a_missing_student_have_one_zero_test_per_function():
    results = gradescope_results(absent_report(load_assignment(), Absent("zoe", "nothing was handed in")))
    assert [(test["name"], test["score"], test["status"]) for test in results["tests"]] == [
        (function, 0.0, "failed") for function in FUNCTIONS]
    assert results["output"] == "nothing was handed in"
