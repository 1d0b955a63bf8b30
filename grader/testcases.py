"""Generate the committed inputs and expected outputs of an assignment's cases.

`make testcases` runs `python -m grader.testcases`; the drift test regenerates in
memory and compares with the committed file, so case files, reference and generated
outputs cannot disagree silently.
"""

from __future__ import annotations

import copy
import json
import sys
from pathlib import Path
from typing import Any

import numpy as np

from grader.assignment import (
    DEFAULT_CASE_FILE,
    GENERATED_FORMAT,
    Assignment,
    Case,
    encode_value,
    load_assignment,
)


def extract(returned: Any, path: tuple[str | int, ...]) -> Any:
    """Walk a function's return value down `path` (the same walk the runner does)."""
    for key in path:
        returned = returned[key]
    return returned


def _expected(assignment: Assignment, case: Case, inputs: dict[str, Any]) -> dict[str, Any]:
    spec = assignment.functions[case.function]
    reference = assignment.resolve(f"{assignment.reference}.solution:{case.function}")
    variants = {"default": case.call_seed} | {f"seed_{seed}": seed for seed in spec.also_accept_seeds}
    expected = {}
    for variant, seed in variants.items():
        np.random.seed(seed)
        returned = reference(*(copy.deepcopy(inputs[name]) for name in spec.args))
        expected[variant] = {
            name: encode_value(np.asarray(extract(returned, output.path)))
            for name, output in spec.outputs.items()
        }
    return expected


def generate(assignment: Assignment) -> dict[str, Any]:
    """Inputs and expected outputs of every case, as the JSON document that is committed."""
    cases = {}
    for case in assignment.cases:
        spec = assignment.functions[case.function]
        inputs = assignment.resolve(spec.inputs)(case.params)
        cases[case.id] = {
            "inputs": {name: encode_value(inputs[name]) for name in spec.args},
            "expected": _expected(assignment, case, inputs),
        }
    return {"format": GENERATED_FORMAT, "source_digest": assignment.source_digest, "cases": cases}


def render(document: dict[str, Any]) -> str:
    return json.dumps(document, indent=1, sort_keys=True) + "\n"


def write(assignment: Assignment) -> Path:
    path = assignment.generated_path
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render(generate(assignment)))
    return path


if __name__ == "__main__":
    for case_file in sys.argv[1:] or [str(DEFAULT_CASE_FILE)]:
        print(f"wrote {write(load_assignment(Path(case_file)))}")
