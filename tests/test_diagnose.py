"""Feedback that names the mistake: every catalogued mistake is named, nothing else is.

Submissions are the correct template with one small textual substitution per mistake,
graded by the real engine (process backend; the per-mistake sweeps are marked slow); the
pure parts (catalogue properties, naming from given outputs, observations, the batch
summary) are called directly.
"""

from __future__ import annotations

import copy
import functools
import json
import re
import warnings

import numpy as np
import pytest
from rich.console import Console

from grader.assignment import load_assignment
from grader.checks import Check
from grader.diagnose import catalogue, named_mistakes, observations
from grader.report import Report
from grader.summary import render
from grader.testcases import extract
from grader.wire import CallResult
from tests.conftest import CORRECT, SUBMISSIONS, correct_source, grade_source

COST = "compute_cost_with_regularization"
BACKWARD_L2 = "backward_propagation_with_regularization"
FORWARD = "forward_propagation_with_dropout"
BACKWARD_DROPOUT = "backward_propagation_with_dropout"

# Per catalogued mistake: (function, old, new) substitutions in the correct template; every
# occurrence of `old` inside that function is replaced.
SUBSTITUTIONS: dict[str, list[tuple[str, str, str]]] = {
    "cost.l2-over-m": [(COST, "(1. / m) * (lambd / 2) *", "(lambd / m) *")],
    "cost.m-from-y-rows": [(COST, "m = Y.shape[1]", "m = Y.shape[0]"),
                           (COST, "compute_cost(A3, Y)",
                            "-1. / m * np.sum(Y * np.log(A3) + (1 - Y) * np.log(1 - A3))")],
    "cost.hard-coded-m": [(COST, "m = Y.shape[1]", "m = 5")],
    "cost.l2-factor": [(COST, "(lambd / 2)", "(lambd / 4)")],
    "cost.weights-not-squared": [(COST, "np.square(W", "(W")],
    "cost.missing-layer-W3": [(COST, " + np.sum(np.square(W3))", "")],
    "cost.log10": [(COST, "compute_cost(A3, Y)",
                    "-1. / m * np.sum(Y * np.log10(A3) + (1 - Y) * np.log10(1 - A3))")],
    "cost.no-l2-term": [(COST, "cost = cross_entropy_cost + L2_regularization_cost", "cost = cross_entropy_cost")],
    "backward_l2.l2-missing-dW1": [(BACKWARD_L2, " + (lambd / m) * W1", "")],
    "backward_l2.l2-missing-dW2": [(BACKWARD_L2, " + (lambd / m) * W2", "")],
    "backward_l2.l2-missing-dW3": [(BACKWARD_L2, " + (lambd / m) * W3", "")],
    "backward_l2.l2-without-m": [(BACKWARD_L2, "(lambd / m) * W", "lambd * W")],
    "backward_l2.l2-over-2m": [(BACKWARD_L2, "(lambd / m) * W", "(lambd / (2 * m)) * W")],
    "backward_l2.l2-subtracted": [(BACKWARD_L2, "+ (lambd / m) * W", "- (lambd / m) * W")],
    "backward_l2.relu-derivative-ge": [(BACKWARD_L2, " > 0)", " >= 0)")],
    "backward_l2.m-from-x-rows": [(BACKWARD_L2, "m = X.shape[1]", "m = X.shape[0]")],
    "backward_l2.hard-coded-m": [(BACKWARD_L2, "m = X.shape[1]", "m = 5")],
    "forward_dropout.mask-greater": [(FORWARD, "< keep_prob", "> keep_prob")],
    "forward_dropout.mask-randn": [(FORWARD, "np.random.rand(", "np.random.randn(")],
    "forward_dropout.hard-coded-keep-prob": [(FORWARD, "< keep_prob", "< 0.5"), (FORWARD, "/= keep_prob", "/= 0.5")],
    "forward_dropout.no-scaling": [(FORWARD, "    A1 /= keep_prob\n", ""), (FORWARD, "    A2 /= keep_prob\n", "")],
    "forward_dropout.no-scaling-A1": [(FORWARD, "    A1 /= keep_prob\n", "")],
    "forward_dropout.no-scaling-A2": [(FORWARD, "    A2 /= keep_prob\n", "")],
    "forward_dropout.scale-multiplied": [(FORWARD, "/= keep_prob", "*= keep_prob")],
    "forward_dropout.d2-before-d1": [
        (FORWARD, "    D1 = np.random.rand(A1.shape[0], A1.shape[1])\n", ""),
        (FORWARD, "    D2 = np.random.rand(A2.shape[0], A2.shape[1])\n", ""),
        (FORWARD, "    Z1 = np.dot(W1, X) + b1\n",
         "    D2 = np.random.rand(W2.shape[0], X.shape[1])\n    D1 = np.random.rand(W1.shape[0], X.shape[1])\n"
         "    Z1 = np.dot(W1, X) + b1\n"),
    ],
    "forward_dropout.reseed-before-d2": [(FORWARD, "    D2 = np.random.rand(", "    np.random.seed(1)\n    D2 = np.random.rand(")],
    "forward_dropout.output-dropout": [
        (FORWARD, "    A3 = sigmoid(Z3)\n",
         "    A3 = sigmoid(Z3)\n    D3 = np.random.rand(A3.shape[0], A3.shape[1]) < keep_prob\n    A3 = A3 * D3 / keep_prob\n"),
    ],
    "backward_dropout.dA1-masked-with-D2": [(BACKWARD_DROPOUT, "np.multiply(dA1, D1)", "np.multiply(dA1, D2)")],
    "backward_dropout.masks-swapped": [
        (BACKWARD_DROPOUT, "np.multiply(dA1, D1)", "np.multiply(dA1, D2)"),
        (BACKWARD_DROPOUT, "np.multiply(dA2, D2)", "np.multiply(dA2, D1)"),
    ],
    "backward_dropout.dA1-unmasked": [(BACKWARD_DROPOUT, "    dA1 = np.multiply(dA1, D1)\n", "")],
    "backward_dropout.no-scaling": [(BACKWARD_DROPOUT, "    dA2 /= keep_prob\n", ""),
                                    (BACKWARD_DROPOUT, "    dA1 /= keep_prob\n", "")],
    "backward_dropout.no-scaling-dA2": [(BACKWARD_DROPOUT, "    dA2 /= keep_prob\n", "")],
    "backward_dropout.no-scaling-dA1": [(BACKWARD_DROPOUT, "    dA1 /= keep_prob\n", "")],
    "backward_dropout.scale-multiplied": [(BACKWARD_DROPOUT, "/= keep_prob", "*= keep_prob")],
}

# The single-mistake files of submissions/mistakes/ and the catalogued mistake each one makes.
MISTAKE_FILES = {
    "cost_lambda_over_m": "cost.l2-over-m",
    # m = Y.shape[0] = 1 next to the course's compute_cost: the same outputs as a penalty without 1/m.
    "cost_y_rows_as_m": "cost.l2-without-m",
    "cost_own_log10_cross_entropy": "cost.log10",
    "backward_l2_missing_in_dW2": "backward_l2.l2-missing-dW2",
    "backward_l2_lambda_without_m": "backward_l2.l2-without-m",
    "backward_l2_hardcoded_m": "backward_l2.hard-coded-m",
    "forward_mask_greater": "forward_dropout.mask-greater",
    "forward_no_scaling_a1": "forward_dropout.no-scaling-A1",
    "forward_hardcoded_keep_prob": "forward_dropout.hard-coded-keep-prob",
    "forward_randn_masks": "forward_dropout.mask-randn",
    "forward_d2_before_d1": "forward_dropout.d2-before-d1",
    "forward_reseed_before_d2": "forward_dropout.reseed-before-d2",
    "forward_dropout_on_output": "forward_dropout.output-dropout",
    "backward_dropout_da1_with_d2": "backward_dropout.dA1-masked-with-D2",
    "backward_dropout_no_scaling_da2": "backward_dropout.no-scaling-dA2",
}

# Wrong in ways the catalogue does not describe: each must get observations, never a diagnosis.
UNRELATED = {
    "l2-missing-from-dW2-and-dW3": [(BACKWARD_L2, " + (lambd / m) * W2", ""), (BACKWARD_L2, " + (lambd / m) * W3", "")],
    "cost-doubled": [(COST, "cost = cross_entropy_cost + L2_regularization_cost",
                      "cost = 2 * (cross_entropy_cost + L2_regularization_cost)")],
    "dW1-transposed": [(BACKWARD_L2, "dW1 = 1. / m * np.dot(dZ1, X.T) + (lambd / m) * W1",
                        "dW1 = (1. / m * np.dot(dZ1, X.T) + (lambd / m) * W1).T")],
    "dA2-over-keep-prob-squared": [(BACKWARD_DROPOUT, "dA2 /= keep_prob", "dA2 /= keep_prob ** 2")],
    "noise-on-A3": [(FORWARD, "    A3 = sigmoid(Z3)\n", "    A3 = sigmoid(Z3) + np.random.rand(*Z3.shape)\n")],
    "mask-threshold-one-half-of-keep-prob": [(FORWARD, "< keep_prob", "< keep_prob / 2")],
}

ZEROS = '''import numpy as np


def compute_cost_with_regularization(A3, Y, parameters, lambd):
    return 0.0


def backward_propagation_with_regularization(X, Y, cache, lambd):
    return {key: np.zeros_like(cache[index]) for key, index in
            {"dW1": 2, "db1": 3, "dW2": 6, "db2": 7, "dW3": 10, "db3": 11, "dA1": 1, "dA2": 5}.items()}


def forward_propagation_with_dropout(X, parameters, keep_prob=0.5):
    zeros = np.zeros((1, X.shape[1]))
    return zeros, (zeros,) * 14


def backward_propagation_with_dropout(X, Y, cache, keep_prob):
    return {"dA1": np.zeros_like(cache[2]), "dA2": np.zeros_like(cache[7])}
'''

NOISE = '''import numpy as np


def compute_cost_with_regularization(A3, Y, parameters, lambd):
    return float(np.random.rand())


def backward_propagation_with_regularization(X, Y, cache, lambd):
    return {key: np.random.randn(*value.shape) for key, value in
            {"dW1": cache[2], "dW2": cache[6], "dW3": cache[10], "db1": cache[3], "db2": cache[7], "db3": cache[11],
             "dA1": cache[1], "dA2": cache[5]}.items()}


def forward_propagation_with_dropout(X, parameters, keep_prob=0.5):
    n1, n2, m = parameters["W1"].shape[0], parameters["W2"].shape[0], X.shape[1]
    D1, D2 = np.random.rand(n1, m) < 0.5, np.random.rand(n2, m) < 0.5
    A1, A2, A3 = np.random.rand(n1, m), np.random.rand(n2, m), np.random.rand(1, m)
    return A3, (None, D1, A1, None, None, None, D2, A2, None, None, None, A3, None, None)


def backward_propagation_with_dropout(X, Y, cache, keep_prob):
    return {"dA1": np.random.randn(*cache[2].shape), "dA2": np.random.randn(*cache[7].shape)}
'''


def _substitute(source: str, substitutions: list[tuple[str, str, str]]) -> str:
    """`source` with each (function, old, new) applied inside that function's definition only."""
    for function, old, new in substitutions:
        start = source.index(f"def {function}(")
        end = source.find("\ndef ", start)
        end = len(source) if end == -1 else end
        body = source[start:end]
        assert old in body, (function, old)
        source = source[:start] + body.replace(old, new) + source[end:]
    return source


@functools.cache
def _graded(source: str, name: str = "submission.py") -> Report:
    return grade_source(source, name)


def _diagnoses(report: Report) -> dict[str, list[str]]:
    return {name: [m.id for m in function.diagnosis] for name, function in report.functions.items() if function.diagnosis}


def _assignment_catalogue(assignment):
    return {mistake.id: mistake for mistake in catalogue(assignment)}


# ---------------------------------------------------------------- the catalogue


def test_catalogue_has_at_least_fifteen_mistakes_with_unique_ids(assignment):
    mistakes = catalogue(assignment)
    assert len(mistakes) >= 15
    assert len({mistake.id for mistake in mistakes}) == len(mistakes)


def test_catalogue_covers_all_four_functions(assignment):
    assert {mistake.function for mistake in catalogue(assignment)} == set(assignment.functions)


def test_every_hint_is_one_sentence(assignment):
    for mistake in catalogue(assignment):
        assert mistake.hint.endswith(".") and ". " not in mistake.hint, mistake.id


def test_every_substitution_names_a_catalogued_mistake(assignment):
    assert set(SUBSTITUTIONS) <= set(_assignment_catalogue(assignment))


def _reference_calls(assignment, function: str) -> dict[str, CallResult]:
    """What a correct submission returns on each case of `function` (the default RNG variant)."""
    return {
        case.id: CallResult(status="returned", outputs=dict(assignment.data[case.id].expected["default"]))
        for case in assignment.cases_of(function)
    }


@pytest.mark.parametrize("function", [COST, BACKWARD_L2, FORWARD, BACKWARD_DROPOUT])
def test_no_catalogued_mistake_reproduces_the_correct_outputs(assignment, function):
    assert named_mistakes(assignment, function, _reference_calls(assignment, function), catalogue(assignment)) == ()


# ---------------------------------------------------------------- naming mistakes


# Models whose factor is fitted to what the submission returned: a factor no other model has.
FITTED = {
    "cost.l2-factor": {"l2_scale": 3.0},
    **{f"backward_l2.l2-factor-dW{layer}": {"l2_scale": {layer: 3.0}} for layer in (1, 2, 3)},
}


def _knob_settings(assignment, mistake) -> list[dict]:
    """Every knob setting a model can be fitted to (one, empty, for a model without a constant)."""
    if mistake.id in FITTED:
        return [FITTED[mistake.id]]
    if mistake.candidates is None:
        return [{}]
    visible = next(case for case in assignment.cases_of(mistake.function) if not case.hidden)
    return list(mistake.candidates(assignment.data[visible.id].inputs, {}))


def _variant_calls(assignment, mistake, knobs: dict) -> dict[str, CallResult]:
    """What a student making exactly this mistake (with these knobs) returns on each case."""
    spec = assignment.functions[mistake.function]
    calls = {}
    for case in assignment.cases_of(mistake.function):
        np.random.seed(case.call_seed)
        try:
            returned = mistake.variant(*(copy.deepcopy(assignment.data[case.id].inputs[arg]) for arg in spec.args),
                                       **knobs)
        except ValueError as exc:
            calls[case.id] = CallResult(status="exception", message=f"ValueError: {exc} (line 3)")
            continue
        outputs = {name: np.asarray(extract(returned, output.path)) for name, output in spec.outputs.items()}
        calls[case.id] = CallResult(status="returned", outputs=outputs)
    return calls


@pytest.mark.parametrize("mistake_id", sorted(mistake.id for mistake in catalogue(load_assignment())))
def test_every_model_names_exactly_itself_at_every_constant_it_can_fit(assignment, mistake_id):
    mistake = _assignment_catalogue(assignment)[mistake_id]
    for knobs in _knob_settings(assignment, mistake):
        calls = _variant_calls(assignment, mistake, knobs)
        assert named_mistakes(assignment, mistake.function, calls, catalogue(assignment)) == (mistake,), knobs


@pytest.mark.slow
@pytest.mark.parametrize("mistake_id", sorted(SUBSTITUTIONS))
def test_catalogued_mistake_is_diagnosed_with_exactly_its_id(assignment, mistake_id):
    mistake = _assignment_catalogue(assignment)[mistake_id]
    report = _graded(_substitute(correct_source(), SUBSTITUTIONS[mistake_id]))
    assert _diagnoses(report) == {mistake.function: [mistake_id]}
    assert report.functions[mistake.function].diagnosis[0].hint == mistake.hint
    assert report.functions[mistake.function].observations == []


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(MISTAKE_FILES))
def test_mistake_submission_file_is_diagnosed(assignment, name):
    mistake = _assignment_catalogue(assignment)[MISTAKE_FILES[name]]
    report = _graded((SUBMISSIONS / "mistakes" / f"{name}.py").read_text())
    assert _diagnoses(report) == {mistake.function: [mistake.id]}


def _returned_by_variant(assignment, mistake, case) -> CallResult:
    """What the mistake's variant returns on `case` with the grader's seed, as the sandbox reports it."""
    spec = assignment.functions[mistake.function]
    np.random.seed(case.call_seed)
    returned = mistake.variant(*(copy.deepcopy(assignment.data[case.id].inputs[arg]) for arg in spec.args))
    outputs = {name: np.asarray(extract(returned, output.path)) for name, output in spec.outputs.items()}
    return CallResult(status="returned", outputs=outputs)


@pytest.mark.parametrize("mistake_id", ["cost.l2-over-m", "backward_l2.l2-missing-dW2",
                                        "forward_dropout.no-scaling-A1", "backward_dropout.no-scaling-dA2"])
def test_mistake_reproduced_on_every_case_but_one_is_not_named(assignment, mistake_id):
    mistake = _assignment_catalogue(assignment)[mistake_id]
    calls = {case.id: _returned_by_variant(assignment, mistake, case) for case in assignment.cases_of(mistake.function)}
    assert named_mistakes(assignment, mistake.function, calls, catalogue(assignment)) == (mistake,)
    references = _reference_calls(assignment, mistake.function)
    differing = [case_id for case_id, call in calls.items()
                 if any(not np.array_equal(call.outputs[name], output)
                        for name, output in references[case_id].outputs.items())]
    # The last case where the mistake shows now returns the right outputs: one case unexplained.
    calls[differing[-1]] = references[differing[-1]]
    assert named_mistakes(assignment, mistake.function, calls, catalogue(assignment)) == ()


def test_mistake_reproduced_under_the_with_seed_template_is_named():
    source = _substitute((CORRECT / "template_with_seed.py").read_text(), SUBSTITUTIONS["forward_dropout.mask-greater"])
    assert _diagnoses(_graded(source)) == {FORWARD: ["forward_dropout.mask-greater"]}


def test_diagnosed_report_is_valid_against_the_schema(report_validator):
    report = _graded(_substitute(correct_source(), SUBSTITUTIONS["cost.l2-over-m"] + UNRELATED["dW1-transposed"]))
    document = json.loads(report.to_json())
    report_validator.validate(document)
    assert document["functions"][COST]["diagnosis"][0]["id"] == "cost.l2-over-m"
    assert document["functions"][BACKWARD_L2]["observations"]


@pytest.mark.parametrize("first, second", [
    ("cost.l2-over-m", "forward_dropout.mask-greater"),
    ("backward_l2.relu-derivative-ge", "backward_dropout.dA1-masked-with-D2"),
    ("cost.log10", "backward_dropout.no-scaling"),
    ("backward_l2.l2-missing-dW3", "forward_dropout.reseed-before-d2"),
])
def test_two_mistakes_in_different_functions_are_each_named(assignment, first, second):
    mistakes = _assignment_catalogue(assignment)
    report = _graded(_substitute(correct_source(), SUBSTITUTIONS[first] + SUBSTITUTIONS[second]))
    assert _diagnoses(report) == {mistakes[first].function: [first], mistakes[second].function: [second]}


# ---------------------------------------------------------------- no false diagnosis


@pytest.mark.parametrize("name", ["template_with_seed.py", "template_without_seed.py", "notebook.ipynb"])
def test_correct_submission_gets_no_diagnosis_or_observation(name):
    report = _graded((CORRECT / name).read_text(), name)
    assert all(not f.diagnosis and not f.observations for f in report.functions.values())


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(UNRELATED))
def test_unrelated_mistake_gets_observations_but_no_diagnosis(name):
    report = _graded(_substitute(correct_source(), UNRELATED[name]))
    failed = [function for function in report.functions.values() if not function.passed]
    assert len(failed) == 1
    assert _diagnoses(report) == {}
    assert failed[0].observations


@pytest.mark.parametrize("source", [ZEROS, NOISE], ids=["zeros", "noise"])
def test_zeros_or_noise_get_no_diagnosis(source):
    report = _graded(source)
    assert report.score < report.max_score
    assert _diagnoses(report) == {}


def test_mutating_the_inputs_only_names_the_argument_but_no_mistake():
    # The runner says which argument changed, not which entries: many mistakes fit that (the relu
    # derivative written into A1, `dZ3 = A3; dZ3 -= Y`, …), so none is named.
    report = _graded((SUBMISSIONS / "mistakes" / "backward_l2_mutates_cache.py").read_text())
    function = report.functions[BACKWARD_L2]
    assert not function.passed and _diagnoses(report) == {}
    assert (function.primary.kind, function.primary.id) == ("cause", "mutated-inputs")
    assert "changed its argument cache in place" in function.primary.sentence


def test_two_mistakes_in_one_function_are_not_named():
    source = _substitute(correct_source(), SUBSTITUTIONS["forward_dropout.mask-greater"]
                         + SUBSTITUTIONS["forward_dropout.output-dropout"])
    assert _diagnoses(_graded(source)) == {}


# ---------------------------------------------------------------- observations


def _observations_of(name: str, function: str) -> list[str]:
    return _graded(_substitute(correct_source(), UNRELATED[name])).functions[function].observations


def test_observation_names_a_constant_factor():
    assert _observations_of("cost-doubled", COST) == [
        "cost is wrong in 5 of 5 cases; it is ×2 what was expected, the same factor wherever it is wrong"
    ]


def test_observation_names_a_transpose():
    assert _observations_of("dW1-transposed", BACKWARD_L2) == [
        "dW1 is wrong in 5 of 5 cases; it is the transpose of what was expected"
    ]


def test_observation_names_a_factor_that_changes_between_cases_and_where_it_is_right():
    assert _observations_of("dA2-over-keep-prob-squared", BACKWARD_DROPOUT) == [
        "dA2 is wrong in 4 of 5 cases (right in dropout-backward-keep-all); it is a constant multiple of what "
        "was expected in each case, but the factor changes from case to case (×1.25 in the visible case)"
    ]


def test_observation_shows_no_factor_measured_only_on_hidden_cases(assignment):
    case = next(case for case in assignment.cases_of(BACKWARD_L2) if case.hidden)
    expected = assignment.data[case.id].expected["default"]["dW1"]
    check = Check(case=case, output="dW1", weight=1, points=1, actual=expected * 3.0, expected=expected,
                  tolerance=case.tolerances["dW1"])
    assert observations([check], {check.id}) == (
        "dW1 is wrong in 1 of 1 cases; it is a constant multiple of what was expected, the same factor wherever "
        "it is wrong",
    )


def test_observation_names_the_cases_where_an_output_is_right():
    assert _observations_of("l2-missing-from-dW2-and-dW3", BACKWARD_L2) == [
        "dW2 is wrong in 4 of 5 cases (right in backward-l2-no-regularization)",
        "dW3 is wrong in 4 of 5 cases (right in backward-l2-no-regularization)",
    ]


def test_observation_names_flipped_masks_and_a_sign(assignment):
    case = assignment.cases_of(FORWARD)[0]
    expected = assignment.data[case.id].expected["default"]
    spec = assignment.functions[FORWARD]

    def check(output: str, actual: np.ndarray) -> Check:
        return Check(case=case, output=output, weight=1, points=1, actual=actual, expected=expected[output],
                     tolerance=case.tolerances[output], exact=spec.outputs[output].exact)

    checks = [check("D1", ~expected["D1"]), check("A2", expected["A2"]), check("A3", -expected["A3"])]
    assert observations(checks, {f"{case.id}::D1", f"{case.id}::A3"}) == (
        "D1 is wrong in 1 of 1 cases; every entry is flipped (kept where dropped was expected and vice versa)",
        "A3 is wrong in 1 of 1 cases; it has the opposite sign of what was expected",
    )


def test_observation_measures_nothing_on_non_finite_values(assignment):
    case = assignment.cases_of(BACKWARD_L2)[0]
    expected = assignment.data[case.id].expected["default"]["dW1"]
    actual = np.full(expected.shape, np.inf)
    check = Check(case=case, output="dW1", weight=1, points=1, actual=actual, expected=expected,
                  tolerance=case.tolerances["dW1"])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert observations([check], {check.id}) == ("dW1 is wrong in 1 of 1 cases",)


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(UNRELATED))
def test_observations_show_no_value(name):
    report = _graded(_substitute(correct_source(), UNRELATED[name]))
    for function in report.functions.values():
        for line in function.observations:
            for case in function.cases:
                line = line.replace(case.id, "")
            stripped = re.sub(r"×[-\d.e+]+|\d+ of \d+ cases|\b[dDA]+W?\d\b", "", line)
            assert not re.search(r"\d", stripped), line


def test_terminal_summary_shows_the_diagnosis_and_the_observations(assignment):
    source = _substitute(correct_source(), SUBSTITUTIONS["cost.l2-over-m"] + UNRELATED["dW1-transposed"])
    console = Console(record=True, width=400)
    render(_graded(source), console)
    text = console.export_text()
    assert f"diagnosed (cost.l2-over-m): {_assignment_catalogue(assignment)['cost.l2-over-m'].hint}" in text
    assert "measured: dW1 is wrong in 5 of 5 cases; it is the transpose of what was expected" in text


def test_diagnosis_leaves_numpy_random_state_alone(assignment):
    np.random.seed(123)
    before = np.random.get_state()[1].copy()
    calls = _reference_calls(assignment, FORWARD)
    named_mistakes(assignment, FORWARD, calls, catalogue(assignment))
    assert np.array_equal(np.random.get_state()[1], before)
