"""Where grading jobs run: in this process (the zero-setup default) or on Celery workers via Redis.

`JobQueue` is the interface the webhook service and `grade batch` dispatch through;
`open_queue` builds the implementation a setting names. Celery is only imported when chosen.
"""

from __future__ import annotations

from grader.jobs.base import Job, JobQueue, Outcome
from grader.jobs.embedded import EmbeddedQueue

QUEUES = ("embedded", "celery")

__all__ = ["QUEUES", "EmbeddedQueue", "Job", "JobQueue", "Outcome", "open_queue"]


def open_queue(kind: str, *, workers: int = 1, backend: str = "docker", broker_url: str | None = None) -> JobQueue:
    """The queue named `kind`: `embedded` grades on `workers` threads here, `celery` sends to `broker_url`.

    For Celery, the other queue settings (result backend, visibility timeout, attempts) come from
    `GRADER_*` environment variables; the sandbox is the workers' choice, not the sender's.
    """
    if kind == "embedded":
        return EmbeddedQueue(workers, backend)
    if kind == "celery":
        from grader.jobs.celery_queue import CeleryQueue
        from grader.jobs.settings import QueueSettings

        overrides = {"broker_url": broker_url} if broker_url else {}
        return CeleryQueue(QueueSettings(**overrides))
    raise ValueError(f"unknown queue {kind!r}; choose one of {', '.join(QUEUES)}")
