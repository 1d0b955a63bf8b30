"""Grade one submission: check it, run it in a sandbox, compare under pytest, score, report.

The only place that puts the pieces together. Whatever the submission does, `grade`
returns a Report with a status and a message; it raises only when the grader
cannot run at all (no sandbox available, broken case files), and SandboxOutage when
the sandbox stops answering: that says nothing about the submission, so callers wait
for the sandbox (grader.sandbox.health) and grade it again.
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import time
from typing import TYPE_CHECKING

from grader.assignment import Assignment, load_assignment
from grader.checks import build_checks, plan_calls
from grader.sandbox import DEFAULT_TIMEOUT, Backend, Limits, RawRun, get_backend
from grader.submission import Rejected, Submission
from grader.wire import MAX_BAD_FRAMES, MAX_TEXT, SandboxResult, decode_result, encode_bundle, output_budget

if TYPE_CHECKING:
    from grader.pytest_run import ChecksSession
    from grader.report import FunctionResult, Report

CALL_SECONDS = 5.0
LOAD_SECONDS = 5.0
STDOUT_LIMIT = 16 * 1024


@dataclasses.dataclass(frozen=True)
class _Outcome:
    status: str
    message: str
    unfinished: str


def _outcome(raw: RawRun, result: SandboxResult, limits: Limits, calls: int) -> _Outcome:
    """The run's status, what to tell the student, and why unreported calls have no result."""
    reported = len(result.calls)
    if raw.timed_out:
        return _Outcome(
            "timeout",
            f"the run took longer than {limits.wall_seconds:g} s and was stopped; "
            f"{reported} of {calls} calls finished before that and were scored",
            f"not run: the time limit of {limits.wall_seconds:g} s was reached (look for an endless loop)",
        )
    if raw.memory_exceeded:
        mib = limits.memory_bytes // (1024 * 1024)
        return _Outcome(
            "memory_limit_exceeded",
            f"the run used more than {mib} MiB of memory and was stopped; "
            f"{reported} of {calls} calls finished before that and were scored",
            f"not run: the memory limit of {mib} MiB was reached",
        )
    if result.flooded:
        # Before the checks of what was read: the flood may have come before the runner's own frames.
        return _Outcome(
            "error",
            f"the grader's output channel was flooded with malformed frames; it stopped reading after "
            f"{MAX_BAD_FRAMES} of them, when {reported} of {calls} calls had reported (those were scored). "
            "Never write to the grader's own file descriptors",
            "not run: the grader's output channel was flooded with malformed frames",
        )
    if not result.loaded:
        return _Outcome(
            "error",
            "the sandbox run ended before your file was loaded"
            + (f" (exit code {raw.exit_code})" if raw.exit_code else ""),
            "not run: the run ended before your file was loaded",
        )
    if result.unreadable:
        return _Outcome("rejected", "; ".join(result.load_errors), "not run: the file could not be read")
    if result.load_errors and all(call.status == "missing" for call in result.calls.values()):
        return _Outcome(
            "error",
            "your file could not be loaded: " + result.load_errors[0],
            "not run: your file could not be loaded",
        )
    if raw.stdout_truncated:
        return _Outcome(
            "error",
            f"the run wrote more than {limits.stdout_bytes // (1024 * 1024)} MiB to the grader's output channel "
            f"and was stopped after {reported} of {calls} calls; print less (and never to file descriptor 1 "
            "of the grader directly)",
            "not run: the run was stopped for writing too much output",
        )
    if not result.complete:
        return _Outcome(
            "error",
            f"the run ended unexpectedly after {reported} of {calls} calls"
            + (f" (exit code {raw.exit_code})" if raw.exit_code else "")
            + ("; its output channel carried malformed frames: never write to the grader's own file descriptors"
               if result.problems else "; does your code call exit() or kill the process?"),
            "not run: the run ended unexpectedly before this call",
        )
    return _Outcome("graded", "graded", "")


def _report(
    assignment: Assignment,
    submission: Submission,
    backend: str,
    started: float,
    *,
    status: str,
    message: str,
    functions: dict[str, FunctionResult] | None = None,
    result: SandboxResult | None = None,
) -> Report:
    from grader.report import CapturedOutput, Report, SubmissionInfo

    result = result or SandboxResult()
    return Report.build(
        assignment, SubmissionInfo.of(submission), backend=backend, status=status, message=message,
        functions=functions or {}, load_errors=result.load_errors, skipped_statements=result.skipped,
        stdout=CapturedOutput(
            text=result.stdout,
            bytes=result.stdout_bytes,
            truncated=result.stdout_bytes > len(result.stdout.encode("utf-8", "replace")),
        ),
        duration_seconds=time.monotonic() - started,
    )


def _load_scoring(assignment: Assignment) -> ChecksSession:
    """Import the comparison, diagnosis and report modules and the assignment's mistake models,
    and set up the pytest session that will judge the outputs.

    grade() calls this while the sandbox runs: these imports (pytest, the pydantic
    models, the reference's catalogue) and pytest's config then cost no wall time in a
    fresh process such as the `grade` command.
    """
    import grader.diagnose
    import grader.report  # noqa: F401
    import grader.scoring  # noqa: F401
    from grader.pytest_run import ChecksSession

    grader.diagnose.catalogue(assignment)
    return ChecksSession()


def _scored(
    assignment: Assignment, result: SandboxResult, unfinished: str, session: ChecksSession | None = None,
) -> dict[str, FunctionResult]:
    """Compare under pytest, score and diagnose; raises scoring.Unchecked if an output went unchecked."""
    from grader.diagnose import diagnose
    from grader.pytest_run import run_checks
    from grader.scoring import score

    planned = build_checks(assignment, result, unfinished)
    judging = run_checks(planned, session)
    return diagnose(assignment, result, list(judging.checks.values()), score(assignment, planned, judging))


def grade(
    submission: Submission,
    *,
    backend: str | Backend = "docker",
    timeout: float | None = None,
    assignment: Assignment | None = None,
    limits: Limits | None = None,
) -> Report:
    """Grade `submission` and return its report (see `grader/schema/report.v1.json`)."""
    started = time.monotonic()
    assignment = assignment or load_assignment()
    runner = get_backend(backend) if isinstance(backend, str) else backend
    limits = limits or Limits(wall_seconds=timeout or DEFAULT_TIMEOUT)
    if timeout is not None:
        limits = dataclasses.replace(limits, wall_seconds=timeout)

    try:
        submission.check()
    except Rejected as exc:
        return _report(assignment, submission, runner.name, started, status="rejected", message=str(exc),
                       functions=_scored(assignment, SandboxResult(), f"not run: {exc}"))

    calls = plan_calls(assignment)
    bundle = encode_bundle(
        source=submission.content,
        kind=submission.kind,
        calls=calls,
        support_modules=assignment.support_modules,
        stub_modules=assignment.stub_modules,
        preamble=assignment.preamble,
        call_seconds=min(CALL_SECONDS, limits.wall_seconds),
        load_seconds=min(LOAD_SECONDS, limits.wall_seconds),
        output_limit=output_budget(limits.stdout_bytes),
        stdout_limit=STDOUT_LIMIT,
    )
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        running = pool.submit(runner.run, bundle, limits)
        session = _load_scoring(assignment)
        raw = running.result()
    result = decode_result(raw.stdout, calls=len(calls))
    outcome = _outcome(raw, result, limits, len(calls))
    from grader.scoring import Unchecked

    try:
        functions = _scored(assignment, result, outcome.unfinished, session)
    except Unchecked as exc:
        functions, missing = exc.args
        return _report(assignment, submission, runner.name, started, status="internal_error",
                       message=f"the grader could not check {len(missing)} outputs; please report this",
                       functions=functions, result=result)
    message = outcome.message
    if outcome.status == "graded":
        total = sum(function.score for function in functions.values())
        message = f"scored {total:g} of {assignment.max_score:g}"
    return _report(assignment, submission, runner.name, started, status=outcome.status, message=message[:MAX_TEXT],
                   functions=functions, result=result)
