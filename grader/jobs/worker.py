"""Run a Celery worker that grades `grader.grade` tasks in the chosen sandbox."""

from __future__ import annotations

import logging
import socket

from grader.jobs.settings import WorkerSettings
from grader.jobs.tasks import make_app

log = logging.getLogger(__name__)


def run_worker(
    settings: WorkerSettings,
    *,
    concurrency: int = 1,
    name: str | None = None,
    loglevel: str = "INFO",
) -> None:
    """Consume the settings' queue until stopped, `concurrency` processes each grading one job at a time
    in the settings' sandbox.

    Fails before consuming anything when the sandbox cannot run here, so a misconfigured
    machine never takes jobs only to fail them; waits (consuming nothing) while the sandbox
    is down, e.g. a Docker daemon that is restarting.
    """
    from grader.sandbox import UNSANDBOXED, UNSANDBOXED_WARNING, get_backend
    from grader.sandbox.health import process_gate

    backend = settings.grade_backend
    gate = process_gate(backend)
    if not gate.check_now():
        gate.wait_until_up()
    get_backend(backend)
    if backend == UNSANDBOXED:
        log.warning(UNSANDBOXED_WARNING)
    app = make_app(settings, backend=backend)
    app.worker_main([
        "worker",
        f"--queues={settings.queue_name}",
        f"--concurrency={concurrency}",
        f"--hostname={name or f'grader@{socket.gethostname()}'}",
        f"--loglevel={loglevel}",
        # Peers' gossip and start-up sync serve remote control and revocation, which grading does not use.
        "--without-gossip",
        "--without-mingle",
    ])
