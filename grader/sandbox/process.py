"""Run the runner as a local child process: resource limits and a wall timeout, no isolation.

This is not a sandbox: the child shares the host's filesystem, network and user.
It exists for development and the engine's fast tests, and `grade` only selects it
behind `--unsafe-no-sandbox`. Other backends reuse its process handling
(`run_child`, `limit_resources`) around their own launcher.
"""

from __future__ import annotations

import os
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from typing import Callable

from grader.sandbox.base import DIAGNOSTICS_BYTES, RUNNER_PATH, SANDBOX_ENV, Limits, RawRun


def _read_capped(stream, limit: int, sink: bytearray, overflow: list[bool], on_overflow: Callable[[], None]) -> None:
    """Read a pipe to its end, keeping at most `limit` bytes; past that, call `on_overflow` once and drop the rest."""
    while True:
        chunk = stream.read(65536)
        if not chunk:
            return
        room = limit - len(sink)
        if room > 0:
            sink += chunk[:room]
        if len(chunk) > room:
            if not overflow[0]:
                on_overflow()
            overflow[0] = True


def _read_tail(stream, limit: int, sink: bytearray) -> None:
    """Read a pipe to its end, keeping its last `limit` bytes (where a traceback ends up)."""
    while True:
        chunk = stream.read(65536)
        if not chunk:
            return
        sink += chunk
        del sink[:-limit]


def _write_all(stream, data: bytes) -> None:
    try:
        stream.write(data)
        stream.close()
    except (BrokenPipeError, OSError):
        pass


def limit_resources(limits: Limits) -> Callable[[], None]:
    """A pre-exec hook applying the memory, file-size, open-file, core and CPU rlimits of `limits`."""

    def apply() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (limits.memory_bytes, limits.memory_bytes))
        resource.setrlimit(resource.RLIMIT_FSIZE, (limits.file_bytes, limits.file_bytes))
        resource.setrlimit(resource.RLIMIT_NOFILE, (limits.open_files, limits.open_files))
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
        cpu = int(limits.wall_seconds) + 2
        resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu))

    return apply


class ProcessBackend:
    """A child process with rlimits, its own session (killed as a group) and a scratch directory."""

    name = "process"

    def run(self, bundle: bytes, limits: Limits) -> RawRun:
        workdir = tempfile.mkdtemp(prefix="grader-run-")
        try:
            return run_child(
                [sys.executable, "-I", str(RUNNER_PATH)],
                bundle,
                limits,
                cwd=workdir,
                env={**SANDBOX_ENV, "HOME": workdir, "TMPDIR": workdir},
                preexec=limit_resources(limits),
            )
        finally:
            shutil.rmtree(workdir, ignore_errors=True)


def run_child(
    command: list[str],
    bundle: bytes,
    limits: Limits,
    *,
    cwd: str,
    env: dict[str, str],
    preexec: Callable[[], None],
) -> RawRun:
    """Start `command` in its own session, feed it `bundle`, collect its capped output under the wall timeout.

    The run is killed as soon as stdout passes its cap: draining an endless writer until
    the timeout would cost the host a core for the whole wall time.
    """
    started = time.monotonic()
    process = subprocess.Popen(
        command,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=cwd,
        env=env,
        preexec_fn=preexec,
        start_new_session=True,
    )
    return _supervise(process, bundle, limits, started)


def _supervise(process: subprocess.Popen, bundle: bytes, limits: Limits, started: float) -> RawRun:
    stdout, stderr = bytearray(), bytearray()
    stdout_overflow = [False]
    pumps = [
        threading.Thread(target=_write_all, args=(process.stdin, bundle), daemon=True),
        threading.Thread(
            target=_read_capped,
            args=(process.stdout, limits.stdout_bytes, stdout, stdout_overflow, process.kill),
            daemon=True,
        ),
        threading.Thread(target=_read_tail, args=(process.stderr, DIAGNOSTICS_BYTES, stderr), daemon=True),
    ]
    for pump in pumps:
        pump.start()
    timed_out = False
    try:
        process.wait(timeout=limits.wall_seconds)
    except subprocess.TimeoutExpired:
        timed_out = True
    finally:
        # Whatever the runner left behind in its session goes too, on every path.
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        process.wait()
    for pump in pumps[1:]:
        pump.join(timeout=2)
    diagnostics = stderr.decode("utf-8", "replace")
    return RawRun(
        stdout=bytes(stdout),
        stdout_truncated=stdout_overflow[0],
        exit_code=None if timed_out else process.returncode,
        timed_out=timed_out,
        memory_exceeded="MemoryError" in diagnostics,
        duration=time.monotonic() - started,
        diagnostics=diagnostics,
    )
