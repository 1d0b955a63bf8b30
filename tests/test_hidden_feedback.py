"""Hidden cases are not an oracle: nothing a student sees narrows their expected values.

The property: on a hidden case, two different wrong values (same shape; for a float
output, failing in the same entries) get identical feedback everywhere a student can
read it: the function's whole result in the report (messages, error fields,
observations, diagnosis), the terminal summary and the Gradescope results. Visible
cases keep their rich feedback. The pipeline runs on the host from given outputs, as
the engine runs it after the sandbox: checks, pytest, scores, diagnosis.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from rich.console import Console

from grader.batch.outputs import gradescope_results
from grader.engine import _report, _scored
from grader.submission import Submission
from grader.summary import render
from grader.wire import CallResult, SandboxResult

SUBMISSION = Submission(name="student.py", content=b"# given outputs\n")


def _reference_run(assignment) -> dict[str, dict[str, np.ndarray]]:
    """Case id -> the reference outputs of its default variant: a run that is right everywhere."""
    return {case.id: dict(assignment.data[case.id].expected["default"]) for case in assignment.cases}


def _result(assignment, outputs: dict[str, dict[str, np.ndarray]]) -> SandboxResult:
    calls = {index: CallResult(status="returned", outputs=outputs[case.id])
             for index, case in enumerate(assignment.cases)}
    return SandboxResult(loaded=True, calls=calls, complete=True)


def _feedback(assignment, outputs: dict[str, dict[str, np.ndarray]], function: str) -> dict[str, str]:
    """Everything a student reads about `function`, from the report, the summary and Gradescope."""
    result = _result(assignment, outputs)
    functions = _scored(assignment, result, "the run ended before this call")
    report = _report(assignment, SUBMISSION, "given", 0.0, status="graded", message="graded",
                     functions=functions, result=result)
    report = report.model_copy(update={"duration_seconds": 0.0, "created_at": ""})
    console = Console(record=True, width=300)
    render(report, console)
    return {
        "report": json.dumps(report.functions[function].model_dump(mode="json"), sort_keys=True),
        "summary": console.export_text(),
        "gradescope": json.dumps([test for test in gradescope_results(report)["tests"]
                                  if test["name"].startswith(function)], sort_keys=True),
    }


def _hidden_case(assignment, function: str):
    return next(case for case in assignment.cases_of(function) if case.hidden)


def _with(assignment, case_id: str, replaced: dict[str, np.ndarray], keep_only: tuple[str, ...] = ()):
    outputs = _reference_run(assignment)
    if keep_only:
        outputs[case_id] = {name: outputs[case_id][name] for name in keep_only}
    outputs[case_id] = outputs[case_id] | replaced
    return outputs


def _assert_same_feedback(assignment, function: str, first, second) -> None:
    one, other = _feedback(assignment, first, function), _feedback(assignment, second, function)
    assert "not within tolerance" in one["report"] or "mask" in one["report"]
    for where in one:
        assert one[where] == other[where], where


def test_two_wrong_costs_of_a_hidden_case_get_the_same_feedback(assignment):
    function = "compute_cost_with_regularization"
    case = _hidden_case(assignment, function)
    cost = assignment.data[case.id].expected["default"]["cost"]
    _assert_same_feedback(assignment, function,
                          _with(assignment, case.id, {"cost": cost * 1.5 + 0.01}),
                          _with(assignment, case.id, {"cost": cost * 0.25 - 3.0}))


def test_two_gradients_off_by_different_factors_in_a_hidden_case_get_the_same_feedback(assignment):
    """Same failing entries (every entry), different values: neither the error nor the factor shows."""
    function = "backward_propagation_with_regularization"
    case = _hidden_case(assignment, function)
    dW1 = assignment.data[case.id].expected["default"]["dW1"]
    assert np.all(dW1 != 0)
    _assert_same_feedback(assignment, function,
                          _with(assignment, case.id, {"dW1": dW1 * 2.0}),
                          _with(assignment, case.id, {"dW1": dW1 * 7.0}))


def test_two_gradients_wrong_in_the_same_entry_of_a_hidden_case_get_the_same_feedback(assignment):
    function = "backward_propagation_with_regularization"
    case = _hidden_case(assignment, function)
    dW2 = assignment.data[case.id].expected["default"]["dW2"]
    small, large = dW2.copy(), dW2.copy()
    small[0, 0] += 0.001
    large[0, 0] -= 40.0
    _assert_same_feedback(assignment, function,
                          _with(assignment, case.id, {"dW2": small}), _with(assignment, case.id, {"dW2": large}))


def test_two_masks_wrong_in_different_entries_of_a_hidden_case_get_the_same_feedback(assignment):
    """Not which entries, nor how many: flipping those would give the mask away."""
    function = "forward_propagation_with_dropout"
    case = _hidden_case(assignment, function)
    D1 = assignment.data[case.id].expected["default"]["D1"]
    one, three = D1.copy(), D1.copy()
    one[0, 0] = ~one[0, 0]
    three[:, -1] = ~three[:, -1]
    # Only the mask comes back, so the activations derived from it say nothing either way.
    _assert_same_feedback(assignment, function,
                          _with(assignment, case.id, {"D1": one}, keep_only=("D1",)),
                          _with(assignment, case.id, {"D1": three}, keep_only=("D1",)))


def test_two_activations_wrong_in_different_entries_of_a_hidden_case_get_the_same_feedback(assignment):
    """Which float entries fail would give a hidden mask away: an unmasked A1 fails exactly where D1 is 0."""
    function = "forward_propagation_with_dropout"
    case = _hidden_case(assignment, function)
    A1 = assignment.data[case.id].expected["default"]["A1"]
    one, three = A1.copy(), A1.copy()
    one[0, 0] += 1.0
    three[:, -1] += 1.0
    _assert_same_feedback(assignment, function,
                          _with(assignment, case.id, {"A1": one}, keep_only=("A1",)),
                          _with(assignment, case.id, {"A1": three}, keep_only=("A1",)))


@pytest.mark.parametrize("output", ["dW1", "cost"])
def test_hidden_verdicts_carry_no_error_size(assignment, output):
    function = "backward_propagation_with_regularization" if output == "dW1" else "compute_cost_with_regularization"
    case = _hidden_case(assignment, function)
    value = assignment.data[case.id].expected["default"][output]
    report = json.loads(_feedback(assignment, _with(assignment, case.id, {output: value * 3.0}), function)["report"])
    hidden = next(result for result in report["cases"] if result["id"] == case.id)["outputs"][output]
    assert not hidden["passed"]
    assert hidden["max_abs_error"] is None and hidden["max_rel_error"] is None


def test_a_visible_case_keeps_its_error_sizes_and_values(assignment):
    function = "backward_propagation_with_regularization"
    case = next(case for case in assignment.cases_of(function) if not case.hidden)
    dW1 = assignment.data[case.id].expected["default"]["dW1"]
    report = json.loads(_feedback(assignment, _with(assignment, case.id, {"dW1": dW1 * 2.0}), function)["report"])
    visible = next(result for result in report["cases"] if result["id"] == case.id)["outputs"]["dW1"]
    assert visible["max_abs_error"] > 0 and "expected" in visible["message"]
    assert any("×2 what was expected" in line for line in report["observations"])
