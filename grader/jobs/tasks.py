"""The Celery app and its one task, `grader.grade`: grade a submission, return the report as JSON.

Delivery is at least once (late acks, requeue when a worker dies), so the task is idempotent
by its task id, which is the job's key:
- a job whose result is already stored returns that result without grading again (Celery's
  Redis backend never overwrites a SUCCESS, so the first stored report is the one everybody sees);
- every run of a job counts in Redis (`grader:attempts:<key>`); a job that keeps crashing or
  killing its worker, or that fails `task_max_attempts` times, ends as an error outcome (the
  caller records `internal_error`) instead of being redelivered forever;
- a sandbox outage is not an attempt: the task waits on this process's sandbox gate for up to
  `sandbox_wait_seconds`, then puts itself back on the queue (a retry that is not counted), so
  grading resumes by itself when the sandbox answers again. While it waits it keeps a mark in
  Redis (`grader:sandbox-outage`), so the service keeps the claims of the jobs it sent instead of
  sending them again and spending their attempts (grader/service/dispatch.py).
"""

from __future__ import annotations

import logging
import math
from typing import Any

from celery import Celery, Task

from grader.errors import SandboxOutage
from grader.jobs.base import payload_job
from grader.jobs.grading import grade_job, load_grade_fn
from grader.jobs.settings import QueueSettings
from grader.sandbox.health import process_gate

log = logging.getLogger(__name__)

TASK_NAME = "grader.grade"
ATTEMPTS_PREFIX = "grader:attempts:"
OUTAGE_KEY = "grader:sandbox-outage"
"""Set (to why) by every worker waiting out a sandbox outage; it expires three sandbox waits after the last."""
OUTAGE_REQUEUE_SECONDS = 1.0
"""Countdown of a task put back during an outage: short, well inside the visibility timeout."""


def celery_config(settings: QueueSettings) -> dict[str, Any]:
    """The Celery settings every process of a deployment shares (senders and workers)."""
    return {
        # JSON only: a task message is data from the network, and pickle would run code on load.
        "task_serializer": "json",
        "result_serializer": "json",
        "accept_content": ["json"],
        "result_accept_content": ["json"],
        # Ack after the task ran, requeue when the worker process dies: a job is never lost with a worker.
        "task_acks_late": True,
        "task_reject_on_worker_lost": True,
        # One reserved task per worker process, so a dying worker takes at most its running jobs down.
        "worker_prefetch_multiplier": 1,
        "task_track_started": True,
        "task_default_queue": settings.queue_name,
        "task_time_limit": settings.time_limit_seconds,
        "broker_transport_options": {
            "visibility_timeout": settings.visibility_timeout_seconds,
            "unacked_restore_interval": settings.restore_interval_seconds,
            # Sweep on every interval: kombu's default scans only every 10th, 100 s apart.
            "unacked_restore_throttle": 1,
        },
        "result_expires": settings.result_expires_seconds,
        "broker_connection_retry_on_startup": True,
        "worker_cancel_long_running_tasks_on_connection_loss": True,
        "worker_hijack_root_logger": False,
    }


def make_app(settings: QueueSettings, *, backend: str = "docker") -> Celery:
    """A Celery app for `settings`; `backend` is the sandbox its workers grade in."""
    app = Celery("grader", broker=settings.broker_url, backend=settings.results_url, set_as_current=False)
    app.conf.update(celery_config(settings))

    @app.task(name=TASK_NAME, bind=True, max_retries=None)
    def grade(task: Task, payload: dict[str, Any]) -> dict[str, Any]:
        return run_grade_task(task, payload, settings, backend)

    return app


def envelope(report: dict[str, Any] | None, error: str, worker: str) -> dict[str, Any]:
    """What the task returns: the report, or why there is none, and who graded it."""
    return {"report": report, "error": error, "worker": worker}


def run_grade_task(task: Task, payload: dict[str, Any], settings: QueueSettings, backend: str) -> dict[str, Any]:
    """The body of `grader.grade` (see the module docstring for the idempotency rules)."""
    key = task.request.id
    worker = task.request.hostname or ""
    stored = task.backend.get_task_meta(key)
    if stored.get("status") == "SUCCESS":
        log.info("job %s was already graded; returning the stored report", key)
        return stored["result"]
    gate = process_gate(backend)
    if not gate.state.up:
        _mark_outage(task, gate.state.reason, settings)
    if not gate.wait_until_up(timeout=settings.task_sandbox_wait_seconds):
        _mark_outage(task, gate.state.reason, settings)
        raise task.retry(countdown=OUTAGE_REQUEUE_SECONDS)
    attempt = _count_attempt(task, key, settings.result_expires_seconds)
    if attempt > settings.task_max_attempts:
        log.error("job %s started %d times without finishing; giving up", key, attempt - 1)
        return envelope(None, f"grading was interrupted {attempt - 1} times (the worker crashed or was killed)", worker)
    try:
        job = payload_job(key, payload)
    except (KeyError, TypeError, ValueError) as error:
        return envelope(None, f"malformed task payload: {type(error).__name__}: {error}", worker)
    log.info("grading job %s (attempt %d) on %s", key, attempt, worker)
    try:
        report = grade_job(job, load_grade_fn(settings.grade_function), backend,
                           timeout_cap=settings.grade_timeout_cap_seconds)
    except SandboxOutage as error:
        gate.outage(error)
        _mark_outage(task, str(error), settings)
        _uncount_attempt(task, key)
        raise task.retry(countdown=OUTAGE_REQUEUE_SECONDS) from None
    except Exception as error:
        if attempt < settings.task_max_attempts:
            log.warning("grading job %s failed (attempt %d), retrying: %s", key, attempt, error)
            raise task.retry(exc=error, countdown=settings.task_retry_backoff_seconds * 2 ** (attempt - 1))
        log.exception("grading job %s failed %d times", key, attempt)
        return envelope(None, f"the grader failed {attempt} times: {type(error).__name__}: {error}", worker)
    return envelope(report, "", worker)


def _count_attempt(task: Task, key: str, expires: int) -> int:
    """Count one more run of `key` in Redis (shared by every worker) and return the count."""
    client = task.backend.client
    name = ATTEMPTS_PREFIX + key
    with client.pipeline() as pipe:
        attempt, _ = pipe.incr(name).expire(name, expires).execute()
    return int(attempt)


def _mark_outage(task: Task, reason: str, settings: QueueSettings) -> None:
    """Tell senders the sandbox is down here: outlives this wait and the requeued task's next one."""
    task.backend.client.set(OUTAGE_KEY, reason or "the sandbox does not answer",
                            ex=math.ceil(3 * settings.task_sandbox_wait_seconds + OUTAGE_REQUEUE_SECONDS))


def _uncount_attempt(task: Task, key: str) -> None:
    """Take back the run that a sandbox outage interrupted: it says nothing about the job."""
    task.backend.client.decr(ATTEMPTS_PREFIX + key)
