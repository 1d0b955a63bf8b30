"""The scale-out queue: grading tasks on Celery workers (`grade worker`) through Redis.

Results come back through the Redis result backend under the job's key; this side polls
for them in batches (one MGET per poll), so no result is missed if the sender restarts:
a job submitted again whose result is already stored is answered from the store.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Collection, Iterator
from typing import Any

from kombu.exceptions import OperationalError
from redis.exceptions import RedisError

from grader.jobs.base import Job, Outcome, QueueUnavailable, job_payload
from grader.jobs.settings import QueueSettings
from grader.jobs.tasks import ATTEMPTS_PREFIX, OUTAGE_KEY, TASK_NAME, make_app

POLL_SECONDS = 0.1
READY_STATES = ("SUCCESS", "FAILURE")


class CeleryQueue:
    """Sends jobs as `grader.grade` tasks (task id = job key) and collects their results."""

    def __init__(self, settings: QueueSettings) -> None:
        self._settings = settings
        self._app = make_app(settings)
        self._backend = self._app.backend
        self._pending: set[str] = set()
        self._ready: dict[str, Outcome] = {}

    def submit(self, job: Job) -> None:
        """Send the job, unless its report is already stored; sending a pending key again re-sends it.

        A second message for one key costs at most a second run: the task returns the stored
        report when the first run has finished (and the first stored report is the one kept).
        """
        with self._reachable():
            self._send(job)

    def _send(self, job: Job) -> None:
        stored = self._backend.get_task_meta(job.key)
        if stored.get("status") in READY_STATES:
            outcome = _outcome(job.key, stored)
            if outcome.report is not None:
                self._pending.discard(job.key)
                self._ready[job.key] = outcome
                return
            # It ended without a report before: submitting it again is a retry, with fresh attempts.
            self._backend.forget(job.key)
            self._backend.client.delete(ATTEMPTS_PREFIX + job.key)
        self._app.send_task(TASK_NAME, args=[job_payload(job)], task_id=job.key, queue=self._settings.queue_name)
        self._pending.add(job.key)

    def finished(self, timeout: float) -> list[Outcome]:
        deadline = time.monotonic() + timeout
        while True:
            with self._reachable():
                self._collect()
            if self._ready or time.monotonic() >= deadline:
                outcomes, self._ready = list(self._ready.values()), {}
                return outcomes
            time.sleep(min(POLL_SECONDS, max(0.0, deadline - time.monotonic())))

    def held(self, keys: Collection[str]) -> set[str]:
        """While any worker waits out a sandbox outage, every job still out is held, not lost:
        its task waits on a worker's gate or is back in the queue, uncounted, until the sandbox answers."""
        with self._reachable():
            down = self._backend.client.exists(OUTAGE_KEY)
        return self._pending.intersection(keys) if down else set()

    def outage(self) -> str | None:
        """None: the workers watch their own sandboxes, and a job sent during an outage waits in Redis."""
        return None

    def close(self) -> None:
        self._app.close()

    @contextlib.contextmanager
    def _reachable(self) -> Iterator[None]:
        """Turn a broker or result store that does not answer into one clear error."""
        try:
            yield
        except (OperationalError, RedisError, OSError) as error:
            raise QueueUnavailable(
                f"the Redis queue at {_safe(self._settings.broker_url)} does not answer: {error}"
            ) from error

    def _collect(self) -> None:
        """Move every pending job whose result is stored to the ready list."""
        if not self._pending:
            return
        keys = sorted(self._pending)
        raw = self._backend.client.mget([self._backend.get_key_for_task(key) for key in keys])
        for key, value in zip(keys, raw):
            if value is None:
                continue
            meta = self._backend.decode_result(value)
            if meta.get("status") in READY_STATES:
                self._pending.discard(key)
                self._ready[key] = _outcome(key, meta)


def _outcome(key: str, meta: dict[str, Any]) -> Outcome:
    """The outcome a stored task result stands for; a failed task (a grader bug, a time limit) is an error."""
    if meta["status"] == "SUCCESS":
        result = meta["result"]
        return Outcome(key, result.get("report"), result.get("error", ""), result.get("worker", ""))
    error = meta.get("result")
    return Outcome(key, None, f"the grading task failed: {type(error).__name__}: {error}")


def _safe(url: str) -> str:
    """A Redis URL without its password, for messages."""
    scheme, _, rest = url.partition("://")
    return f"{scheme}://{rest.rpartition('@')[2]}"
