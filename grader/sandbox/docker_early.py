"""`grade FILE` starts its sandbox container first, before numpy, pydantic, pytest or the Docker SDK load.

`start_early` creates, attaches and starts the container over the Engine API socket
(grader.sandbox.engine_api) with the hardened settings of every sandbox container
(`container_config`), and writes the bundle at once when the case part is cached
(grader.bundle_cache), all in a background thread while the grading code loads. The engine
then grades as usual with the returned `EarlyRun` as its backend: `run` keeps the started
container only when it was given exactly the engine's own bundle under the engine's limits;
otherwise (or when the start failed) it removes it, rewrites the cache and runs the engine's
bundle in a fresh container of the SDK backend, which reports an unreachable daemon or a
missing image as every other path does.
"""

from __future__ import annotations

import atexit
import signal
import socket
import threading
import time
import uuid

from grader import bundle_cache
from grader.sandbox.base import Limits, RawRun
from grader.sandbox.docker_config import (
    CONTAINER_PREFIX,
    LABEL,
    RUNNER_COMMAND,
    container_config,
    create_body,
    image_tag,
    stale_containers,
)
from grader.sandbox.docker_stream import _exchange, _shutdown_write
from grader.sandbox.engine_api import Engine, EngineError, socket_path
from grader.sandbox.errors import DaemonUnreachable, ImageMissing


class EarlyRun:
    """A sandbox container started for one submission, waiting for the engine to confirm its bundle."""

    name = "docker"

    def __init__(self, engine: Engine, kind: str, limits: Limits, speculated: bytes | None) -> None:
        self._engine = engine
        self._kind = kind
        self.limits = limits
        self._speculated = speculated
        self._sent = 0
        self._sock: socket.socket | None = None
        self._started = 0.0
        self.container = f"{CONTAINER_PREFIX}{uuid.uuid4().hex}"
        self._live = False
        self._starting: threading.Thread | None = None
        self._start_failed = False
        self._removing: threading.Thread | None = None

    def begin(self, image: str) -> None:
        """Start the container in the background: the grading code loads meanwhile."""
        # Named before it exists, and removed on exit: a create that fails half-way leaves nothing.
        self._live = True
        atexit.register(self.close)
        if threading.current_thread() is threading.main_thread() and signal.getsignal(signal.SIGTERM) == signal.SIG_DFL:
            signal.signal(signal.SIGTERM, _exit_on_signal)
        self._starting = threading.Thread(target=self._start, args=(image,), name="sandbox-start", daemon=True)
        self._starting.start()

    def _start(self, image: str) -> None:
        """Create, attach, start, and write what the socket takes of the speculated bundle; a failure
        is only remembered: `run` then grades in a fresh container of the SDK backend."""
        try:
            self._create_and_start(image)
        except Exception:  # noqa: BLE001 (whatever went wrong, the fresh container of `run` is the answer)
            self._start_failed = True
            if self._sock is not None:
                self._sock.close()
                self._sock = None

    def _create_and_start(self, image: str) -> None:
        self._engine.create(self.container, create_body(container_config(image, RUNNER_COMMAND, self.limits)))
        self._sock = self._engine.attach(self.container)
        self._engine.start(self.container)
        self._started = time.monotonic()
        if self._speculated is not None:
            self._sock.setblocking(False)
            try:
                while self._sent < len(self._speculated):
                    self._sent += self._sock.send(self._speculated[self._sent : self._sent + 65536])
            except (BlockingIOError, InterruptedError):
                pass
            if self._sent == len(self._speculated):
                _shutdown_write(self._sock)

    def run(self, bundle: bytes, limits: Limits) -> RawRun:
        """Finish the started run if it was given `bundle` under `limits`; otherwise run `bundle` afresh."""
        self.wait_started()
        sock = None if self._start_failed else self._sock
        speculated = self._speculated
        confirmed = sock is not None and limits == self.limits and (
            speculated is None or bundle_cache.same_bundle(speculated, bundle)
        )
        if speculated is None or not confirmed:
            bundle_cache.store(bundle, self._kind, limits)
        if not confirmed:
            self.close()
            from grader.sandbox.docker import DockerBackend

            return DockerBackend().run(bundle, limits)
        assert sock is not None
        if speculated is None:
            # The runner has waited for its input until now: its time starts with the bundle.
            self._started = time.monotonic()
        rest = bundle if speculated is None else speculated[self._sent :]
        deadline = self._started + limits.wall_seconds
        try:
            try:
                streams = _exchange(sock, rest, deadline, limits.stdout_bytes)
            finally:
                sock.close()
                self._sock = None
            exit_code: int | None = None
            memory_exceeded = False
            if streams.ended:
                # A small floor: output ended, so the exit is normally a few milliseconds away.
                exit_code = self._engine.wait(self.container, max(deadline - time.monotonic(), 0.5))
                streams.timed_out = exit_code is None
                # Only a failed run can have been OOM-killed; skip the round trip otherwise.
                if exit_code not in (None, 0):
                    memory_exceeded = self._engine.oom_killed(self.container)
        except (OSError, EngineError) as exc:
            self.close()
            raise DaemonUnreachable(f"Docker failed during a sandbox run: {exc}") from exc
        except BaseException:
            self.close()
            raise
        # Removed while the engine scores, with the containers of dead graders; close() waits for it.
        self._removing = threading.Thread(target=self._remove_with_stale, name="sandbox-removal", daemon=True)
        self._removing.start()
        return streams.run(exit_code=exit_code, memory_exceeded=memory_exceeded,
                           duration=time.monotonic() - self._started)

    def close(self) -> None:
        """Remove the container (if it still exists); the run can no longer be used."""
        self.wait_started()
        if self._sock is not None:
            self._sock.close()
            self._sock = None
        if self._removing is not None and self._removing is not threading.current_thread():
            self._removing.join()
        self._remove()

    def wait_started(self) -> None:
        """Wait until the background start has finished (or failed)."""
        if self._starting is not None and self._starting is not threading.current_thread():
            self._starting.join()

    def _remove_with_stale(self) -> None:
        self._remove()
        try:
            for container in stale_containers(self._engine.containers(LABEL), time.time()):
                self._engine.remove(container)
        except (OSError, EngineError, ValueError):
            pass  # reaping is best effort: the next grader process tries again

    def _remove(self) -> None:
        if self._live and self._engine.remove(self.container):
            self._live = False
            atexit.unregister(self.close)


def start_early(kind: str, source: bytes, limits: Limits) -> EarlyRun | None:
    """A sandbox container being started for a submission, or None when Docker is not on a local socket
    or the image cannot be named."""
    path = socket_path()
    if path is None:
        return None
    try:
        image = image_tag()
    except ImageMissing:
        return None
    case_part = bundle_cache.load(kind, limits)
    speculated = bundle_cache.add_submission(case_part, source) if case_part is not None else None
    early = EarlyRun(Engine(path), kind, limits, speculated)
    early.begin(image)
    return early


def _exit_on_signal(signum: int, _frame: object) -> None:
    """Turn a termination signal into SystemExit, so the container is removed on the way out."""
    raise SystemExit(128 + signum)
