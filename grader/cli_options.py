"""Options shared by the commands that grade: where submissions run, and the unsafe escape hatch."""

from __future__ import annotations

from typing import Callable, TypeVar

import click

from grader.sandbox import BACKENDS, UNSANDBOXED

F = TypeVar("F", bound=Callable[..., object])
UNSAFE_BACKEND = UNSANDBOXED
UNSAFE_WARNING = (
    "WARNING: --unsafe-no-sandbox runs the submission as a plain process on this machine, "
    "with your files, network and user. Use it only for code you trust."
)


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
