"""Grade a whole class: plan what needs grading, grade each distinct file once, write every report.

Crash-safe and resumable by construction: a student's report is written atomically
as soon as their file is graded, and the next run keeps every report whose submission
sha256, grader version and test-case digest still match. Killing the batch at any
moment loses at most the jobs in flight; they had no report, so they are graded on
the next run, and nothing that has a report is graded again.
"""

from __future__ import annotations

import contextlib
import dataclasses
import fcntl
import os
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path

from pydantic import ValidationError

from grader import strict_json
from grader.assignment import Assignment, load_assignment
from grader.batch.inputs import Absent, Discovered, Handin, discover
from grader.batch.outputs import report_path, write_outputs
from grader.batch.progress import LogProgress, ProgressDisplay, Tally
from grader.batch.queued import SANDBOX_WAIT_SECONDS, Executor, GradeJob, local_executor
from grader.errors import GraderError
from grader.report import Report, SubmissionInfo, write_report
from grader.version import GRADER_VERSION

LOCK_NAME = ".batch.lock"
LOG_NAME = "grading-log.jsonl"
"""One line per sandbox run of this batch directory: which file, for whom, when (an audit trail)."""
NOT_REUSED = ("internal_error", "missing", "conflict")
"""Statuses never kept across runs: a grader failure is retried, a missing student may hand in,
a conflict may be resolved."""


@dataclasses.dataclass(frozen=True)
class Plan:
    """What a run does for each student who handed in something."""

    current: dict[str, Report]
    """Reports from an earlier run that are still valid (resume)."""
    copies: dict[str, Report]
    """Valid reports of an identical file handed in by someone else, renamed for this student."""
    to_grade: dict[str, list[Handin]]
    """sha256 -> the students who handed in that exact file (graded once for all of them)."""


@dataclasses.dataclass(frozen=True)
class BatchResult:
    """The outcome of `grade_batch`: every student's report and what this run did."""

    reports: dict[str, Report]
    graded: int
    """Sandbox runs in this run (one per distinct file)."""
    resumed: int
    copied: int
    warnings: tuple[str, ...]
    out: Path


def is_current(report: Report, sha256: str, version: str, digest: str) -> bool:
    """Whether `report` still stands for a file with `sha256` under this grader and case set."""
    return (report.submission.sha256 == sha256 and report.grader_version == version
            and report.testcases_digest == digest and report.status not in NOT_REUSED)


def _renamed(report: Report, name: str) -> Report:
    return report.model_copy(update={"submission": report.submission.model_copy(update={"name": name})})


def plan_batch(
    handins: Sequence[Handin], hashes: Mapping[str, str], existing: Mapping[str, Report], version: str, digest: str,
) -> Plan:
    """Decide per student: keep their report, copy an identical file's report, or grade (pure)."""
    by_hash = {report.submission.sha256: report for student, report in existing.items()
               if is_current(report, report.submission.sha256, version, digest)}
    current: dict[str, Report] = {}
    copies: dict[str, Report] = {}
    to_grade: dict[str, list[Handin]] = {}
    for handin in handins:
        sha = hashes[handin.student_id]
        own = existing.get(handin.student_id)
        if own is not None and is_current(own, sha, version, digest):
            current[handin.student_id] = own
        elif sha in by_hash:
            copies[handin.student_id] = _renamed(by_hash[sha], handin.name)
        else:
            to_grade.setdefault(sha, []).append(handin)
    return Plan(current, copies, to_grade)


def absent_report(assignment: Assignment, absent: Absent) -> Report:
    """Zero for a student with nothing to grade: `missing` (nothing handed in) or `conflict`."""
    return Report.failed(assignment, absent.status, absent.reason)


def _load_existing(out: Path, students: Sequence[str]) -> dict[str, Report]:
    """The reports an earlier run left for these students; unreadable ones count as absent."""
    existing = {}
    for student in students:
        try:
            existing[student] = Report.model_validate_json(report_path(out, student).read_bytes())
        except (OSError, ValidationError, ValueError):
            continue
    return existing


def _store(out: Path, student: str, report: Report) -> Report:
    """Write a student's report atomically and hand it back."""
    write_report(report, report_path(out, student))
    return report


def _log_run(out: Path, report: Report, students: Sequence[str]) -> None:
    """Append one line for one sandbox run, after its reports are on disk."""
    line = strict_json.dumps({"sha256": report.submission.sha256, "students": list(students), "status": report.status,
                              "score": report.score, "created_at": report.created_at, "pid": os.getpid()})
    with open(out / LOG_NAME, "a", encoding="utf-8") as handle:
        handle.write(line + "\n")
        handle.flush()
        os.fsync(handle.fileno())


@contextlib.contextmanager
def _exclusive(out: Path) -> Iterator[None]:
    """Hold the output folder for this run: two batches writing one folder would grade twice.

    An flock dies with its process, so a killed run never leaves the folder locked.
    """
    with open(out / LOCK_NAME, "w") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise GraderError(f"another batch is writing to {out}; wait for it or choose another --out") from None
        yield


def _remove_temporaries(out: Path) -> None:
    """Drop half-written files of a killed run (atomic writes leave `.<name>.*.tmp` behind)."""
    for path in out.rglob(".*.tmp"):
        path.unlink(missing_ok=True)


def _jobs(to_grade: Mapping[str, list[Handin]]) -> Iterator[GradeJob]:
    """One job per distinct file, read only when the executor is ready to take it."""
    for sha, handins in to_grade.items():
        yield GradeJob(sha, handins[0].submission())


def grade_batch(
    source: Path | str,
    out: Path | str,
    *,
    jobs: int = 1,
    roster: Path | str | None = None,
    id_pattern: str | None = None,
    backend: str = "docker",
    timeout: float | None = None,
    executor: Executor | None = None,
    progress: ProgressDisplay | None = None,
    assignment: Assignment | None = None,
    sandbox_wait: float = SANDBOX_WAIT_SECONDS,
) -> BatchResult:
    """Grade every submission in `source` (folder, LMS zip or CSV manifest) into `out`.

    Writes `out/reports/<student>.json` as each file is graded, then the gradebook,
    JUnit XML, Gradescope results and summary page for the whole class. The default
    executor grades on `jobs` threads of this process; it waits up to `sandbox_wait` seconds
    for a sandbox that stops answering before it stops.
    """
    assignment = assignment or load_assignment()
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    progress = progress or LogProgress()
    executor = executor or local_executor(jobs, backend, digest=assignment.digest, timeout=timeout,
                                          sandbox_wait=sandbox_wait, notify=progress.note)
    with _exclusive(out):
        _remove_temporaries(out)
        return _run(Path(source), out, assignment, roster=Path(roster) if roster else None,
                    id_pattern=id_pattern, backend=backend, executor=executor, progress=progress)


def _run(source: Path, out: Path, assignment: Assignment, *, roster: Path | None, id_pattern: str | None,
         backend: str, executor: Executor, progress: ProgressDisplay) -> BatchResult:
    """The body of `grade_batch`, run while holding the output folder."""
    found: Discovered = discover(source, list(assignment.functions), roster=roster, id_pattern=id_pattern)
    hashes = {handin.student_id: handin.submission().sha256 for handin in found.handins}
    students = [handin.student_id for handin in found.handins] + [entry.student_id for entry in found.absent]
    existing = _load_existing(out, students)
    plan = plan_batch(found.handins, hashes, existing, GRADER_VERSION, assignment.digest)

    reports: dict[str, Report] = dict(plan.current)
    for student, report in plan.copies.items():
        reports[student] = _store(out, student, report)
    for entry in found.absent:
        kept = existing.get(entry.student_id)
        if kept is not None and kept.status == entry.status and kept.message == entry.reason:
            reports[entry.student_id] = kept
        else:
            reports[entry.student_id] = _store(out, entry.student_id, absent_report(assignment, entry))

    tally = Tally(total=sum(len(handins) for handins in plan.to_grade.values()), resumed=len(plan.current),
                  copied=len(plan.copies),
                  missing=sum(entry.status == "missing" for entry in found.absent),
                  conflicts=sum(entry.status == "conflict" for entry in found.absent))
    graded = 0
    progress.start(tally)
    try:
        for result in executor.grade(_jobs(plan.to_grade)):
            submission = result.job.submission
            report = result.report or Report.failed(
                assignment, "internal_error", f"the grader failed on this file ({result.error}); re-run to retry",
                submission=SubmissionInfo.of(submission), backend=backend)
            handins = plan.to_grade[result.job.key]
            for handin in handins:
                reports[handin.student_id] = _store(out, handin.student_id, _renamed(report, handin.name))
            _log_run(out, report, [handin.student_id for handin in handins])
            graded += 1
            tally.copied += len(handins) - 1
            tally.record(len(handins), failed=report.status != "graded")
            progress.update(tally)
    finally:
        progress.finish(tally)
    ordered = dict(sorted(reports.items()))
    write_outputs(out, ordered, assignment)
    return BatchResult(ordered, graded, len(plan.current), tally.copied, found.warnings, out)
