"""One output against its expectation: verdicts and the messages a student reads."""

import math

import numpy as np
import pytest

from grader.assignment import Tolerance
from grader.checks import build_checks, judge
from grader.compare import compare
from grader.wire import CallResult, SandboxResult

TOL = Tolerance(rtol=1e-5, atol=1e-8)


def test_equal_arrays_pass():
    verdict = compare("dW1", np.ones((2, 3)), np.ones((2, 3)), TOL)
    assert verdict.passed and verdict.message == "dW1 is correct"


def test_shape_mismatch_names_both_shapes_and_spots_a_transpose():
    verdict = compare("dW2", np.zeros((2, 3)), np.zeros((3, 2)), TOL)
    assert not verdict.passed
    assert verdict.message == "dW2 has shape (2, 3); expected (3, 2) (is it transposed?)"


def test_scalar_outputs_accept_any_single_entry_array():
    assert compare("cost", np.array([[1.5]]), np.array(1.5), TOL, scalar=True).passed
    assert not compare("cost", np.array([[1.5]]), np.array(1.5), TOL).passed


def test_differences_within_tolerance_pass_and_beyond_fail():
    expected = np.array([1.0, 2.0])
    assert compare("A3", expected * (1 + 1e-7), expected, TOL).passed
    assert not compare("A3", expected * (1 + 1e-3), expected, TOL).passed


def test_hidden_message_says_neither_which_nor_how_many_entries_differ_nor_by_how_much():
    expected = np.array([[0.123456, 0.5], [0.25, 0.75]])
    actual = expected.copy()
    actual[0, 0] = 0.2
    verdict = compare("dW1", actual, expected, TOL, hidden=True)
    assert verdict.message == "dW1 is not within tolerance: allowed rtol 1e-05, atol 1e-08"
    assert verdict.max_abs_error is None and verdict.max_rel_error is None and verdict.mismatches is None


def test_hidden_scalar_message_says_only_that_it_is_out_of_tolerance():
    verdict = compare("cost", np.array(2.5), np.array(1.5), TOL, scalar=True, hidden=True)
    assert verdict.message == "cost is not within tolerance: allowed rtol 1e-05, atol 1e-08"


def test_visible_message_shows_the_first_differing_value():
    verdict = compare("dW1", np.array([1.0, 3.0]), np.array([1.0, 2.0]), TOL, hidden=False)
    assert "you have 3 at [1], expected 2" in verdict.message


def test_nan_is_named_and_never_passes():
    verdict = compare("cost", np.array(math.nan), np.array(1.0), TOL)
    assert not verdict.passed and "NaN" in verdict.message


def test_masks_must_match_exactly_and_hold_only_zeros_and_ones():
    expected = np.array([[True, False], [True, True]])
    assert compare("D1", expected.astype(np.int64), expected, TOL, exact=True).passed
    inverted = compare("D1", ~expected, expected, TOL, exact=True, hidden=False)
    assert not inverted.passed and "4 of 4 mask entries differ" in inverted.message
    scaled = compare("D1", expected / 0.5, expected, TOL, exact=True)
    assert "only 0/1" in scaled.message


def test_hidden_mask_says_neither_which_nor_how_many_entries_differ():
    expected = np.array([[True, False], [True, True]])
    one, three = expected.copy(), ~expected
    one[0, 0] = False
    three[1, 1] = True
    verdicts = [compare("D1", wrong, expected, TOL, exact=True, hidden=True) for wrong in (one, three)]
    assert verdicts[0] == verdicts[1]
    assert verdicts[0].message == "D1 differs from the expected mask"
    assert verdicts[0].mismatches is None and verdicts[0].max_abs_error is None


def test_derived_expectations_say_what_they_follow_from():
    verdict = compare("A1", np.ones(2), np.zeros(2), TOL, against="D1")
    assert verdict.message.startswith("A1 (checked against your own D1)")


def test_error_text_from_the_sandbox_is_shown_with_the_output_name():
    verdict = compare("dW3", "is missing from what the function returned (KeyError)", np.zeros(2), TOL)
    assert verdict.message == "dW3 is missing from what the function returned (KeyError)"


# ---------------------------------------------------------------- boundaries, under each case's own tolerance


def _verdict_with(assignment, case, output: str, actual: np.ndarray):
    """The verdict on `output` of `case` when the run returns the reference everywhere but there."""
    calls = {}
    for index, each in enumerate(assignment.cases):
        outputs = dict(assignment.data[each.id].expected["default"])
        if each.id == case.id:
            outputs[output] = actual
        calls[index] = CallResult(status="returned", outputs=outputs)
    planned = build_checks(assignment, SandboxResult(loaded=True, calls=calls, complete=True))
    case_checks = next(each for each in planned if each.case.id == case.id)
    return next(check.verdict for check in judge(case_checks) if check.output == output)


@pytest.mark.parametrize("times, passes", [(0.5, True), (2.0, False)])
def test_a_float_off_by_a_multiple_of_rtol_passes_only_within_it(assignment, times, passes):
    case = next(case for case in assignment.cases_of("backward_propagation_with_regularization") if case.hidden)
    tolerance, expected = case.tolerances["dW1"], assignment.data[case.id].expected["default"]["dW1"]
    largest = np.unravel_index(np.argmax(np.abs(expected)), expected.shape)
    assert tolerance.rtol * abs(expected[largest]) > 100 * tolerance.atol
    actual = expected.copy()
    actual[largest] *= 1 + times * tolerance.rtol
    assert _verdict_with(assignment, case, "dW1", actual).passed is passes


@pytest.mark.parametrize("times, passes", [(0.5, True), (2.0, False)])
def test_a_float_off_by_a_multiple_of_atol_where_zero_is_expected_passes_only_within_it(assignment, times, passes):
    case = next(case for case in assignment.cases_of("forward_propagation_with_dropout") if case.hidden)
    tolerance, expected = case.tolerances["A1"], assignment.data[case.id].expected["default"]["A1"]
    zero = tuple(np.argwhere(expected == 0)[0])
    actual = expected.copy()
    actual[zero] = times * tolerance.atol
    assert _verdict_with(assignment, case, "A1", actual).passed is passes


def test_a_mask_passes_only_when_exact(assignment):
    case = next(case for case in assignment.cases_of("forward_propagation_with_dropout") if case.hidden)
    tolerance, expected = case.tolerances["D1"], assignment.data[case.id].expected["default"]["D1"]
    as_numbers = expected.astype(np.float64)
    assert _verdict_with(assignment, case, "D1", as_numbers).passed
    nearly = as_numbers.copy()
    nearly[np.unravel_index(np.argmax(nearly), nearly.shape)] = 1 - tolerance.rtol / 10
    flipped = expected.copy()
    flipped[0, 0] = ~flipped[0, 0]
    assert not _verdict_with(assignment, case, "D1", nearly).passed
    assert not _verdict_with(assignment, case, "D1", flipped).passed
def test_relative_error_is_not_shown_where_the_expected_value_is_about_zero():
    expected = np.array([[0.0, 1e-310], [0.5, 0.25]])
    actual = np.array([[0.1, 0.2], [0.5, 0.25]])
    verdict = compare("dA1", actual, expected, TOL, hidden=False)
    assert not verdict.passed and "relative" not in verdict.message
    assert verdict.max_rel_error is None


def test_relative_error_is_shown_over_the_entries_where_it_means_something():
    expected = np.array([0.0, 2.0])
    verdict = compare("dA1", np.array([1.0, 3.0]), expected, TOL, hidden=False)
    assert "(relative 0.5;" in verdict.message and verdict.max_rel_error == 0.5
