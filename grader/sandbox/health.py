"""Whether the sandbox answers: the one gate every grading pool waits on during an outage.

A circuit breaker. A run that raises SandboxOutage opens it (one log line); while it is open,
callers wait in `wait_until_up` while one of them at a time probes the sandbox, with pauses that
grow up to `max_pause`; the first probe that succeeds closes it (one log line) and every waiter
goes on grading. Pools never count an outage against a submission: they give the job back and
grade it again once the gate is closed.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
import time
from collections.abc import Callable

from grader.errors import SandboxOutage

log = logging.getLogger(__name__)

FIRST_PAUSE_SECONDS = 0.25
MAX_PAUSE_SECONDS = 2.0
"""Longest pause between probes: bounds how late grading resumes after the sandbox is back."""
_STOP_CHECK_SECONDS = 0.5


def probe(backend: str) -> None:
    """Raise SandboxOutage (or SandboxUnavailable) unless `backend` can run a sandbox right now."""
    if backend == "docker":
        from grader.sandbox.docker import probe as docker_probe

        docker_probe()
        return
    from grader.sandbox import get_backend

    get_backend(backend)


@dataclasses.dataclass(frozen=True)
class GateState:
    """What /healthz and the metrics show about the sandbox."""

    up: bool
    outages: int
    """Outages since the process started."""
    down_since: float | None
    """Wall-clock time (time.time) the current outage began, None while up."""
    reason: str


class SandboxGate:
    """Open while the sandbox is down; callers wait on it instead of grading into an outage."""

    def __init__(
        self,
        check: Callable[[], None],
        *,
        first_pause: float = FIRST_PAUSE_SECONDS,
        max_pause: float = MAX_PAUSE_SECONDS,
        on_down: Callable[[], None] = lambda: None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """`check` raises SandboxOutage while the sandbox is down (e.g. `lambda: probe("docker")`);
        `on_down` is called once per outage (a metrics counter)."""
        self._check = check
        self._on_down = on_down
        self._first_pause = first_pause
        self._max_pause = max_pause
        self._clock = clock
        self._cond = threading.Condition()
        self._down_at: float | None = None
        self._down_since: float | None = None
        self._reason = ""
        self._outages = 0
        self._probing = False
        self._pause = first_pause
        self._next_probe = 0.0

    @property
    def state(self) -> GateState:
        with self._cond:
            return GateState(self._down_at is None, self._outages, self._down_since, self._reason)

    def outage(self, error: SandboxOutage) -> None:
        """A run met an outage: open the gate (and log it) unless it is open already."""
        with self._cond:
            if self._down_at is not None:
                return
            self._down_at, self._down_since, self._reason = self._clock(), time.time(), str(error)
            self._outages += 1
            self._pause = self._first_pause
            self._next_probe = self._down_at + self._pause
        self._on_down()
        log.warning("sandbox down: %s; grading is paused until it answers again", error)

    def check_now(self) -> bool:
        """Probe once (e.g. at start-up), opening the gate if the sandbox does not answer; True if up."""
        try:
            self._check()
        except SandboxOutage as error:
            self.outage(error)
            return False
        return True

    def wait_until_up(self, timeout: float | None = None, stop: threading.Event | None = None) -> bool:
        """Block while the gate is open, probing with backoff; False if `timeout` passed or `stop` was set."""
        deadline = None if timeout is None else self._clock() + timeout
        with self._cond:
            while self._down_at is not None:
                now = self._clock()
                if (stop is not None and stop.is_set()) or (deadline is not None and now >= deadline):
                    return False
                if not self._probing and now >= self._next_probe:
                    self._probe_unlocked()
                    continue
                pause = self._max_pause if self._probing else self._next_probe - now
                if deadline is not None:
                    pause = min(pause, deadline - now)
                if stop is not None:
                    pause = min(pause, _STOP_CHECK_SECONDS)
                self._cond.wait(max(pause, 0.0))
            return True

    def _probe_unlocked(self) -> None:
        """Probe without holding the lock (other callers wait), then close the gate or back off."""
        self._probing = True
        self._cond.release()
        try:
            self._check()
            error: Exception | None = None
        except Exception as exc:  # noqa: BLE001
            # Whatever the probe raised (an outage, or a backend that cannot start at all), the sandbox is
            # not usable yet: back off like for an outage instead of every waiting worker probing at once.
            error = exc
        finally:
            self._cond.acquire()
            self._probing = False
        if error is not None:
            self._reason = str(error)
            self._pause = min(self._pause * 2, self._max_pause)
            self._next_probe = self._clock() + self._pause
            return
        assert self._down_at is not None
        down_for = self._clock() - self._down_at
        self._down_at = self._down_since = None
        self._reason = ""
        self._cond.notify_all()
        log.warning("sandbox answers again after %.1f s; grading resumes", down_for)


_PROCESS_GATES: dict[str, SandboxGate] = {}
_PROCESS_GATES_LOCK = threading.Lock()


def process_gate(backend: str) -> SandboxGate:
    """This process's gate for `backend`, shared by every pool and task that grades in it."""
    with _PROCESS_GATES_LOCK:
        gate = _PROCESS_GATES.get(backend)
        if gate is None:
            gate = _PROCESS_GATES[backend] = SandboxGate(lambda: probe(backend))
        return gate
