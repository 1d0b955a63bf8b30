"""The `grade` command: thin click wrappers over the package's functions.

`grade SUBMISSION` grades one file (the default command); other verbs are
subcommands (`grade batch`, `grade serve`, ...). Every failure a user can cause ends as a
message on stderr and an exit code (listed in `grade --help`), never as a traceback.
"""

from __future__ import annotations

import importlib
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from grader.cli_options import chosen_backend, requires_extra, sandbox_options
from grader.errors import GraderError
from grader.sandbox import DEFAULT_TIMEOUT

if TYPE_CHECKING:
    from grader.sandbox.docker_early import EarlyRun
    from grader.submission import Submission


class _DefaultGroup(click.Group):
    """A group whose first argument, when it is not a subcommand, is a submission to grade.

    Commands that live in other packages are imported only when used, so grading one
    file does not pay for loading the batch or queue code.
    """

    default_command = "submission"
    lazy_commands = {
        "batch": "grader.batch.command:batch_command",
        "worker": "grader.jobs.command:worker_command",
    }

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted([*super().list_commands(ctx), *self.lazy_commands])

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name in self.lazy_commands:
            module, _, attribute = self.lazy_commands[name].partition(":")
            return getattr(importlib.import_module(module), attribute)
        return super().get_command(ctx, name)

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        known = (*self.commands, *self.lazy_commands, "--help", "-h", "--version")
        if args and args[0] not in known:
            args = [self.default_command, *args]
        return super().parse_args(ctx, args)

    def format_usage(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        formatter.write_usage("grade", "SUBMISSION [OPTIONS] | grade COMMAND [ARGS]...")

    def invoke(self, ctx: click.Context) -> object:
        """Run the command; what the grader could not do ends as a message and exit code 1."""
        try:
            return super().invoke(ctx)
        except GraderError as exc:
            raise click.ClickException(str(exc)) from exc
        except OSError as exc:
            # A path the user gave that cannot be read or written (permissions, a file where a folder should be).
            where = f" {exc.filename}" if exc.filename else ""
            raise click.ClickException(f"cannot use{where}: {exc.strerror or exc}") from exc


@click.group(cls=_DefaultGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="grader")
def main() -> None:
    """Grade Regularization assignment submissions in a sandbox.

    \b
    grade SUBMISSION        grade one .py or .ipynb file and write its JSON report
    grade COMMAND ...       see the commands below

    \b
    Exit codes (`grade batch --help` lists its own):
      0  the report was written, whatever the score and status
      1  the grader failed: it could not run (no sandbox, broken case files,
         a database another server holds, a path it cannot write), or the
         report's status is internal_error; the message says why
      2  usage: a bad option or argument, a missing file, invalid settings
    """


@main.command("submission")
@click.argument("submission", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--report", "report_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Where to write the JSON report [default: ./<name>.report.json].")
@click.option("--json", "as_json", is_flag=True, help="Print the JSON report instead of the summary.")
@sandbox_options
@click.option("--timeout", type=click.FloatRange(min=1, max=600), default=None,
              help=f"Wall-clock limit for the whole run, in seconds [default: {DEFAULT_TIMEOUT:g}].")
def grade_command(
    submission: Path, report_path: Path | None, as_json: bool, sandbox: str, unsafe_no_sandbox: bool,
    timeout: float | None,
) -> None:
    """Grade SUBMISSION and write its JSON report."""
    from grader.submission import Submission

    backend = chosen_backend(sandbox, unsafe_no_sandbox)
    handed_in = Submission.from_path(submission)
    # Before the grading code loads (numpy, pydantic, pytest, the Docker SDK): the sandbox starts meanwhile.
    early = _early_run(handed_in, backend, timeout)
    if early is not None:
        # Once the report is out: the exited container is removed while it is written and shown.
        click.get_current_context().call_on_close(early.close)

    from grader.engine import grade
    from grader.report import write_report

    if not as_json:
        from grader.summary import render  # rich loads while the sandbox starts, not after it
    report = grade(handed_in, backend=early or backend, timeout=timeout)
    path = report_path or Path(f"{submission.stem}.report.json")
    try:
        write_report(report, path)
    except OSError as exc:
        raise click.ClickException(f"cannot write the report to {path}: {exc.strerror or exc}") from exc
    if as_json:
        click.echo(report.to_json(), nl=False)
    else:
        from rich.console import Console

        console = Console()
        render(report, console)
        console.print(f"[dim]report: {path}[/]")
    if report.status == "internal_error":
        sys.exit(1)


def _early_run(submission: Submission, backend: str, timeout: float | None) -> EarlyRun | None:
    """The Docker sandbox container, started for `submission` already, or None (then grading starts it).

    The `grade` script may have started it before parsing the command line (grader.launch);
    it is used only on the Docker backend, and its run checks that it got the bundle and limits asked for.
    """
    from grader.sandbox.base import Limits
    from grader.sandbox.docker_early import EarlyRun, start_early
    from grader.submission import Rejected

    root = click.get_current_context().find_root()
    speculated, root.obj = root.obj, None
    if isinstance(speculated, EarlyRun):
        if backend == "docker":
            return speculated
        speculated.close()
    if backend != "docker":
        return None
    try:
        submission.check()
    except Rejected:
        return None
    return start_early(submission.kind, submission.content, Limits() if timeout is None else Limits(wall_seconds=timeout))


@main.command("serve")
@click.option("--config", "config_file", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="TOML configuration file (see docs/service.md); GRADER_* variables also apply.")
@click.option("--host", help="Address to listen on [default: 127.0.0.1].")
@click.option("--port", type=click.IntRange(1, 65535), help="Port to listen on [default: 8000].")
@click.option("--database", type=click.Path(dir_okay=False, path_type=Path), help="SQLite database file.")
@click.option("--workers", type=click.IntRange(min=1), help="Grading workers in this process.")
@sandbox_options
@click.option("--queue", type=click.Choice(["embedded", "celery"]),
              help="Grade in this process (embedded) or on `grade worker` machines [default: embedded].")
@click.option("--broker", "broker_url", metavar="URL", help="Redis URL of the Celery broker (with --queue celery).")
def serve_command(config_file: Path | None, sandbox: str, unsafe_no_sandbox: bool, **options: object) -> None:
    """Run the LMS webhook service (FastAPI on uvicorn) with its grading workers."""
    import tomllib

    from pydantic import ValidationError

    with requires_extra("serve"):
        from grader.service import load_settings, serve

    if unsafe_no_sandbox or sandbox != "docker":
        options["grade_backend"] = chosen_backend(sandbox, unsafe_no_sandbox)
        options["unsafe_no_sandbox"] = unsafe_no_sandbox
    try:
        settings = load_settings(config_file=config_file, **{k: v for k, v in options.items() if v is not None})
    except ValidationError as exc:
        raise click.UsageError(f"invalid service settings: {exc}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise click.UsageError(f"the configuration file is not valid TOML: {exc}") from exc
    with requires_extra("serve", "queue"):
        serve(settings)
