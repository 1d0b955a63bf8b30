"""`grade worker`: the click shell over `run_worker` (registered by grader.cli)."""

from __future__ import annotations

import os

import click

from grader.cli_options import chosen_backend, requires_extra, sandbox_options
from grader.jobs.base import DEFAULT_BROKER_URL


@click.command("worker")
@click.option("--broker", "broker_url", metavar="URL", envvar="GRADER_BROKER_URL", show_envvar=True,
              default=DEFAULT_BROKER_URL, show_default=True, help="Redis URL of the task queue.")
@click.option("--result-backend", "result_backend_url", metavar="URL", envvar="GRADER_RESULT_BACKEND_URL",
              show_envvar=True, help="Redis URL for results [default: the broker].")
@click.option("--concurrency", "-c", type=click.IntRange(min=1), default=os.cpu_count() or 1, show_default=True,
              help="Jobs graded at once (worker processes).")
@sandbox_options
@click.option("--queue", "queue_name", metavar="NAME", envvar="GRADER_QUEUE_NAME", show_envvar=True,
              default="grader", show_default=True, help="Celery queue to consume.")
@click.option("--name", metavar="NAME", help="Worker name in logs and results [default: grader@<host name>].")
@click.option("--loglevel", type=click.Choice(["DEBUG", "INFO", "WARNING", "ERROR"], case_sensitive=False),
              default="INFO", show_default=True)
def worker_command(
    broker_url: str, result_backend_url: str | None, concurrency: int, sandbox: str, unsafe_no_sandbox: bool,
    queue_name: str, name: str | None, loglevel: str,
) -> None:
    """Grade jobs from a Redis queue (Celery) for `grade serve` and `grade batch --queue celery`.

    \b
    Other settings come from GRADER_* variables (docs/deployment.md): GRADER_VISIBILITY_TIMEOUT_SECONDS,
    GRADER_GRADE_TIMEOUT_CAP_SECONDS, GRADER_TASK_MAX_ATTEMPTS, GRADER_RESULT_EXPIRES_SECONDS,
    GRADER_GRADE_BACKEND (GRADER_UNSAFE_NO_SANDBOX=1 is needed for 'process').
    """
    from pydantic import ValidationError

    from grader.errors import GraderError

    with requires_extra("worker", "queue"):
        from grader.jobs.settings import WorkerSettings
        from grader.jobs.worker import run_worker

    overrides: dict[str, object] = {"broker_url": broker_url, "queue_name": queue_name}
    if unsafe_no_sandbox or sandbox != "docker":
        overrides["grade_backend"] = chosen_backend(sandbox, unsafe_no_sandbox)
        overrides["unsafe_no_sandbox"] = unsafe_no_sandbox
    if result_backend_url:
        overrides["result_backend_url"] = result_backend_url
    try:
        settings = WorkerSettings(**overrides)
    except ValidationError as exc:
        raise click.UsageError(f"invalid queue settings: {exc}") from exc
    try:
        run_worker(settings, concurrency=concurrency, name=name, loglevel=loglevel.upper())
    except GraderError as exc:
        raise click.ClickException(str(exc)) from exc
