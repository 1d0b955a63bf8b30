"""Docker sandbox backend: one fresh, locked-down, throw-away container per run.

The container has no network, a read-only root file system, a small noexec tmpfs
at /tmp as its only writable place, no capabilities, a non-root user and hard
memory, pid, CPU, file-size and open-file limits. The bundle goes in through the
attach socket; the runner's stdout comes back through it, capped in size and time.

`python -m grader.sandbox.docker tag` prints the image tag (used by `make image`);
`python -m grader.sandbox.docker reap` removes containers left by dead graders.
"""

from __future__ import annotations

import atexit
import os
import signal
import socket
import sys
import threading
import time
import uuid
from collections.abc import Sequence

import docker
import requests
import urllib3

from grader.sandbox.base import Limits, RawRun
from grader.sandbox.docker_config import (  # noqa: F401 (re-exported: the backend's settings live there)
    CONTAINER_PREFIX,
    ENVIRONMENT,
    IMAGE_NAME,
    LABEL,
    OWNER_LABEL,
    REPO_ROOT,
    RUNNER_COMMAND,
    SANDBOX_USER,
    STALE_AFTER_SECONDS,
    _owner_gone,
    container_config,
    create_body,
    image_tag,
    owner,
    stale_containers,
)
from grader.sandbox.docker_stream import DIAGNOSTICS_BYTES, _Demux, _exchange, _Streams  # noqa: F401
from grader.sandbox.errors import DaemonUnreachable, ImageMissing, SandboxOutage

_SOCKET_ERRORS = (docker.errors.DockerException, requests.exceptions.RequestException)
PROBE_TIMEOUT_SECONDS = 5.0
"""A health probe gives up after this long: a daemon that hangs is as down as one that is gone."""


def connect(timeout: float | None = None) -> docker.APIClient:
    """A low-level client for the daemon named by DOCKER_HOST (default: the local socket)."""
    options = {"timeout": timeout} if timeout is not None else {}
    try:
        client = docker.APIClient(version="auto", **options, **docker.utils.kwargs_from_env())
    except _SOCKET_ERRORS as exc:
        raise DaemonUnreachable(
            f"the Docker daemon does not answer ({exc}); start it with `scripts/install-docker.sh` "
            "(installs docker.io when needed), then build the image with `make image`"
        ) from exc
    return client


def reap_stale(client: docker.APIClient) -> int:
    """Remove sandbox containers whose grader died (crash, kill -9) or that are very old; return how many."""
    stale = stale_containers(client.containers(all=True, filters={"label": LABEL}), time.time())
    for container_id in stale:
        _remove(client, container_id)
    return len(stale)


def probe(image: str | None = None) -> None:
    """Raise DaemonUnreachable or ImageMissing unless the daemon answers and has the image; then
    remove the containers this process could not remove while it was down."""
    image = image or image_tag()
    client = connect(PROBE_TIMEOUT_SECONDS)
    try:
        client.inspect_image(image)
    except docker.errors.ImageNotFound:
        raise ImageMissing(f"the sandbox image {image} is not built for this source tree; run `make image`") from None
    except _SOCKET_ERRORS as exc:
        raise DaemonUnreachable(f"the Docker daemon does not answer ({exc})") from exc
    finally:
        client.close()
    _PROCESS.remove_stranded()


class _ProcessState:
    """What a grader process shares between its backends: one client, its live containers, the exit hooks."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._client: docker.APIClient | None = None
        self._client_for: tuple[int, str | None] = (0, None)
        self._started_pid = 0
        self._live: dict[str, docker.APIClient] = {}
        self._stranded: set[str] = set()
        """Finished runs whose container could not be removed (the daemon was down): removed once it answers."""

    def client(self) -> docker.APIClient:
        """The process's client, made on first use (and again in a forked child: sockets are not shared,
        or when DOCKER_HOST names another daemon: the grading pool's threads live as long as the process)."""
        with self._lock:
            wanted = (os.getpid(), os.environ.get("DOCKER_HOST"))
            if self._client is None or self._client_for != wanted:
                self._client, self._client_for = connect(), wanted
            return self._client

    def start(self, client: docker.APIClient) -> None:
        """Once per process: hook removal of live containers into exit and SIGTERM, reap dead graders' ones."""
        with self._lock:
            if self._started_pid == os.getpid():
                return
            self._started_pid = os.getpid()
            self._live = {}
        atexit.register(self.remove_all)
        if threading.current_thread() is threading.main_thread() and signal.getsignal(signal.SIGTERM) == signal.SIG_DFL:
            signal.signal(signal.SIGTERM, _exit_on_signal)
        reap_stale(client)

    def add(self, client: docker.APIClient, container_id: str) -> None:
        with self._lock:
            self._live[container_id] = client

    def discard(self, container_id: str) -> None:
        with self._lock:
            self._live.pop(container_id, None)
            self._stranded.discard(container_id)

    def strand(self, container_id: str) -> None:
        """Remember a finished run's container that could not be removed, to remove it later."""
        with self._lock:
            if container_id in self._live:
                self._stranded.add(container_id)

    def remove_stranded(self) -> None:
        """Remove the containers left by runs that ended while the daemon did not answer."""
        with self._lock:
            stranded = [(cid, self._live[cid]) for cid in self._stranded if cid in self._live]
        for container_id, client in stranded:
            if _remove(client, container_id):
                self.discard(container_id)

    def remove_all(self) -> None:
        """Remove every container still running (the exit hook); a failure is left to the next reaper."""
        with self._lock:
            live = list(self._live.items())
        for container_id, client in live:
            if _remove(client, container_id):
                self.discard(container_id)


def _exit_on_signal(signum: int, _frame: object) -> None:
    """Turn a termination signal into SystemExit, so running containers are removed on the way out."""
    raise SystemExit(128 + signum)


_PROCESS = _ProcessState()


def _remove(client: docker.APIClient, container_id: str) -> bool:
    """Kill (if running) and remove a container; True once it is gone."""
    try:
        client.remove_container(container_id, force=True)
    except docker.errors.NotFound:
        return True
    except docker.errors.APIError as exc:
        # 409: another remover (the reaper, the exit hook) got there first.
        return exc.status_code == 409
    except requests.exceptions.RequestException:
        return False
    return True


def _raw_socket(attached: object) -> socket.socket:
    """The real socket under what APIClient.attach_socket returns (a SocketIO for unix sockets)."""
    return getattr(attached, "_sock", attached)  # type: ignore[return-value]


class DockerBackend:
    """Runs the runner baked into the sandbox image, one new container per run."""

    name = "docker"

    def __init__(
        self,
        image: str | None = None,
        *,
        command: Sequence[str] = RUNNER_COMMAND,
        client: docker.APIClient | None = None,
    ) -> None:
        """Check the image; on the first backend of the process also reap containers of dead graders.

        `command` replaces the baked-in runner; it exists for the sandbox contract tests,
        which send probe scripts in the bundle. Grading always uses the default.
        """
        self._client = client or _PROCESS.client()
        self.image = image or image_tag()
        self._command = list(command)
        try:
            self._client.inspect_image(self.image)
        except docker.errors.ImageNotFound:
            raise ImageMissing(
                f"the sandbox image {self.image} is not built for this source tree; run `make image`"
            ) from None
        except _SOCKET_ERRORS as exc:
            raise DaemonUnreachable(f"the Docker daemon does not answer ({exc})") from exc
        _PROCESS.start(self._client)

    def run(self, bundle: bytes, limits: Limits) -> RawRun:
        """Run the command on `bundle` in a fresh container; never raises for what the code inside does.

        Raises SandboxOutage when Docker cannot be reached or used at any step: whatever the
        submission does, the daemon still answers, so a failing daemon is never the submission's.
        """
        _PROCESS.remove_stranded()
        # Named before it exists: if the daemon goes away while creating it, whether it was created
        # is unknown, and the name is how it is found and removed once the daemon answers again.
        container = f"{CONTAINER_PREFIX}{uuid.uuid4().hex}"
        _PROCESS.add(self._client, container)
        try:
            try:
                self._client.create_container_from_config(
                    create_body(container_config(self.image, self._command, limits)), name=container
                )
            except docker.errors.ImageNotFound:
                raise ImageMissing(f"the sandbox image {self.image} is gone; run `make image`") from None
            except _SOCKET_ERRORS as exc:
                raise SandboxOutage(f"Docker could not create the sandbox container: {exc}") from exc
            return self._drive(container, bundle, limits)
        except _SOCKET_ERRORS as exc:
            raise SandboxOutage(f"Docker failed during a sandbox run: {exc}") from exc
        finally:
            if _remove(self._client, container):
                _PROCESS.discard(container)
            else:
                _PROCESS.strand(container)

    def _drive(self, container_id: str, bundle: bytes, limits: Limits) -> RawRun:
        """Attach, start, exchange bytes under the deadline, then collect how the run ended."""
        # Attach before start: nothing can be written yet, so the HTTP reader under the
        # socket has buffered no stream bytes and the raw socket sees all output.
        attached = self._client.attach_socket(
            container_id, params={"stdin": 1, "stdout": 1, "stderr": 1, "stream": 1}
        )
        sock = _raw_socket(attached)
        try:
            self._client.start(container_id)
            started = time.monotonic()
            deadline = started + limits.wall_seconds
            streams = _exchange(sock, bundle, deadline, limits.stdout_bytes)
        finally:
            # The SocketIO holds a reference on the socket: close both or the fd stays open.
            attached.close()
            sock.close()
        exit_code: int | None = None
        memory_exceeded = False
        if streams.ended:
            exit_code = self._wait(container_id, deadline)
            streams.timed_out = exit_code is None
            # Only a failed run can have been OOM-killed; skip the round trip otherwise.
            if exit_code not in (None, 0):
                memory_exceeded = bool(self._client.inspect_container(container_id)["State"]["OOMKilled"])
        duration = time.monotonic() - started
        return streams.run(exit_code=exit_code, memory_exceeded=memory_exceeded, duration=duration)

    def _wait(self, container_id: str, deadline: float) -> int | None:
        """The exit code, or None if the container outlives the deadline (e.g. it closed its stdout early)."""
        # A small floor: output ended, so the exit is normally a few milliseconds away.
        timeout = max(deadline - time.monotonic(), 0.5)
        try:
            return int(self._client.wait(container_id, timeout=timeout)["StatusCode"])
        except requests.exceptions.Timeout:
            return None
        except requests.exceptions.ConnectionError as exc:
            # docker-py's unix-socket transport reports a read timeout as a ConnectionError.
            if any(isinstance(arg, urllib3.exceptions.ReadTimeoutError) for arg in exc.args):
                return None
            # Otherwise the output ended because the daemon went away, not because the runner exited.
            raise DaemonUnreachable(f"the Docker daemon went away during a sandbox run ({exc})") from exc


def _main(argv: list[str]) -> int:
    """`tag`: print the image tag; `reap`: remove containers left by dead graders."""
    if argv == ["tag"]:
        try:
            print(image_tag())
        except ImageMissing as exc:
            print(exc, file=sys.stderr)
            return 1
        return 0
    if argv == ["reap"]:
        print(f"removed {reap_stale(connect())} stale sandbox container(s)")
        return 0
    print("usage: python -m grader.sandbox.docker tag|reap", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1:]))
