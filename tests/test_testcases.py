"""The case file, the reference and the committed generated outputs agree, and the cases vary."""

import json
import math

import pytest

from grader.assignment import load_assignment
from grader.errors import AssignmentError
from grader.testcases import generate, render

SAME_FLOAT = {"rel_tol": 1e-9, "abs_tol": 1e-12}
"""Regenerating on another CPU (another BLAS kernel) changes the last bits of a dot product;
that is 10,000 times below the grading tolerance (rtol 1e-5, atol 1e-8), anything more is drift."""


def _differences(regenerated, committed, where="$"):
    """Where two generated documents differ: structure, strings and integers exactly, floats nearly."""
    if isinstance(committed, float) and isinstance(regenerated, float):
        return [] if math.isclose(regenerated, committed, **SAME_FLOAT) else [f"{where}: {regenerated!r} != {committed!r}"]
    if type(regenerated) is not type(committed):
        return [f"{where}: {type(regenerated).__name__} != {type(committed).__name__}"]
    if isinstance(committed, dict):
        if regenerated.keys() != committed.keys():
            return [f"{where}: keys {sorted(regenerated)} != {sorted(committed)}"]
        return [line for key in committed for line in _differences(regenerated[key], committed[key], f"{where}.{key}")]
    if isinstance(committed, list):
        if len(regenerated) != len(committed):
            return [f"{where}: length {len(regenerated)} != {len(committed)}"]
        return [line for index, (new, old) in enumerate(zip(regenerated, committed))
                for line in _differences(new, old, f"{where}[{index}]")]
    return [] if regenerated == committed else [f"{where}: {regenerated!r} != {committed!r}"]


def test_generated_outputs_match_case_file_and_reference(assignment):
    committed = json.loads(assignment.generated_path.read_text())
    regenerated = json.loads(render(generate(assignment)))
    differences = _differences(regenerated, committed)
    assert not differences, "run `make testcases` and commit the result:\n" + "\n".join(differences[:10])


@pytest.mark.parametrize("change", [1e-6, -1e-7])
def test_drift_of_an_expected_value_is_caught(assignment, change):
    document = json.loads(render(generate(assignment)))
    values = document["cases"]["cost-public"]["expected"]["default"]["cost"]["array"]["values"]
    values[0] += change
    assert _differences(document, json.loads(render(generate(assignment))))


def test_last_bit_differences_of_another_cpu_are_not_drift():
    assert not _differences({"v": [0.1 + 0.2]}, {"v": [0.3]})


def test_engine_refuses_stale_generated_outputs(tmp_path, assignment):
    case_file = tmp_path / "testcases" / "regularization.toml"
    case_file.parent.mkdir()
    case_file.write_text(assignment.case_file.read_text().replace("lambd = 0.7", "lambd = 0.75", 1))
    (tmp_path / "reference").symlink_to(assignment.case_file.parent.parent / "reference")
    (case_file.parent / "generated").mkdir()
    (case_file.parent / "generated" / "regularization.json").write_text(assignment.generated_path.read_text())
    stale = load_assignment(case_file)
    try:
        stale.data
    except Exception as exc:
        assert "make testcases" in str(exc)
    else:
        raise AssertionError("stale generated outputs were accepted")


def test_generated_outputs_in_another_format_are_refused_with_a_clear_error(tmp_path, assignment):
    case_file = tmp_path / "testcases" / "regularization.toml"
    case_file.parent.mkdir()
    case_file.write_text(assignment.case_file.read_text())
    (tmp_path / "reference").symlink_to(assignment.case_file.parent.parent / "reference")
    (case_file.parent / "generated").mkdir()
    document = json.loads(assignment.generated_path.read_text())
    document["format"] = 2
    (case_file.parent / "generated" / "regularization.json").write_text(json.dumps(document))
    with pytest.raises(AssignmentError, match="in format 2, this grader reads format 1: run `make testcases`"):
        load_assignment(case_file).data


def test_every_function_has_one_visible_public_case(assignment):
    for function in assignment.functions:
        cases = assignment.cases_of(function)
        assert [case.visibility for case in cases].count("visible") == 1
        assert len(cases) >= 5


def test_hidden_cases_vary_shapes_lambda_and_keep_prob(assignment):
    params = [case.params for case in assignment.cases if case.hidden]
    assert any(p["sizes"]["m"] == 1 for p in params)
    assert any(p["sizes"]["n1"] != p["sizes"]["n2"] for p in params)
    assert {0.0} <= {p["lambd"] for p in params if "lambd" in p}
    assert max(p["lambd"] for p in params if "lambd" in p) >= 10
    assert {1.0, 0.5} <= {p["keep_prob"] for p in params if "keep_prob" in p}
    assert len({p["seed"] for p in params}) == len(params)


def test_inputs_are_drawn_with_the_declared_shapes(assignment):
    for case in assignment.cases:
        n0, m = case.params["sizes"]["n0"], case.params["sizes"]["m"]
        inputs = assignment.data[case.id].inputs
        if "X" in inputs:
            assert inputs["X"].shape == (n0, m)
        if "Y" in inputs:
            assert inputs["Y"].shape == (1, m)


def test_public_cost_case_expects_the_course_value(assignment):
    expected = assignment.data["cost-public"].expected["default"]["cost"]
    assert float(expected) == 1.7864859451590758


def test_generated_file_is_plain_json(assignment):
    document = json.loads(assignment.generated_path.read_text())
    assert set(document) == {"format", "source_digest", "cases"}


def test_cases_are_informative(assignment):
    """No expected output or cached activation is all zeros, and every mask (keep_prob < 1) mixes
    kept and dropped units: a degenerate case cannot tell right from wrong, and returning zeros
    must not earn points."""
    import numpy as np

    for case in assignment.cases:
        data = assignment.data[case.id]
        for name, value in data.expected["default"].items():
            if value.size > 1:
                assert np.any(value), f"{case.id}: expected {name} is all zeros"
            if name.startswith("D") and case.params.get("keep_prob", 1.0) < 1.0:
                assert np.any(value) and not np.all(value), f"{case.id}: mask {name} is not mixed"
        for index, value in enumerate(data.inputs.get("cache", ())):
            assert value.size == 1 or np.any(value), f"{case.id}: cache[{index}] is all zeros"
