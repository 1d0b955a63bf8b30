"""`grade batch INPUT --out DIR`: the click shell over `grade_batch`.

Exit codes, for CI:
  0  every report was written (and, with --fail-under, every student reached SCORE)
  1  --fail-under: at least one student scored below SCORE (missing and conflict students count as 0)
  2  usage: bad option, or an input / manifest / roster that cannot be read
  3  the grader failed: it could not run or write to --out, or some report has status internal_error
  130 interrupted (Ctrl-C); re-run the same command to resume
"""

from __future__ import annotations

import statistics
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from grader.batch.queued import DEFAULT_JOBS, SANDBOX_WAIT_SECONDS
from grader.cli_options import chosen_backend, requires_extra, sandbox_options
from grader.errors import GraderError
from grader.jobs.base import DEFAULT_BROKER_URL
from grader.sandbox import DEFAULT_TIMEOUT

if TYPE_CHECKING:
    from grader.batch.queued import Executor
    from grader.batch.run import BatchResult

EXIT_BELOW = 1
EXIT_GRADER_FAILED = 3
EXIT_INTERRUPTED = 130
SHOWN_BELOW = 20


class Threshold(click.ParamType):
    """A score in points (`60`) or a share of the maximum (`75%`)."""

    name = "SCORE"

    def convert(self, value: object, param: click.Parameter | None, ctx: click.Context | None) -> tuple[float, bool]:
        if isinstance(value, tuple):
            return value
        text = str(value).strip()
        percent = text.endswith("%")
        try:
            number = float(text.rstrip("%"))
        except ValueError:
            self.fail(f"{value!r} is not a score in points (60) or a percentage (75%)", param, ctx)
        if number < 0 or (percent and number > 100):
            self.fail(f"{value!r} is out of range", param, ctx)
        return number, percent


def threshold_points(threshold: tuple[float, bool], max_score: float) -> float:
    number, percent = threshold
    return max_score * number / 100 if percent else number


class _GraderFailed(click.ClickException):
    exit_code = EXIT_GRADER_FAILED


@click.command("batch")
@click.argument("source", metavar="INPUT", type=click.Path(exists=True, path_type=Path))
@click.option("--out", "out", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="Folder for the reports, gradebook, JUnit XML, Gradescope results and summary page.")
@click.option("--jobs", "-j", type=click.IntRange(1, 256), default=DEFAULT_JOBS, show_default=True,
              help="Submissions graded in parallel (default: one more than cores).")
@click.option("--roster", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="CSV of every student (column student_id/id): who handed in nothing gets 0, status missing.")
@click.option("--id-pattern", metavar="RE",
              help="Regex with a named group `id`, searched in each file's path inside INPUT, "
                   "instead of the built-in LMS naming patterns.")
@sandbox_options
@click.option("--timeout", type=click.FloatRange(min=1, max=600), default=None,
              help=f"Wall-clock limit per submission, in seconds [default: {DEFAULT_TIMEOUT:g}].")
@click.option("--sandbox-wait", "sandbox_wait", type=click.FloatRange(min=0), default=SANDBOX_WAIT_SECONDS,
              show_default=True, metavar="SECONDS",
              help="How long to wait for a sandbox that stops answering (Docker restarting) before stopping.")
@click.option("--fail-under", "fail_under", type=Threshold(), default=None,
              help="Exit 1 if any student scores below SCORE: points (60) or a percentage (75%).")
@click.option("--queue", "queue", type=click.Choice(["embedded", "celery"]), default="embedded", show_default=True,
              help="Grade on this machine (--jobs threads), or on `grade worker` machines through Redis "
                   "(they choose the sandbox and cap --timeout; see docs/deployment.md).")
@click.option("--broker", "broker_url", metavar="URL", envvar="GRADER_BROKER_URL", show_envvar=True,
              help=f"Redis URL of the Celery queue (with --queue celery) [default: {DEFAULT_BROKER_URL}].")
def batch_command(
    source: Path, out: Path, jobs: int, roster: Path | None, id_pattern: str | None, sandbox: str,
    unsafe_no_sandbox: bool, timeout: float | None, sandbox_wait: float, fail_under: tuple[float, bool] | None,
    queue: str, broker_url: str | None,
) -> None:
    """Grade every submission in INPUT: a folder, an LMS bulk-download zip or a CSV manifest.

    \b
    Re-running the same command resumes: students whose report matches their file,
    the grader version and the test cases are not graded again.
    """
    from rich.console import Console

    from grader.batch.inputs import BatchInputError
    from grader.batch.progress import progress_for
    from grader.batch.run import grade_batch

    if queue == "celery" and unsafe_no_sandbox:
        raise click.UsageError("with --queue celery the workers choose the sandbox (grade worker --backend)")
    backend = "celery" if queue == "celery" else chosen_backend(sandbox, unsafe_no_sandbox)
    try:
        executor = _celery_executor(broker_url, timeout) if queue == "celery" else None
        result = grade_batch(source, out, jobs=jobs, roster=roster, id_pattern=id_pattern,
                             backend=backend, timeout=timeout, executor=executor,
                             progress=progress_for(Console(stderr=True)), sandbox_wait=sandbox_wait)
    except BatchInputError as exc:
        raise click.UsageError(str(exc)) from exc
    except GraderError as exc:
        raise _GraderFailed(str(exc)) from exc
    except OSError as exc:
        raise _GraderFailed(f"cannot read or write {exc.filename or out}: {exc.strerror or exc}") from exc
    except KeyboardInterrupt:
        click.echo("interrupted: every finished report is kept; re-run the same command to resume", err=True)
        sys.exit(EXIT_INTERRUPTED)
    for warning in result.warnings:
        click.echo(f"warning: {warning}", err=True)
    sys.exit(_summarize(result, fail_under))


def _celery_executor(broker_url: str | None, timeout: float | None) -> Executor:
    """The executor of --queue celery: jobs keyed by this tree's test cases, sent to Redis."""
    from grader.assignment import load_assignment

    digest = load_assignment().digest
    with requires_extra("batch --queue celery", "queue"):
        import grader.jobs.celery_queue  # noqa: F401  (opened lazily: without the extra, fail here, not mid-batch)
        from grader.batch.queued import celery_executor

        return celery_executor(broker_url, digest=digest, timeout=timeout)


def _summarize(result: BatchResult, fail_under: tuple[float, bool] | None) -> int:
    """Print the class summary and return the exit code."""
    reports = result.reports
    statuses: dict[str, int] = {}
    for report in reports.values():
        statuses[report.status] = statuses.get(report.status, 0) + 1
    scores = [report.score for report in reports.values()]
    maximum = max((report.max_score for report in reports.values()), default=0.0)
    click.echo(f"{len(reports)} students: " + ", ".join(f"{count} {status}" for status, count in sorted(statuses.items())))
    if scores:
        click.echo(f"mean {statistics.fmean(scores):.1f} / {maximum:g}, median {statistics.median(scores):g}")
    click.echo(f"graded {result.graded} distinct files; kept {result.resumed} earlier reports; "
               f"{result.copied} identical to another student's")
    click.echo(f"outputs in {result.out}: reports/, gradebook.csv, junit.xml, gradescope/, summary.html")
    if statuses.get("internal_error"):
        click.echo(f"{statuses['internal_error']} reports are internal_error (the grader failed; re-run to retry)",
                   err=True)
        return EXIT_GRADER_FAILED
    if fail_under is None:
        return 0
    below = {student: report.score for student, report in reports.items()
             if report.score < threshold_points(fail_under, report.max_score)}
    if not below:
        click.echo(f"every student reached {threshold_points(fail_under, maximum):g} points")
        return 0
    click.echo(f"{len(below)} students below {threshold_points(fail_under, maximum):g} points:", err=True)
    for student, score in list(below.items())[:SHOWN_BELOW]:
        click.echo(f"  {student}: {score:g}", err=True)
    if len(below) > SHOWN_BELOW:
        click.echo(f"  … and {len(below) - SHOWN_BELOW} more (see gradebook.csv)", err=True)
    return EXIT_BELOW
