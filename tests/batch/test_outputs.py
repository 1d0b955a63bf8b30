"""The class outputs: gradebook.csv, junit.xml and Gradescope results.json, from really graded reports."""

from __future__ import annotations

import csv
import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from grader.assignment import load_assignment
from grader.batch.inputs import Absent
from grader.batch.outputs import gradescope_results, junit_xml
from grader.batch.run import absent_report, grade_batch
from tests.batch.conftest import BROKEN, correct, mistaken, write_tree

FUNCTIONS = list(load_assignment().functions)
GRADESCOPE_VISIBILITY = {"hidden", "after_due_date", "after_published", "visible"}


@pytest.fixture(scope="module")
def graded(tmp_path_factory) -> Path:
    """A graded class: correct, mistaken, broken, and a roster student who handed in nothing."""
    root = tmp_path_factory.mktemp("class")
    write_tree(root / "in", {"alice.py": correct(), "carol.py": mistaken(), "dave.py": BROKEN})
    (root / "roster.csv").write_text("student_id\nalice\ncarol\ndave\nzoe\n")
    grade_batch(root / "in", root / "out", jobs=2, backend="process", roster=root / "roster.csv")
    return root / "out"


def test_gradebook_has_a_row_per_student_with_per_function_scores_and_status(graded):
    with open(graded / "gradebook.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert list(rows[0]) == ["student_id", "score", "max_score", *FUNCTIONS, "status"]
    table = {row["student_id"]: row for row in rows}
    assert [row["student_id"] for row in rows] == ["alice", "carol", "dave", "zoe"]
    assert (table["alice"]["score"], table["alice"]["max_score"], table["alice"]["status"]) == ("80", "80", "graded")
    assert table["carol"]["compute_cost_with_regularization"] == "3"
    assert table["carol"]["score"] == "68"
    assert (table["zoe"]["score"], table["zoe"]["status"]) == ("0", "missing")
    assert (table["dave"]["score"], table["dave"]["status"]) == ("0", "error")


def _junit(graded: Path) -> ET.Element:
    return ET.parse(graded / "junit.xml").getroot()


def test_junit_has_a_suite_per_student_and_a_case_per_function(graded):
    root = _junit(graded)
    assert root.tag == "testsuites"
    suites = root.findall("testsuite")
    assert [suite.get("name") for suite in suites] == ["alice", "carol", "dave", "zoe"]
    for suite in suites:
        cases = suite.findall("testcase")
        assert [(case.get("classname"), case.get("name")) for case in cases] == [
            (suite.get("name"), function) for function in FUNCTIONS]
        assert int(suite.get("tests")) == len(cases)
        assert int(suite.get("failures")) == sum(case.find("failure") is not None for case in cases)
        assert int(suite.get("errors")) == sum(case.find("error") is not None for case in cases)
        assert all(float(case.get("time")) >= 0 for case in cases)
    assert int(root.get("tests")) == 4 * len(FUNCTIONS)
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
    for student in ("alice", "carol", "dave", "zoe"):
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
