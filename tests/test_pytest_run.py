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
import subprocess
import sys
import threading
import warnings
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest

from grader.checks import build_checks
from grader.engine import _scored
from grader.pytest_run import Judging, run_checks
from grader.scoring import Unchecked, score
from grader.wire import CallResult, SandboxResult

ROOT = Path(__file__).resolve().parent.parent
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
    from _pytest import nodes
    from _pytest.assertion import util
    from _pytest.config import Config

    return {
        "environ": dict(os.environ),
        "stdio": (sys.stdout, sys.stderr, sys.stdin),
        "meta_path": list(sys.meta_path),
        "path": list(sys.path),
        "set_trace": pdb.set_trace,
        "root_logger": (list(logging.getLogger().handlers), logging.getLogger().level),
        "warning_filters": list(warnings.filters),
        "hooks": (sys.excepthook, sys.unraisablehook, threading.excepthook),
        "pytest_classes": (set(vars(nodes.Node)), set(vars(Config))),
        "assertion_globals": (util._reprcompare, util._config),
        "cwd": os.getcwd(),
    }


def graded_on_threads() -> dict:
    """Grade a right and a wrong run one at a time, then GRADINGS times on THREADS threads while watching.

    Runs in a fresh process (see the test): pytest's own state there would hide what a run changes.
    """
    from grader.assignment import load_assignment

    assignment = load_assignment()
    runs = {"right": _run(assignment, lambda case: "default"), "wrong": _wrong_costs(assignment)}
    alone = {kind: _scores(assignment, result) for kind, result in runs.items()}
    before, changed, done = _process_state(), set(), threading.Event()

    def watch() -> None:
        while not done.is_set():
            now = _process_state()
            changed.update(key for key in before if now[key] != before[key])

    start = threading.Barrier(THREADS)

    def grade(index: int) -> bool:
        if index < THREADS:
            start.wait()
        kind = "right" if index % 2 else "wrong"
        return _scores(assignment, runs[kind]) == alone[kind]

    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        with ThreadPoolExecutor(THREADS) as pool:
            same = list(pool.map(grade, range(GRADINGS)))
    finally:
        done.set()
        watcher.join()
    now = _process_state()
    return {
        "scores": {kind: {name: function["score"] for name, function in json.loads(scores).items()}
                   for kind, scores in alone.items()},
        "same_as_alone": sum(same),
        "changed_while_grading": sorted(changed),
        "changed_after": sorted(key for key in before if now[key] != before[key]),
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
    code = "import json; from tests.test_pytest_run import graded_on_threads; print(json.dumps(graded_on_threads()))"
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=600,
                          env=os.environ | {"PYTHONPATH": str(ROOT)})
    assert done.returncode == 0, done.stderr
    outcome = json.loads(done.stdout.splitlines()[-1])
    full = {name: float(sum(case.points for case in assignment.cases_of(name))) for name in assignment.functions}
    assert outcome["scores"]["right"] == full
    assert outcome["scores"]["wrong"] == full | {"compute_cost_with_regularization": 0.0}
    assert outcome["same_as_alone"] == GRADINGS
    assert outcome["changed_while_grading"] == []
    assert outcome["changed_after"] == []
