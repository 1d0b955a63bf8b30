"""Grading end to end with the local process backend: scores, statuses, messages."""

from __future__ import annotations

import json

import pytest

from tests.conftest import CORRECT, SUBMISSIONS, correct_source, grade_source

ADVERSARIAL = SUBMISSIONS / "adversarial"

FUNCTIONS = (
    "compute_cost_with_regularization",
    "backward_propagation_with_regularization",
    "forward_propagation_with_dropout",
    "backward_propagation_with_dropout",
)


def _replace_function(source: str, name: str, body: str) -> str:
    """The correct source with function `name` replaced by `body` (a whole def)."""
    start = source.index(f"def {name}(")
    end = source.find("\ndef ", start + 1)
    return source[:start] + body + ("\n" + source[end:] if end != -1 else "\n")


@pytest.mark.parametrize("template", ["template_with_seed.py", "template_without_seed.py"])
def test_both_course_templates_get_full_marks(template, report_validator):
    report = grade_source((CORRECT / template).read_text(), template)
    assert report.status == "graded"
    assert report.score == report.max_score == 80
    assert all(function.passed for function in report.functions.values())
    report_validator.validate(json.loads(report.to_json()))


def test_report_names_submission_hash_version_and_case_set(assignment):
    source = correct_source()
    report = grade_source(source, "student.py")
    assert report.submission.name == "student.py"
    assert len(report.submission.sha256) == 64
    assert report.testcases_digest == assignment.digest
    assert report.grader_version


def test_exception_in_one_function_costs_that_function_only():
    source = _replace_function(
        correct_source(), "compute_cost_with_regularization",
        "def compute_cost_with_regularization(A3, Y, parameters, lambd):\n    raise ValueError('oops')\n",
    )
    report = grade_source(source)
    cost = report.functions["compute_cost_with_regularization"]
    assert cost.score == 0
    assert "raised ValueError: oops" in cost.cases[0].message
    assert report.score == report.max_score - cost.max_score
    assert report.status == "graded"


def test_missing_function_is_named():
    source = _replace_function(correct_source(), "backward_propagation_with_dropout", "")
    report = grade_source(source)
    function = report.functions["backward_propagation_with_dropout"]
    assert function.score == 0
    assert "backward_propagation_with_dropout is not defined" in function.cases[0].outputs["dA1"].message


def test_wrong_return_type_costs_that_output():
    source = _replace_function(
        correct_source(), "compute_cost_with_regularization",
        "def compute_cost_with_regularization(A3, Y, parameters, lambd):\n    return 'cost'\n",
    )
    report = grade_source(source)
    message = report.functions["compute_cost_with_regularization"].cases[0].outputs["cost"].message
    assert "not a number or array" in message


def test_syntax_error_reports_the_line():
    report = grade_source("import numpy as np\n\ndef compute_cost_with_regularization(A3, Y:\n    pass\n")
    assert report.status == "error"
    assert "SyntaxError" in report.message and "line 3" in report.message
    assert report.score == 0


@pytest.mark.parametrize(
    ("content", "reason"),
    [(b"", "empty"), (b"   \n\n", "empty"), (b"\x00\x01\x02binary", "binary"), (b"caf\xe9 = 1\n", "UTF-8")],
)
def test_unreadable_files_are_rejected_with_a_reason(content, reason, report_validator):
    report = grade_source(content)
    assert report.status == "rejected"
    assert reason in report.message
    assert report.score == 0 and report.max_score == 80
    report_validator.validate(json.loads(report.to_json()))


def test_endless_loop_in_one_function_costs_that_function_only():
    source = _replace_function(
        correct_source(), "compute_cost_with_regularization",
        "def compute_cost_with_regularization(A3, Y, parameters, lambd):\n    while True:\n        pass\n",
    )
    report = grade_source(source, timeout=60)
    assert report.functions["compute_cost_with_regularization"].score == 0
    cases = report.functions["compute_cost_with_regularization"].cases
    assert "took longer than" in cases[0].message
    assert "not run again" in cases[1].message
    assert report.score == 65


def test_whole_run_timeout_keeps_finished_calls():
    source = _replace_function(
        correct_source(), "backward_propagation_with_dropout",
        "def backward_propagation_with_dropout(X, Y, cache, keep_prob):\n"
        "    import signal\n    signal.signal(signal.SIGALRM, signal.SIG_IGN)\n    while True:\n        pass\n",
    )
    report = grade_source(source, timeout=4)
    assert report.status == "timeout"
    assert "4 s" in report.message
    assert report.score == 65
    assert "time limit" in report.functions["backward_propagation_with_dropout"].cases[-1].message


def test_hidden_case_messages_do_not_show_expected_values(assignment):
    source = correct_source().replace("(1. / m) * (lambd / 2)", "(1. / m) * lambd")
    report = grade_source(source)
    cost = report.functions["compute_cost_with_regularization"]
    for case in cost.cases:
        expected = float(assignment.data[case.id].expected["default"]["cost"])
        message = case.outputs["cost"].message
        if case.visibility == "hidden":
            assert f"{expected:.6g}" not in message and "expected" not in message.split(";")[-1]
        elif not case.passed:
            assert f"{expected:.6g}" in message


def test_printed_output_is_captured_and_truncated():
    source = correct_source().replace("    m = Y.shape[1]\n", "    m = Y.shape[1]\n    print('x' * 100000)\n", 1)
    report = grade_source(source)
    assert report.score == 80
    assert report.stdout.truncated
    assert report.stdout.bytes > 100000
    assert len(report.stdout.text) < 20000


def test_top_level_code_is_skipped_and_listed():
    source = correct_source() + "\nprint('training')\nmodel = train_forever()\nwhile True:\n    pass\n"
    report = grade_source(source)
    assert report.score == 80
    assert len(report.skipped_statements) == 3


def test_mutating_an_argument_loses_the_inputs_share():
    source = correct_source().replace(
        "    dZ1 = np.multiply(dA1, np.int64(A1 > 0))\n    dW1 = 1. / m * np.dot(dZ1, X.T) + (lambd / m) * W1",
        "    A1[A1 > 0] = 1\n    dZ1 = np.multiply(dA1, A1)\n    dW1 = 1. / m * np.dot(dZ1, X.T) + (lambd / m) * W1",
    )
    report = grade_source(source)
    function = report.functions["backward_propagation_with_regularization"]
    flagged = [case for case in function.cases if not case.outputs["inputs"].passed]
    assert len(flagged) >= 4
    assert function.score == function.max_score - len(flagged)
    assert "modified its argument(s) cache" in flagged[0].outputs["inputs"].message
    assert all(output.passed for case in function.cases for name, output in case.outputs.items() if name != "inputs")


def test_an_empty_function_earns_nothing_for_leaving_inputs_alone():
    source = _replace_function(
        correct_source(), "compute_cost_with_regularization",
        "def compute_cost_with_regularization(A3, Y, parameters, lambd):\n    return 0.0\n",
    )
    report = grade_source(source)
    assert report.functions["compute_cost_with_regularization"].score == 0


def test_every_function_is_reported(assignment):
    report = grade_source("import numpy as np\n")
    assert tuple(report.functions) == FUNCTIONS
    assert report.score == 0


@pytest.mark.parametrize("attack", ["vanishing_scale_consistency_1e300.py", "vanishing_scale_consistency_1e12.py"])
def test_values_of_vanishing_scale_earn_no_derived_output_nor_the_inputs_point(attack):
    report = grade_source((ADVERSARIAL / "cheating" / attack).read_text(), attack)
    earned = {
        f"{case.id}::{name}"
        for function in report.functions.values() for case in function.cases
        for name, output in case.outputs.items() if output.score > 0
    }
    assert earned == set()
    assert report.score == 0


def test_a_flood_of_bad_frames_keeps_earlier_calls_and_says_the_channel_was_flooded():
    source = _replace_function(
        correct_source(), "backward_propagation_with_dropout",
        "def backward_propagation_with_dropout(X, Y, cache, keep_prob):\n"
        "    import os, stat\n"
        "    for fd in range(3, 64):\n"
        "        try:\n"
        "            if stat.S_ISFIFO(os.fstat(fd).st_mode):\n"
        "                os.write(fd, b'\\x1egrader-frame {\\n' * 1000)\n"
        "        except OSError:\n"
        "            pass\n"
        "    return {}\n",
    )
    report = grade_source(source)
    assert report.status == "error"
    assert "flooded with malformed frames" in report.message
    assert report.score == 65
    assert "flooded" in report.functions["backward_propagation_with_dropout"].cases[-1].message
