"""The pytest record of a grading run: one item per case, verdicts as user properties."""

import dataclasses

import pytest

from grader.checks import build_checks
from grader.pytest_run import run_checks
from grader.scoring import Unchecked, score
from grader.wire import SandboxResult


def _checks(assignment):
    return build_checks(assignment, SandboxResult(), "not run: the file is empty")


def test_one_item_per_case_in_case_order_each_recording_every_output(assignment):
    checks = _checks(assignment)
    record = run_checks(checks)
    tests = record["tests"]
    assert [test["nodeid"].rsplit("::", 1)[1] for test in tests] == [case.id for case in assignment.cases]
    assert {test["outcome"] for test in tests} == {"failed"}
    first = tests[0]
    verdicts = dict(first["user_properties"][0]["verdicts"])
    assert set(verdicts) == {check.output for check in checks if check.case.id == assignment.cases[0].id}
    assert "was not produced: not run: the file is empty" in first["call"]["longrepr"]


def test_the_record_scores_every_check(assignment):
    checks = _checks(assignment)
    functions = score(assignment, checks, run_checks(checks))
    assert set(functions) == set(assignment.functions)
    assert all(function.score == 0 for function in functions.values())


def test_a_check_that_breaks_is_an_error_of_its_case_not_a_silent_pass(assignment):
    checks = _checks(assignment)
    broken = dataclasses.replace(checks[0], output="cost", failure="", actual=None, expected=None)
    record = run_checks([broken, *checks[1:]])
    first = record["tests"][0]
    assert first["outcome"] == "failed"
    assert "user_properties" not in first or not first["user_properties"]
    with pytest.raises(Unchecked) as raised:
        score(assignment, [broken, *checks[1:]], record)
    _, missing = raised.value.args
    assert all(check_id.startswith(assignment.cases[0].id + "::") for check_id in missing)
