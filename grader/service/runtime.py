"""The long-lived parts of a running service: database, workers, deliveries, and their lifecycle."""

from __future__ import annotations

import dataclasses
import fcntl
import logging
import os
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

import httpx

from grader.errors import DatabaseInUse, DatabaseUnusable
from grader.jobs.grading import GradeFn, load_grade_fn
from grader.jobs.processes import GradingProcesses
from grader.sandbox import UNSANDBOXED, UNSANDBOXED_WARNING
from grader.sandbox.health import SandboxGate, probe
from grader.service import egress, lti
from grader.service.delivery import Dispatcher
from grader.service.dispatch import QueueDispatcher
from grader.service.lti_keys import signing_key
from grader.service.metrics import Metrics
from grader.service.ratelimit import RateLimiter, ResubmissionLimit
from grader.service.retry import RetryPolicy
from grader.service.settings import ServiceSettings
from grader.service.signing import parse_secret
from grader.service.store import Store

log = logging.getLogger(__name__)

_STOP_WAIT_SECONDS = 5.0


@dataclasses.dataclass(frozen=True)
class TokenScope:
    """Whose jobs a bearer token reads: one client's, or every client's (`client` None, an admin token)."""

    client: str | None


class Runtime:
    """Everything `create_app` starts on startup and stops on shutdown."""

    def __init__(
        self, settings: ServiceSettings, grade_fn: GradeFn | None = None, clock: Callable[[], float] = time.time
    ) -> None:
        self.settings = settings
        self.clock = clock
        self.metrics = Metrics()
        self.client_keys = {name: parse_secret(c.secret.get_secret_value()) for name, c in settings.clients.items()}
        self.tokens = _token_scopes(settings)
        rate = settings.rate_limit_per_minute / 60.0
        self.client_limiter = RateLimiter(rate, settings.rate_limit_burst, time.monotonic)
        # Apart from the clients' buckets, so a flood from many addresses cannot crowd a client out.
        self.address_limiter = RateLimiter(rate, settings.rate_limit_burst, time.monotonic)
        self.resubmission_limit = (
            ResubmissionLimit(settings.resubmission_limit, settings.resubmission_window_seconds)
            if settings.resubmission_limit
            else None
        )
        # Loaded here even when worker processes grade: a wrong name fails the start, and the modules
        # are in memory before `serve` freezes the start-up heap.
        self._grade_fn = grade_fn or load_grade_fn(settings.grade_function)
        self._processes = (
            GradingProcesses(settings.grade_function, settings.workers)
            if grade_fn is None and settings.grading_processes and settings.queue == "embedded"
            else None
        )
        self._lock_file: IO[str] | None = None
        self._http: httpx.Client | None = None
        self.store: Store
        self.pool: QueueDispatcher
        self.dispatcher: Dispatcher
        self.gate: SandboxGate | None = None
        """The sandbox's health, when this process grades (None with Celery workers: they watch their own)."""

    def start(self) -> None:
        """Own the database, re-queue what a crashed predecessor left running, start the threads."""
        settings = self.settings
        if settings.grade_backend == UNSANDBOXED and settings.queue == "embedded":
            log.warning(UNSANDBOXED_WARNING)
        self._lock_file = _lock(settings.database)
        self.store = Store(settings.database)
        requeued = self.store.recover(self.clock())
        if requeued:
            log.warning("re-queued %d job(s) left running by a previous process", requeued)
        self._http = egress.guarded_client(timeout=settings.delivery_timeout_seconds)
        self.dispatcher = Dispatcher(
            self.store,
            policy=RetryPolicy(
                settings.delivery_max_attempts, settings.delivery_backoff_base_seconds,
                settings.delivery_backoff_cap_seconds,
            ),
            callback_keys={
                name: parse_secret(client.callback_secret.get_secret_value())
                for name, client in settings.clients.items()
                if client.callback_secret is not None
            },
            callback_origins={name: client.callback_origins for name, client in settings.clients.items()},
            platforms=_platforms(settings),
            http=self._http,
            metrics=self.metrics,
            concurrency=settings.delivery_concurrency,
            poll_seconds=settings.poll_interval_seconds,
            clock=self.clock,
        )
        self.pool = self._grading()
        if self.gate is not None:
            # A sandbox that is down at start-up only delays grading: the workers wait on the gate.
            self.gate.check_now()
        self.dispatcher.start()
        self.pool.start()

    def _grading(self) -> QueueDispatcher:
        """A dispatcher to the embedded pool (threads here), or to Celery workers when `queue = 'celery'`."""
        settings = self.settings
        if settings.queue == "celery":
            from grader.jobs import open_queue

            return QueueDispatcher(
                self.store, open_queue("celery", broker_url=settings.broker_url),
                timeout=settings.grade_timeout_seconds, lease_seconds=settings.queue_redispatch_seconds,
                max_attempts=settings.max_job_attempts, max_in_flight=settings.queue_max_in_flight,
                poll_seconds=settings.poll_interval_seconds, metrics=self.metrics,
                on_complete=self.dispatcher.wake, clock=self.clock,
            )
        from grader.jobs import EmbeddedQueue

        backend = settings.grade_backend
        self.gate = SandboxGate(lambda: probe(backend), on_down=lambda: self.metrics.inc("grader_sandbox_outages_total"))
        pool = EmbeddedQueue(
            settings.workers, backend, self._processes or self._grade_fn, gate=self.gate,
            max_attempts=settings.max_job_attempts,
            on_requeue=lambda: self.metrics.inc("grader_jobs_requeued_total", reason="sandbox_outage"),
            # The dispatcher records each outcome at once instead of at its next poll.
            on_outcome=lambda: self.pool.wake(),
        )
        # One job claimed per thread: a job waiting in this process would spend an attempt if it crashed.
        return QueueDispatcher(
            self.store, pool, timeout=settings.grade_timeout_seconds, lease_seconds=settings.job_lease_seconds,
            max_attempts=settings.max_job_attempts, max_in_flight=settings.workers,
            poll_seconds=settings.poll_interval_seconds, metrics=self.metrics,
            on_complete=self.dispatcher.wake, clock=self.clock,
        )

    @property
    def http(self) -> httpx.Client:
        """The guarded client of every outbound request (see egress); exists once started."""
        if self._http is None:
            raise RuntimeError("the runtime has not started")
        return self._http

    def sandbox_health(self) -> dict[str, Any]:
        """The sandbox's state for /healthz and /readyz: up, down (since when, why) or remote."""
        if self.gate is None:
            return {"state": "remote", "detail": "graded by Celery workers; see their logs"}
        state = self.gate.state
        if state.up:
            return {"state": "up", "outages": state.outages}
        # Why it is down goes to the log only: these endpoints answer anyone.
        return {"state": "down", "since": state.down_since, "outages": state.outages}

    def stop(self) -> None:
        """Stop the threads and release the database; unfinished work resumes on the next start."""
        self.pool.stop(_STOP_WAIT_SECONDS)
        if self._processes is not None:
            self._processes.close()
        self.dispatcher.stop(_STOP_WAIT_SECONDS)
        if self._http is not None:
            self._http.close()
        self.store.close()
        if self._lock_file is not None:
            self._lock_file.close()


def check_database(database: Path) -> None:
    """Raise DatabaseInUse or DatabaseUnusable now if the service could not own `database`.

    The server calls this before it starts listening: raised later, from the app's startup,
    the same error would reach the operator as a traceback in uvicorn's log.
    """
    lock_file = _lock(database)
    try:
        Store(database).close()
    except sqlite3.DatabaseError as error:
        raise DatabaseUnusable(f"{database} cannot be used as the service's database: {error}") from None
    finally:
        lock_file.close()


def _lock(database: Path) -> IO[str]:
    """Hold an exclusive lock beside the database for the life of the process.

    Startup recovery re-queues every running job, which is only right if no other process is
    grading them; the kernel drops the lock when the process dies, even by kill -9.
    """
    try:
        lock_file = open(f"{database}.lock", "a+")
    except OSError as error:
        raise DatabaseUnusable(f"cannot create {database}.lock beside the database: {error.strerror}") from None
    try:
        fcntl.flock(lock_file, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        lock_file.close()
        raise DatabaseInUse(f"another grader service is using {database}") from None
    lock_file.truncate(0)
    lock_file.write(f"{os.getpid()}\n")
    lock_file.flush()
    return lock_file


def _token_scopes(settings: ServiceSettings) -> list[tuple[bytes, TokenScope]]:
    """Every bearer token with whose jobs it reads."""
    scopes = [
        (token.get_secret_value().encode(), TokenScope(name))
        for name, client in settings.clients.items()
        for token in client.api_tokens
    ]
    return scopes + [(token.get_secret_value().encode(), TokenScope(None)) for token in settings.admin_tokens]


def _platforms(settings: ServiceSettings) -> dict[str, lti.Platform]:
    """The LTI registrations by client name, with their private keys read once."""
    platforms = {}
    for name, client in settings.clients.items():
        if client.lti is not None:
            # Always with a kid (key_id, else the key's thumbprint): a platform reading our JWKS finds the key by it.
            key = signing_key(client.lti)
            platforms[name] = lti.Platform(
                client_id=client.lti.client_id, token_url=client.lti.token_url, private_key=key.private_pem,
                key_id=key.kid, origins=tuple(client.lti.origins),
            )
    return platforms
