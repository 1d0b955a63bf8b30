"""The pytest run of a grading: one item per case, its outcome the case's, its judged checks handed back.

Grading threads score at the same time: runs on many threads give the same results as
one at a time, and no run touches process-wide state (environment, stdio, import hooks,
pdb, logging, warnings) while others go on.
"""

import dataclasses
import json
import logging
import os
import pdb
import sys
import threading
import warnings
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from grader.checks import build_checks
from grader.engine import _scored
from grader.pytest_run import Judging, run_checks
from grader.scoring import Unchecked, score
from grader.wire import CallResult, SandboxResult

THREADS = 8
GRADINGS = 32


def _planned(assignment):
    return build_checks(assignment, SandboxResult(), "not run: the file is empty")


def _run(assignment, variant_of) -> SandboxResult:
    """A run that returns, in each case, the expected outputs of the variant `variant_of(case)` names."""
    calls = {index: CallResult(status="returned", outputs=dict(assignment.data[case.id].expected[variant_of(case)]))
             for index, case in enumerate(assignment.cases)}
    return SandboxResult(loaded=True, calls=calls, complete=True)


def _wrong_costs(assignment) -> SandboxResult:
    """Right everywhere (dropout masks from the seeded template) but the cost, which is 1.5 times too large."""
    result = _run(assignment, lambda case: "seed_1" if "seed_1" in assignment.data[case.id].expected else "default")
    for index, case in enumerate(assignment.cases):
        if case.function == "compute_cost_with_regularization":
            outputs = result.calls[index].outputs
            outputs["cost"] = np.asarray(outputs["cost"]) * 1.5
    return result


def _scores(assignment, result) -> str:
    functions = _scored(assignment, result, "not run")
    return json.dumps({name: function.model_dump(mode="json") for name, function in functions.items()}, sort_keys=True)


def _process_state() -> dict:
    return {
        "environ": dict(os.environ),
        "stdio": (sys.stdout, sys.stderr, sys.stdin),
        "meta_path": list(sys.meta_path),
        "path": list(sys.path),
        "set_trace": pdb.set_trace,
        "root_logger": (list(logging.getLogger().handlers), logging.getLogger().level),
        "warning_filters": list(warnings.filters),
        "hooks": (sys.excepthook, sys.unraisablehook, threading.excepthook),
        "cwd": os.getcwd(),
    }


def test_one_item_per_case_in_case_order_each_judging_every_output(assignment):
    planned = _planned(assignment)
    judging = run_checks(planned)
    assert list(judging.outcomes) == [case.id for case in assignment.cases]
    assert set(judging.outcomes.values()) == {"failed"}
    assert list(judging.checks) == [check.id for case_checks in planned for check in case_checks.checks]
    first = judging.checks[planned[0].checks[0].id]
    assert "was not produced: not run: the file is empty" in first.verdict.message


def test_a_right_case_passes_in_the_record(assignment):
    planned = build_checks(assignment, _run(assignment, lambda case: "default"))
    assert set(run_checks(planned).outcomes.values()) == {"passed"}


def test_the_judging_scores_every_check(assignment):
    planned = _planned(assignment)
    functions = score(assignment, planned, run_checks(planned))
    assert set(functions) == set(assignment.functions)
    assert all(function.score == 0 for function in functions.values())


def test_a_case_that_breaks_is_unchecked_not_a_silent_pass(assignment):
    planned = _planned(assignment)
    broken = [dataclasses.replace(planned[0], variants=({},)), *planned[1:]]
    judging = run_checks(broken)
    assert judging.outcomes[assignment.cases[0].id] == "failed"
    with pytest.raises(Unchecked) as raised:
        score(assignment, broken, judging)
    _, missing = raised.value.args
    assert missing == [check.id for check in planned[0].checks]


def test_a_record_that_disagrees_with_the_verdicts_leaves_the_case_unchecked(assignment):
    planned = build_checks(assignment, _run(assignment, lambda case: "default"))
    judging = run_checks(planned)
    first = assignment.cases[0].id
    disagreeing = Judging(judging.checks, judging.outcomes | {first: "failed"})
    with pytest.raises(Unchecked) as raised:
        score(assignment, planned, disagreeing)
    functions, missing = raised.value.args
    assert missing == [check.id for check in planned[0].checks]
    assert functions[assignment.cases[0].function].cases[0].score == 0


def test_gradings_on_many_threads_score_as_one_at_a_time_and_leave_the_process_as_it_was(assignment):
    right, wrong = _run(assignment, lambda case: "default"), _wrong_costs(assignment)
    expected = {"right": _scores(assignment, right), "wrong": _scores(assignment, wrong)}
    assert json.loads(expected["right"]) and all(
        function["score"] == function["max_score"] for function in json.loads(expected["right"]).values())
    wrong_scores = {name: function["score"] for name, function in json.loads(expected["wrong"]).items()}
    assert wrong_scores["compute_cost_with_regularization"] == 0
    assert all(wrong_scores[name] == sum(case.points for case in assignment.cases_of(name)) for name in wrong_scores
               if name != "compute_cost_with_regularization")

    before, changed, done = _process_state(), [], threading.Event()

    def watch() -> None:
        while not done.is_set():
            now = _process_state()
            changed.extend(key for key in before if now[key] != before[key])

    start = threading.Barrier(THREADS)

    def grade(index: int) -> tuple[str, str]:
        if index < THREADS:
            start.wait()
        kind = "right" if index % 2 else "wrong"
        return kind, _scores(assignment, right if kind == "right" else wrong)

    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        with ThreadPoolExecutor(THREADS) as pool:
            results = list(pool.map(grade, range(GRADINGS)))
    finally:
        done.set()
        watcher.join()
    assert all(scores == expected[kind] for kind, scores in results)
    assert sorted(set(changed)) == []
    assert _process_state() == before
