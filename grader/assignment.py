"""An assignment as the engine sees it: functions, outputs, cases, and their generated data.

Everything specific to one assignment comes from its case file (`testcases/*.toml`)
and the reference package it names; this module only reads and checks them, so a
course adds its next numpy assignment without touching `grader/`.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import importlib
import json
import sys
import tomllib
from pathlib import Path
from typing import Any, Callable, Mapping

import numpy as np

from grader.errors import AssignmentError

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CASE_FILE = PROJECT_ROOT / "testcases" / "regularization.toml"
GENERATED_FORMAT = 1


@dataclasses.dataclass(frozen=True)
class Tolerance:
    rtol: float
    atol: float


@dataclasses.dataclass(frozen=True)
class OutputSpec:
    """One value read from what a function returns."""

    name: str
    path: tuple[str | int, ...]
    weight: float
    exact: bool = False
    scalar: bool = False


@dataclasses.dataclass(frozen=True)
class FunctionSpec:
    name: str
    args: tuple[str, ...]
    outputs: dict[str, OutputSpec]
    inputs: str
    inputs_weight: float
    consistency: str | None = None
    also_accept_seeds: tuple[int, ...] = ()

    @property
    def total_weight(self) -> float:
        return sum(output.weight for output in self.outputs.values()) + self.inputs_weight


@dataclasses.dataclass(frozen=True)
class Case:
    """One pinned-seed call of one function."""

    id: str
    function: str
    visibility: str
    seed: int
    call_seed: int
    points: float
    params: Mapping[str, Any]
    """The case's whole table, as the reference's input builder reads it."""
    tolerances: dict[str, Tolerance]

    @property
    def hidden(self) -> bool:
        return self.visibility == "hidden"


@dataclasses.dataclass(frozen=True)
class CaseData:
    """A case's inputs and its expected outputs, one set per accepted RNG variant."""

    inputs: dict[str, Any]
    expected: dict[str, dict[str, np.ndarray]]


@dataclasses.dataclass(frozen=True)
class Assignment:
    name: str
    title: str
    case_file: Path
    reference: str
    functions: dict[str, FunctionSpec]
    cases: tuple[Case, ...]
    support_modules: dict[str, str]
    stub_modules: tuple[str, ...]
    preamble: str
    source_digest: str
    """Hash of the case file and the reference sources the generated data came from."""

    @property
    def generated_path(self) -> Path:
        return self.case_file.parent / "generated" / (self.case_file.stem + ".json")

    @property
    def max_score(self) -> float:
        return sum(case.points for case in self.cases)

    def cases_of(self, function: str) -> list[Case]:
        return [case for case in self.cases if case.function == function]

    def resolve(self, dotted: str) -> Callable[..., Any]:
        """Import `package.module:attribute` from the reference (host side only)."""
        module_name, _, attribute = dotted.partition(":")
        root = str(self.case_file.parent.parent)
        if root not in sys.path:
            sys.path.insert(0, root)
        return getattr(importlib.import_module(module_name), attribute)

    @functools.cached_property
    def data(self) -> dict[str, CaseData]:
        """Inputs and expected outputs of every case, from the committed generated file."""
        path = self.generated_path
        if not path.exists():
            raise AssignmentError(f"{path} is missing: run `make testcases`")
        generated = json.loads(path.read_text())
        if generated.get("format") != GENERATED_FORMAT:
            raise AssignmentError(
                f"{path} is in format {generated.get('format')!r}, this grader reads format {GENERATED_FORMAT}: "
                "run `make testcases`"
            )
        if generated.get("source_digest") != self.source_digest:
            raise AssignmentError(
                f"{path} was generated from other case files or reference code: run `make testcases`"
            )
        return {
            case_id: CaseData(
                inputs={name: decode_value(value) for name, value in entry["inputs"].items()},
                expected={
                    variant: {name: decode_value(value) for name, value in outputs.items()}
                    for variant, outputs in entry["expected"].items()
                },
            )
            for case_id, entry in generated["cases"].items()
        }

    @functools.cached_property
    def digest(self) -> str:
        """Hash of the whole test-case set: case file, reference and generated outputs."""
        hasher = hashlib.sha256(self.source_digest.encode())
        if self.generated_path.exists():
            hasher.update(self.generated_path.read_bytes())
        return hasher.hexdigest()


def _tolerances(table: Mapping[str, Any], base: Tolerance) -> dict[str, Tolerance]:
    return {
        name: Tolerance(rtol=float(spec.get("rtol", base.rtol)), atol=float(spec.get("atol", base.atol)))
        for name, spec in table.items()
    }


def _function(name: str, table: Mapping[str, Any]) -> FunctionSpec:
    outputs = {
        out_name: OutputSpec(
            name=out_name,
            path=tuple(spec.get("path", [])),
            weight=float(spec.get("weight", 1)),
            exact=bool(spec.get("exact", False)),
            scalar=bool(spec.get("scalar", False)),
        )
        for out_name, spec in table["outputs"].items()
    }
    return FunctionSpec(
        name=name,
        args=tuple(table["args"]),
        outputs=outputs,
        inputs=table["inputs"],
        inputs_weight=float(table.get("inputs_weight", 0)),
        consistency=table.get("consistency"),
        also_accept_seeds=tuple(table.get("also_accept_seeds", ())),
    )


def _source_digest(case_file: Path, reference_dir: Path) -> str:
    hasher = hashlib.sha256(case_file.read_bytes())
    for path in sorted(reference_dir.rglob("*.py")):
        hasher.update(path.relative_to(reference_dir).as_posix().encode())
        hasher.update(path.read_bytes())
    return hasher.hexdigest()


@functools.lru_cache(maxsize=8)
def load_assignment(case_file: Path = DEFAULT_CASE_FILE) -> Assignment:
    """Read and check a case file; raises AssignmentError with what is wrong."""
    case_file = Path(case_file).resolve()
    try:
        table = tomllib.loads(case_file.read_text())
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise AssignmentError(f"cannot read {case_file}: {exc}") from exc
    root = case_file.parent.parent
    meta = table["assignment"]
    base = Tolerance(rtol=float(table["defaults"]["rtol"]), atol=float(table["defaults"]["atol"]))
    functions = {name: _function(name, spec) for name, spec in table["functions"].items()}
    cases = []
    for entry in table["cases"]:
        spec = functions.get(entry["function"])
        if spec is None:
            raise AssignmentError(f"case {entry['id']} names an unknown function {entry['function']}")
        if entry.get("visibility") not in ("visible", "hidden"):
            raise AssignmentError(f"case {entry['id']}: visibility must be 'visible' or 'hidden'")
        unknown = set(entry.get("tolerance", {})) - set(spec.outputs)
        if unknown:
            raise AssignmentError(f"case {entry['id']}: tolerance for unknown outputs {sorted(unknown)}")
        defaults = {name: base for name in spec.outputs}
        cases.append(
            Case(
                id=entry["id"],
                function=entry["function"],
                visibility=entry["visibility"],
                seed=int(entry["seed"]),
                call_seed=int(entry.get("call_seed", entry["seed"])),
                points=float(entry["points"]),
                params=entry,
                tolerances={**defaults, **_tolerances(entry.get("tolerance", {}), base)},
            )
        )
    ids = [case.id for case in cases]
    if len(set(ids)) != len(ids):
        raise AssignmentError("case ids must be unique")
    support = {Path(rel).stem: (root / rel).read_text() for rel in meta.get("support_modules", [])}
    return Assignment(
        name=meta["name"],
        title=meta.get("title", meta["name"]),
        case_file=case_file,
        reference=meta["reference"],
        functions=functions,
        cases=tuple(cases),
        support_modules=support,
        stub_modules=tuple(meta.get("stub_modules", ())),
        preamble=meta.get("preamble", ""),
        source_digest=_source_digest(case_file, root / meta["reference"]),
    )


# ---------------------------------------------------------------- values in generated files


def encode_value(value: Any) -> Any:
    """Arguments and outputs as JSON: arrays keep dtype and shape; floats round-trip exactly."""
    if isinstance(value, np.ndarray) or isinstance(value, np.generic):
        array = np.asarray(value)
        return {"array": {"dtype": array.dtype.name, "shape": list(array.shape), "values": array.ravel().tolist()}}
    if isinstance(value, tuple):
        return {"tuple": [encode_value(item) for item in value]}
    if isinstance(value, dict):
        return {"dict": {key: encode_value(item) for key, item in value.items()}}
    if isinstance(value, (bool, int, float)):
        return {"value": value}
    raise TypeError(f"cannot store a {type(value).__name__} in a generated file")


def decode_value(value: Mapping[str, Any]) -> Any:
    if "array" in value:
        spec = value["array"]
        return np.array(spec["values"], dtype=spec["dtype"]).reshape(spec["shape"])
    if "tuple" in value:
        return tuple(decode_value(item) for item in value["tuple"])
    if "dict" in value:
        return {key: decode_value(item) for key, item in value["dict"].items()}
    return value["value"]
