"""The score report: the model that writes it is the source of its JSON Schema.

`grader/schema/report.v1.json` is generated from `Report` (`make schema`) and a test
keeps the two equal; every report written is valid against the committed schema.
`Report.build` (a run's report) and `Report.failed` (no run scored it) are the only places
reports are made: the engine, batch and the service all go through them.
"""

from __future__ import annotations

import datetime
import json
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, ConfigDict, Field

from grader import strict_json
from grader.atomic import write_text
from grader.version import GRADER_VERSION

if TYPE_CHECKING:
    from grader.assignment import Assignment
    from grader.submission import Submission

SCHEMA_VERSION = "1"
SCHEMA_PATH = Path(__file__).with_name("schema") / f"report.v{SCHEMA_VERSION}.json"

Status = Literal[
    "graded", "rejected", "error", "timeout", "memory_limit_exceeded", "internal_error", "missing", "conflict",
]
STATUS_MEANING: dict[str, str] = {
    "graded": "the submission ran and was scored",
    "rejected": "the file was refused before running (empty, not text, not Python, too large)",
    "error": "the submission could not be loaded or broke the sandbox run",
    "timeout": "the run hit the time limit; calls finished before it were scored",
    "memory_limit_exceeded": "the run hit the memory limit; calls finished before it were scored",
    "internal_error": "the grader itself failed; this is not the student's fault",
    "missing": "nothing was handed in",
    "conflict": "files under different names in the batch input claim this student; none was graded",
}
NO_BACKEND = "none"
"""The backend of a report no sandbox run produced (nothing handed in, a conflict, the grader failed)."""


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class OutputResult(_Model):
    """One output of one case."""

    scored: bool = Field(description="False for outputs shown as feedback only")
    points: float
    score: float
    passed: bool
    message: str
    shape: list[int] | None = None
    expected_shape: list[int] | None = None
    max_abs_error: float | None = Field(None, description="None for hidden cases")
    max_rel_error: float | None = Field(None, description="None for hidden cases")
    mismatches: int | None = Field(None, description="Number of entries outside tolerance; None where a hidden mask differs")
    checked_against: str = Field("reference", description="What the expectation was derived from")


class CaseResult(_Model):
    id: str
    visibility: Literal["visible", "hidden"]
    score: float
    max_score: float
    passed: bool
    message: str = Field("", description="Why the call produced nothing, when it did not")
    outputs: dict[str, OutputResult]


class DiagnosedMistake(_Model):
    """A catalogued mistake that reproduces the function's outputs on every case."""

    id: str
    hint: str = Field(description="For the student: the concept to revisit, not the answer")


class PrimaryDiagnosis(_Model):
    """The one sentence a failed function leads with."""

    kind: Literal["mistake", "cause", "observation"] = Field(
        description="mistake: a named mistake confirmed on every case; cause: what the run shows "
        "(not defined, not parsed, raised, wrong type, inputs modified); observation: the most informative "
        "measurement when nothing is confirmed"
    )
    id: str = Field(description="The mistake's id, the cause (e.g. syntax-error, raised, returned-list), or 'observation'")
    sentence: str = Field(description="For the student: a hint in the course's terms, never the fix as code")


class FunctionResult(_Model):
    score: float
    max_score: float
    passed: bool = Field(description="Every case of the function passed")
    cases: list[CaseResult]
    primary: PrimaryDiagnosis | None = Field(None, description="Set on every failed function, None on passed ones")
    diagnosis: list[DiagnosedMistake] = Field(
        default_factory=list, description="Mistake models reproducing every case (failed functions only)"
    )
    observations: list[str] = Field(
        default_factory=list,
        description="What was measured about the failing outputs when no mistake is named; no expected values",
    )


class SubmissionInfo(_Model):
    name: str
    sha256: str
    size: int

    @classmethod
    def of(cls, submission: Submission) -> SubmissionInfo:
        return cls(name=submission.name, sha256=submission.sha256, size=len(submission.content))


class CapturedOutput(_Model):
    text: str = Field(description="What the submission printed, truncated; never interpreted")
    bytes: int
    truncated: bool


class Report(_Model):
    """The result of grading one submission."""

    schema_version: Literal["1"] = SCHEMA_VERSION
    assignment: str
    submission: SubmissionInfo
    grader_version: str
    testcases_digest: str = Field(description="sha256 of the case files, reference and generated outputs")
    backend: str
    status: Status
    message: str = Field(description="One sentence for the student about the run as a whole")
    score: float
    max_score: float
    functions: dict[str, FunctionResult]
    load_errors: list[str] = Field(default_factory=list, description="Errors while loading the file")
    skipped_statements: list[str] = Field(
        default_factory=list, description="Top-level statements not run (only definitions are loaded)"
    )
    stdout: CapturedOutput
    duration_seconds: float
    created_at: str

    @classmethod
    def build(
        cls,
        assignment: Assignment,
        submission: SubmissionInfo,
        *,
        backend: str,
        status: Status,
        message: str,
        functions: dict[str, FunctionResult],
        load_errors: Sequence[str] = (),
        skipped_statements: Sequence[str] = (),
        stdout: CapturedOutput | None = None,
        duration_seconds: float = 0.0,
    ) -> Report:
        """The one constructor every path uses: the engine, batch placeholders and the service's failures."""
        return cls(
            assignment=assignment.name,
            submission=submission,
            grader_version=GRADER_VERSION,
            testcases_digest=assignment.digest,
            backend=backend,
            status=status,
            message=message,
            score=round(sum(function.score for function in functions.values()), 4),
            max_score=assignment.max_score,
            functions=functions,
            load_errors=list(load_errors),
            skipped_statements=list(skipped_statements),
            stdout=stdout or CapturedOutput(text="", bytes=0, truncated=False),
            duration_seconds=round(duration_seconds, 4),
            created_at=datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="milliseconds"),
        )

    @classmethod
    def failed(
        cls, assignment: Assignment, status: Status, message: str, *,
        submission: SubmissionInfo | None = None, backend: str = NO_BACKEND,
    ) -> Report:
        """A report for a submission no run scored: every function at zero, no cases run.

        Without `submission`, nothing was handed in: its name and sha256 are empty.
        """
        submission = submission or SubmissionInfo(name="", sha256="", size=0)
        functions = {
            name: FunctionResult(score=0.0, max_score=sum(case.points for case in assignment.cases_of(name)),
                                 passed=False, cases=[])
            for name in assignment.functions
        }
        return cls.build(assignment, submission, backend=backend, status=status, message=message, functions=functions)

    def to_json(self) -> str:
        return strict_json.dumps(self.model_dump(mode="json"), indent=2) + "\n"


def json_schema() -> dict:
    schema = Report.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = f"https://grader.invalid/schema/report.v{SCHEMA_VERSION}.json"
    return schema


def render_schema() -> str:
    return json.dumps(json_schema(), indent=2, sort_keys=True) + "\n"


def write_report(report: Report, path: Path) -> Path:
    """Write the report atomically: a reader sees the old report or the new one, never half of one."""
    return write_text(path, report.to_json())


if __name__ == "__main__":
    SCHEMA_PATH.parent.mkdir(exist_ok=True)
    SCHEMA_PATH.write_text(render_schema())
    print(f"wrote {SCHEMA_PATH}")
