"""Judging a case: every output compared once per distinct accepted variant, the best variant's verdicts kept."""

import collections

import numpy as np
import pytest

import grader.checks
from grader.checks import INPUTS_CHECK, build_checks, check_id, judge
from grader.compare import compare
from grader.wire import CallResult, SandboxResult

FORWARD = "forward_propagation_with_dropout"


def _run(assignment, outputs_of) -> SandboxResult:
    calls = {index: CallResult(status="returned", outputs=outputs_of(case))
             for index, case in enumerate(assignment.cases)}
    return SandboxResult(loaded=True, calls=calls, complete=True)


def _reference(assignment, variant: str = "default"):
    return _run(assignment, lambda case: dict(assignment.data[case.id].expected.get(variant)
                                              or assignment.data[case.id].expected["default"]))


def _forward_case_whose_variants_differ(assignment, planned):
    """The first forward-dropout case whose two templates draw different masks."""

    def differ(case):
        expected = assignment.data[case.id].expected
        return not np.array_equal(expected["default"]["D1"], expected["seed_1"]["D1"])

    return next(each for each in planned if each.case.function == FORWARD and differ(each.case))


@pytest.fixture
def compared(monkeypatch):
    """The real compare, counting its calls per case and output and remembering what it returned."""
    calls, returned = collections.Counter(), []

    def counting(name, actual, expected, tolerance, **options):
        verdict = compare(name, actual, expected, tolerance, **options)
        calls[name] += 1
        returned.append(verdict)
        return verdict

    monkeypatch.setattr(grader.checks, "compare", counting)
    return calls, returned


def test_each_output_is_compared_once_per_distinct_variant_and_that_comparison_is_its_verdict(assignment, compared):
    calls, returned = compared
    for case_checks in build_checks(assignment, _reference(assignment)):
        calls.clear()
        returned.clear()
        judged = judge(case_checks)
        outputs = [check.output for check in case_checks.checks if check.output != INPUTS_CHECK]
        assert calls == {output: len(case_checks.variants) for output in outputs}, case_checks.case.id
        assert all(any(check.verdict is verdict for verdict in returned)
                   for check in judged if check.output != INPUTS_CHECK)


def test_a_case_with_one_variant_compares_each_output_exactly_once(assignment, compared):
    calls, _ = compared
    case_checks = next(each for each in build_checks(assignment, _reference(assignment))
                       if each.case.function == "backward_propagation_with_regularization")
    judge(case_checks)
    assert set(calls.values()) == {1}


def test_templates_that_expect_the_same_are_compared_once(assignment, compared):
    calls, _ = compared
    planned = build_checks(assignment, _reference(assignment))
    public = next(each for each in planned if each.case.id == "dropout-forward-public")
    expected = assignment.data[public.case.id].expected
    assert len(expected) == 2 and all(np.array_equal(expected["default"][name], expected["seed_1"][name])
                                      for name in expected["default"])
    judge(public)
    assert set(calls.values()) == {1}


def test_a_call_that_failed_is_not_compared(assignment, compared):
    calls, _ = compared
    for case_checks in build_checks(assignment, SandboxResult(), "not run: the file is empty"):
        assert not any(check.verdict.passed for check in judge(case_checks))
    assert not calls


@pytest.mark.parametrize("variant", ["default", "seed_1"])
def test_the_variant_the_masks_follow_is_the_one_judged_against(assignment, variant):
    for case_checks in build_checks(assignment, _reference(assignment, variant)):
        if case_checks.case.function != FORWARD:
            continue
        judged = judge(case_checks)
        assert all(check.verdict.passed for check in judged)
        expected = assignment.data[case_checks.case.id].expected[variant]
        for check in judged:
            if check.output in ("D1", "D2"):
                assert np.array_equal(check.expected, expected[check.output])


def test_the_variant_with_the_most_credit_wins_even_if_it_is_not_the_first(assignment):
    """Masks of the seeded template with a wrong A3: seed_1 still gives D1 and D2, the default nothing."""

    def outputs_of(case):
        expected = assignment.data[case.id].expected
        outputs = dict(expected.get("seed_1", expected["default"]))
        if case.function == FORWARD:
            outputs["A3"] = outputs["A3"] + 1.0
        return outputs

    case_checks = _forward_case_whose_variants_differ(assignment, build_checks(assignment, _run(assignment, outputs_of)))
    judged = {check.output: check for check in judge(case_checks)}
    assert judged["D1"].verdict.passed and judged["D2"].verdict.passed
    assert not judged["A3"].verdict.passed


def test_on_a_tie_the_first_variant_is_judged_against(assignment):
    """Masks of neither template: no variant gives credit, and the default (listed first) is expected."""

    def outputs_of(case):
        outputs = dict(assignment.data[case.id].expected["default"])
        if case.function == FORWARD:
            outputs = {name: np.zeros_like(value) for name, value in outputs.items()}
        return outputs

    case_checks = _forward_case_whose_variants_differ(assignment, build_checks(assignment, _run(assignment, outputs_of)))
    default = assignment.data[case_checks.case.id].expected["default"]
    judged = {check.output: check for check in judge(case_checks)}
    assert np.array_equal(judged["D1"].expected, default["D1"])
    assert np.array_equal(judged["D2"].expected, default["D2"])


def test_a_check_id_names_the_case_and_the_output():
    assert check_id("cost-public", "cost") == "cost-public::cost"
