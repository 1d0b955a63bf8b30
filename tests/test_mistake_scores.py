"""Each mistake submission loses exactly the outputs its mistake affects, with messages naming them.

Every expected score below is worked out from the case table (testcases/regularization.toml),
not read off the engine. Points per case: cost 2 for `cost` + 1 for leaving the inputs
unmodified; backward L2 1 per dW + 1 inputs; forward dropout 1 per D1, D2, A1, A2, A3 + 1
inputs; backward dropout 1 per dA2, dA1 + 1 inputs. The inputs point is awarded only when at
least one scored output of the case is correct.
"""

from __future__ import annotations

import dataclasses
import functools
from pathlib import Path

import pytest

from grader.engine import grade
from grader.report import Report
from grader.submission import Submission
from tests.conftest import CORRECT, SUBMISSIONS

MISTAKES = SUBMISSIONS / "mistakes"
FUNCTIONS = {
    "cost": "compute_cost_with_regularization",
    "backward_l2": "backward_propagation_with_regularization",
    "forward_dropout": "forward_propagation_with_dropout",
    "backward_dropout": "backward_propagation_with_dropout",
}
INPUTS = "inputs"
FULL = {"cost": 15.0, "backward_l2": 20.0, "forward_dropout": 30.0, "backward_dropout": 15.0}


@dataclasses.dataclass(frozen=True)
class Deserved:
    """The score one function deserves and the outputs that lose points somewhere in it."""

    function: str
    score: float
    lost: frozenset[str]


def _deserved(function: str, score: float, *lost: str) -> Deserved:
    return Deserved(function, score, frozenset(lost))


DESERVED = {
    # λ/m doubles the L2 term: wrong in the four cases with λ ≠ 0, and with the only scored
    # output wrong the inputs point goes too; cost-no-regularization (λ = 0) hides it: 3/15.
    "cost_lambda_over_m": _deserved("cost", 3, "cost", "inputs"),
    # Y.shape[0] is 1, so the L2 term is m times too large where λ ≠ 0 and m ≠ 1 (public, large
    # λ, wide layer); cost-single-example (m = 1) and cost-no-regularization hide it: 6/15.
    "cost_y_rows_as_m": _deserved("cost", 6, "cost", "inputs"),
    # log10 changes the cross-entropy itself, which every case has (λ = 0 included): 0/15.
    "cost_own_log10_cross_entropy": _deserved("cost", 0, "cost", "inputs"),
    # dW2 lacks λ/m·W2 in the four cases with λ ≠ 0; dW1, dW3 and inputs keep their points: 16/20.
    "backward_l2_missing_in_dW2": _deserved("backward_l2", 16, "dW2"),
    # λ·W = λ/m·W when m = 1 (single example) or λ = 0 (no regularization): those two cases
    # keep 4 each; in the other three all three dW are wrong, so inputs are not awarded: 8/20.
    "backward_l2_lambda_without_m": _deserved("backward_l2", 8, "dW1", "dW2", "dW3", "inputs"),
    # 1/m with m = 5 is right only in the public case (m = 5); elsewhere every dW is wrong, even
    # at λ = 0, because the data term is scaled by 1/m too: 4/20.
    "backward_l2_hardcoded_m": _deserved("backward_l2", 4, "dW1", "dW2", "dW3", "inputs"),
    # Gradients are right; the cache's A1 is overwritten wherever A1 > 0, costing the inputs point
    # in every case (each case's A1 has positive entries): 20 - 5 = 15/20.
    "backward_l2_mutates_cache": _deserved("backward_l2", 15, "inputs"),
    # `>` flips every mask entry, so D1 and D2 fail in all five cases; A1, A2, A3 are checked
    # against the submission's own masks (reference/consistency.py) and pass, except where what
    # they would be derived from is all zeros, which never pays (returning zeros must not): at
    # keep_prob = 1.0 both masks are all False, so A1, A2, A3 are compared with the reference
    # and lost, and with nothing right the inputs point too (0); in the single example the
    # flipped D1 keeps only dead units, so A1 (all zeros) is compared with the reference and
    # lost, and so is A2, whose own A1 is then off the reference's scale (2).
    # 4 + 0 + 4 + 2 + 4 = 14/30.
    "forward_mask_greater": _deserved("forward_dropout", 14, "D1", "D2", "A1", "A2", "A3", "inputs"),
    # A1 is keep_prob times too small wherever it is non-zero; keep_prob = 1.0 hides it. A2 is
    # checked against the submission's own A1, so only A1 is lost, in four cases: 26/30.
    "forward_no_scaling_a1": _deserved("forward_dropout", 26, "A1"),
    # 0.5 is right at keep_prob = 0.5 (half: 6). Public, keep-all, non-square: masks differ and
    # A1, A2 are divided by 0.5 instead of keep_prob: 2 each (A3, inputs). Single example
    # (keep_prob 0.8): both masks differ and the own D1 keeps only dead units, so A1 is all
    # zeros; an expectation derived from it would be all zeros too, which never pays
    # (reference/consistency.py), so A1, A2 and A3 are compared with the reference and lost,
    # and with nothing right the inputs point too (0). 6 + 2 + 2 + 0 + 2 = 12/30.
    "forward_hardcoded_keep_prob": _deserved("forward_dropout", 12, "D1", "D2", "A1", "A2", "A3", "inputs"),
    # randn draws normal values and consumes the RNG differently: D1 and D2 differ in every case
    # (randn < 1.0 is not all True, so keep-all fails too), except D2 of the single example, whose
    # two comparisons come out as the uniform draws' do; activations follow the own masks: 21/30.
    "forward_randn_masks": _deserved("forward_dropout", 21, "D1", "D2"),
    # Swapping the draw order changes both masks, except at keep_prob = 1.0 (all True anyway)
    # and D2 of the single example, which comes out the same by chance: 4+6+4+5+4 = 23/30.
    "forward_d2_before_d1": _deserved("forward_dropout", 23, "D1", "D2"),
    # With-seed template: D1 matches the seed-1 variant; the reseed makes D2 the first draws of
    # seed 1 again. D2 is lost except at keep_prob = 1.0 and in the single example, where the
    # draws used (.417 .720 and the expected .302 .147) are all below 0.8: 30 - 3 = 27/30.
    "forward_reseed_before_d2": _deserved("forward_dropout", 27, "D2"),
    # A3 is masked and scaled: wrong wherever keep_prob < 1 (a (1, m) A3 differs either way);
    # the masks and A1, A2 are untouched: 30 - 4 = 26/30.
    "forward_dropout_on_output": _deserved("forward_dropout", 26, "A3"),
    # D2 has shape (n2, m): where n1 ≠ n2 (public 2≠3, non-square 6≠4) the multiply raises and
    # the whole case is lost (0); keep-all has D1 = D2 = all ones (3); in half and single
    # example (n1 = n2 = 3) D2 ≠ D1 on a live entry, so dA1 is lost (2 each): 0+3+2+2+0 = 7/15.
    "backward_dropout_da1_with_d2": _deserved("backward_dropout", 7, "dA2", "dA1", "inputs"),
    # dA2 is keep_prob times what it should be in the four cases with keep_prob < 1 (each has a
    # live entry); dA1 is checked against the submission's own dA2 and passes: 15 - 4 = 11/15.
    "backward_dropout_no_scaling_da2": _deserved("backward_dropout", 11, "dA2"),
}


@functools.cache
def _report(path: Path) -> Report:
    return grade(Submission.from_path(path), backend="process")


def _lost_outputs(report: Report, function: str) -> set[str]:
    """Outputs that earn less than their points in at least one case of `function`."""
    return {
        name
        for case in report.functions[function].cases
        for name, output in case.outputs.items()
        if output.score < output.points
    }


def test_every_mistake_submission_has_a_deserved_score():
    files = {path.stem for path in MISTAKES.glob("*.py")}
    assert files == set(DESERVED)
    assert len(files) >= 12


@pytest.mark.parametrize("name", sorted(DESERVED))
def test_mistake_submission_gets_exactly_the_score_it_deserves(name):
    deserved = DESERVED[name]
    report = _report(MISTAKES / f"{name}.py")
    expected = FULL | {deserved.function: deserved.score}
    assert report.status == "graded"
    assert {key: report.functions[function].score for key, function in FUNCTIONS.items()} == expected
    assert report.score == sum(expected.values())


@pytest.mark.parametrize("name", sorted(DESERVED))
def test_mistake_submission_loses_only_the_affected_outputs(name):
    deserved = DESERVED[name]
    report = _report(MISTAKES / f"{name}.py")
    assert _lost_outputs(report, FUNCTIONS[deserved.function]) == deserved.lost


@pytest.mark.parametrize("name", sorted(name for name, deserved in DESERVED.items() if deserved.lost - {INPUTS}))
def test_failing_output_messages_name_the_output(name):
    report = _report(MISTAKES / f"{name}.py")
    failing = [
        (output_name, output.message)
        for function in report.functions.values()
        for case in function.cases
        for output_name, output in case.outputs.items()
        if output_name != INPUTS and not output.passed
    ]
    assert failing
    assert all(message.startswith(output) for output, message in failing)


def test_mutating_the_cache_is_reported_naming_the_argument():
    report = _report(MISTAKES / "backward_l2_mutates_cache.py")
    public = report.functions[FUNCTIONS["backward_l2"]].cases[0]
    assert "modified its argument(s) cache in place" in public.outputs["inputs"].message


@pytest.mark.parametrize("name", ["template_with_seed.py", "template_without_seed.py", "notebook.ipynb"])
def test_correct_submission_gets_full_marks(name):
    report = _report(CORRECT / name)
    assert report.status == "graded"
    assert report.score == report.max_score == 80


def test_correct_notebook_runs_no_shell_escape_or_cell_magic():
    report = _report(CORRECT / "notebook.ipynb")
    assert report.stdout.bytes == 0


def test_correct_notebook_loads_without_errors():
    assert _report(CORRECT / "notebook.ipynb").load_errors == []


def test_correct_script_exported_with_the_notebooks_plot_settings_gets_full_marks():
    source = (CORRECT / "template_without_seed.py").read_text().replace(
        "import numpy as np\n", "import numpy as np\nimport matplotlib.pyplot as plt\nplt.rcParams['figure.figsize'] = (7.0, 4.0)\n"
    )
    report = grade(Submission(name="exported.py", content=source.encode()), backend="process")
    assert report.score == 80
