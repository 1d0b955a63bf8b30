"""Options shared by the commands that grade: where submissions run, and the unsafe escape hatch."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Callable, TypeVar

import click

from grader.sandbox import BACKENDS, UNSANDBOXED

F = TypeVar("F", bound=Callable[..., object])
UNSAFE_BACKEND = UNSANDBOXED
UNSAFE_WARNING = (
    "WARNING: --unsafe-no-sandbox runs the submission as a plain process on this machine, "
    "with your files, network and user. Use it only for code you trust."
)

_EXTRA_OF_MODULE = {
    "fastapi": "service", "starlette": "service", "uvicorn": "service", "multipart": "service",
    "python_multipart": "service", "httpx": "service", "jwt": "service", "jinja2": "service",
    "prometheus_client": "service", "standardwebhooks": "service",
    "celery": "queue", "kombu": "queue", "redis": "queue", "pydantic_settings": "service",
}
"""Top-level modules of the optional extras (pyproject.toml); grading one file needs none of them."""


class MissingExtra(click.ClickException):
    """A command whose optional dependencies are not installed: a usage problem, so exit code 2."""

    exit_code = 2


@contextlib.contextmanager
def requires_extra(command: str, default_extra: str = "service") -> Iterator[None]:
    """Turn an import of a missing optional dependency into a message naming the extra to install.

    `pydantic_settings` belongs to both extras; it is reported as `default_extra`, the
    command's own extra.
    """
    try:
        yield
    except ModuleNotFoundError as exc:
        module = (exc.name or "").partition(".")[0]
        extra = default_extra if module == "pydantic_settings" else _EXTRA_OF_MODULE.get(module)
        if extra is None:
            raise
        raise MissingExtra(
            f"`grade {command}` needs the optional dependencies of grader[{extra}] ({module} is not installed): "
            f"pip install 'grader[{extra}]'"
        ) from exc


def sandbox_options(function: F) -> F:
    """Add --sandbox (the real sandboxes) and --unsafe-no-sandbox to a command."""
    function = click.option(
        "--unsafe-no-sandbox", is_flag=True,
        help="Run submissions as plain local processes (NOT a sandbox; trusted code only).",
    )(function)
    return click.option(
        "--sandbox", type=click.Choice([name for name in BACKENDS if name != UNSAFE_BACKEND]),
        default="docker", show_default=True, help="Where submissions run.",
    )(function)


def chosen_backend(sandbox: str, unsafe_no_sandbox: bool) -> str:
    """The backend the options select; warns loudly on stderr when it is not a sandbox."""
    if unsafe_no_sandbox:
        click.echo(UNSAFE_WARNING, err=True)
        return UNSAFE_BACKEND
    return sandbox
