"""One sentence first: every failed function leads with one primary diagnosis, and it is right.

The causes are decided from the calls alone (pure, called directly); the labelled set of
submissions/labelled/ is graded by the real engine (process backend, marked slow) and each
wrong function must lead with its hand-written label, each other function must pass undiagnosed.
"""

from __future__ import annotations

import functools
import re
import tomllib

import numpy as np
import pytest

from rich.console import Console

from grader.diagnose import catalogue, primary_diagnosis
from grader.report import DiagnosedMistake, Report
from grader.summary import render
from grader.wire import CallResult
from tests.conftest import CORRECT, SUBMISSIONS, correct_source, grade_source

LABELLED = SUBMISSIONS / "labelled"
LABELS = tomllib.loads((LABELLED / "labels.toml").read_text())["submission"]
FUNCTION = "backward_propagation_with_regularization"


def _returned(**outputs) -> CallResult:
    return CallResult(status="returned", outputs=outputs)


def _primary(calls, load_errors=(), named=(), observed=(), unrun="not run: the run ended before this call"):
    return primary_diagnosis(FUNCTION, calls, list(load_errors), list(named), list(observed), unrun)


# ---------------------------------------------------------------- causes, from the calls alone


def test_a_missing_function_is_not_defined():
    primary = _primary([CallResult(status="missing", message=f"{FUNCTION} is not defined")] * 2)
    assert (primary.kind, primary.id) == ("cause", "not-defined")


def test_a_missing_function_after_a_syntax_error_could_not_be_parsed_at_its_line():
    primary = _primary([CallResult(status="missing")] * 2, ["SyntaxError: invalid syntax (line 12)"])
    assert primary.id == "syntax-error"
    assert "could not be parsed at line 12" in primary.sentence and "not defined" not in primary.sentence


def test_a_syntax_error_in_a_notebook_names_its_cell():
    primary = _primary([CallResult(status="missing")], ["SyntaxError: invalid syntax (cell 3, line 2)"])
    assert "at cell 3, line 2" in primary.sentence


def test_an_exception_names_its_type_and_line_not_its_message():
    raised = CallResult(status="exception", message="NotImplementedError: my secret plan (line 7)")
    primary = _primary([raised, raised])
    assert (primary.id, primary.sentence) == ("raised", f"{FUNCTION} raised NotImplementedError at line 7")


def test_an_output_returned_as_a_list_names_the_output_and_the_type():
    primary = _primary([_returned(dW1="is a Python list, not a numpy array", dW2=np.zeros((2, 2)))])
    assert primary.id == "returned-list"
    assert "returned dW1 as a Python list" in primary.sentence


def test_returning_none_is_named():
    primary = _primary([_returned(dW1="was not returned: the function returned None")])
    assert primary.id == "returned-none" and "returned None" in primary.sentence


def test_modified_arguments_are_named_when_nothing_else_explains_the_failure():
    call = CallResult(status="returned", outputs={"dW1": np.zeros(2)}, mutated=["cache"])
    primary = _primary([call])
    assert (primary.id, primary.kind) == ("mutated-inputs", "cause") and "cache" in primary.sentence


def test_a_cause_comes_before_a_named_mistake_and_a_named_mistake_before_observations():
    class Named:
        id, hint = "backward_l2.l2-missing-dW1", "The L2 penalty depends on W1 too."

    listed = _returned(dW1="is a Python list, not a numpy array")
    assert _primary([listed], named=[Named]).id == "returned-list"
    assert _primary([_returned(dW1=np.zeros(2))], named=[Named], observed=["dW1 is wrong in 5 of 5 cases"]).id == Named.id


def test_without_a_cause_or_a_mistake_the_most_informative_observation_leads():
    observed = ["dW1 is wrong in 5 of 5 cases", "dW2 is wrong in 5 of 5 cases; it is ×2 what was expected, the same factor wherever it is wrong"]
    primary = _primary([_returned(dW1=np.zeros(2))], observed=observed)
    assert (primary.kind, primary.sentence) == ("observation", observed[1])


# ---------------------------------------------------------------- the labelled set, graded


@functools.cache
def _graded(name: str) -> Report:
    return grade_source((LABELLED / name).read_bytes(), name)


@pytest.mark.slow
@pytest.mark.parametrize("entry", LABELS, ids=[entry["file"] for entry in LABELS])
def test_labelled_submission_leads_with_its_label_and_leaves_the_other_functions_alone(entry):
    report = _graded(entry["file"])
    for name, function in report.functions.items():
        label = entry["expected"].get(name)
        if label is None:
            assert function.passed and function.primary is None and not function.diagnosis, name
        else:
            assert not function.passed and function.primary is not None, name
            if entry.get("held_out") and function.primary.kind == "observation":
                continue  # a held-out mistake may have no model; it must never get a wrong name
            assert function.primary.id == label, (name, function.primary)


@pytest.mark.slow
@pytest.mark.parametrize("entry", LABELS, ids=[entry["file"] for entry in LABELS])
def test_primary_sentences_carry_nothing_measured_on_a_case(entry, assignment):
    hints = {mistake.id: mistake.hint for mistake in catalogue(assignment)}
    for function in _graded(entry["file"]).functions.values():
        primary = function.primary
        if primary is None or primary.kind == "observation":
            continue
        if primary.kind == "mistake":
            assert primary.sentence == hints[primary.id]  # fixed text, written before any case ran
        else:
            stripped = re.sub(r"(cell|line) \d+|\b[dDWAbZ]+\d\b", "", primary.sentence)
            assert not re.search(r"\d", stripped), primary.sentence


@pytest.mark.slow
@pytest.mark.parametrize("name", ["template_with_seed.py", "template_without_seed.py", "notebook.ipynb"])
def test_correct_submission_has_no_primary_diagnosis(name):
    report = grade_source((CORRECT / name).read_text(), name)
    assert all(function.primary is None for function in report.functions.values())


@pytest.mark.slow
def test_after_a_syntax_error_each_case_says_the_file_could_not_be_parsed():
    report = grade_source(correct_source().replace("def forward_propagation_with_dropout(X, parameters, keep_prob=0.5):",
                                                   "def forward_propagation_with_dropout(X, parameters, keep_prob=0.5)"))
    for function in report.functions.values():
        for case in function.cases:
            assert "could not be parsed" in case.message and "is not defined" not in case.message, case.message


@pytest.mark.slow
def test_a_gradient_returned_as_a_list_loses_that_output_with_a_message_naming_the_type():
    source = correct_source().replace("    gradients = {\"dZ3\": dZ3, \"dW3\": dW3,", "    dW2 = dW2.tolist()\n    gradients = {\"dZ3\": dZ3, \"dW3\": dW3,", 1)
    function = grade_source(source).functions[FUNCTION]
    outputs = function.cases[0].outputs
    assert not outputs["dW2"].passed and outputs["dW2"].message == "dW2 is a Python list, not a numpy array"
    assert outputs["dW1"].passed and outputs["dW3"].passed
    assert function.primary.id == "returned-list"


@pytest.mark.slow
def test_terminal_summary_leads_each_failed_function_with_its_primary_sentence():
    report = _graded("bl2_not_implemented.ipynb")
    console = Console(record=True, width=400)
    render(report, console)
    lines = console.export_text().splitlines()
    heading = lines.index(FUNCTION)
    assert lines[heading + 1] == f"  cause (raised): {FUNCTION} raised NotImplementedError at line 4"


def test_an_output_of_the_wrong_type_is_named_with_what_the_runner_saw():
    primary = _primary([_returned(dW1="is an array of <U3, not of numbers", dW2=np.zeros(2))])
    assert primary.id == "wrong-type" and "dW1 is an array of <U3, not of numbers" in primary.sentence


def test_a_function_that_never_ran_says_why():
    primary = _primary([None, None], unrun="not run: the file is empty")
    assert (primary.id, primary.sentence) == ("not-run", f"{FUNCTION} was not run: the file is empty")


@pytest.mark.slow
def test_a_rejected_file_leads_each_function_with_the_reason():
    report = grade_source(b"")
    assert {function.primary.id for function in report.functions.values()} == {"not-run"}
    for name, function in report.functions.items():
        reason = function.cases[0].message.removeprefix("not run: ")
        assert function.primary.sentence == f"{name} was not run: {reason}"


def test_a_report_without_a_primary_keeps_every_diagnosed_mistake_in_the_summary():
    # A report written before primaries existed (read back by a resumed batch) has primary None.
    report = _graded("bl2_not_implemented.ipynb")
    function = report.functions[FUNCTION].model_copy(update={
        "primary": None, "diagnosis": [DiagnosedMistake(id="first.mistake", hint="the first hint")],
    })
    report = report.model_copy(update={"functions": report.functions | {FUNCTION: function}})
    console = Console(record=True, width=400)
    render(report, console)
    assert "the first hint" in console.export_text()
