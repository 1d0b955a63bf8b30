"""Bubblewrap sandbox backend: a light, daemon-free sandbox built from kernel namespaces.

Each run is `bwrap` with new user, pid, network, ipc, uts and cgroup namespaces, no
capabilities, no-new-privileges, a non-root user, a read-only root holding only
Debian's python3, its standard library, python3-numpy (as in the Docker image), the
shared libraries and the runner,
and a size-limited noexec tmpfs at /tmp as the only writable place. bwrap itself runs
as a host uid of its own per run, so RLIMIT_NPROC (counted per real uid) bounds the
processes of exactly that run, and every process the run leaves is found by its uid
and killed. Needs root on the host (to switch uids and mount the tmpfs).
"""

from __future__ import annotations

import ctypes
import functools
import os
import resource
import shutil
import signal
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from grader.errors import SandboxUnavailable
from grader.sandbox.base import RUNNER_PATH, SANDBOX_ENV, Limits, RawRun
from grader.sandbox.process import limit_resources, run_child

BWRAP = "/usr/bin/bwrap"
PYTHON = "/usr/bin/python3"
NUMPY = Path("/usr/lib/python3/dist-packages/numpy")
"""Debian's python3-numpy, the interpreter's only third-party package."""
SANDBOX_RUNNER = "/opt/grader/runner.py"
RUNNER_COMMAND = (PYTHON, "-I", SANDBOX_RUNNER)
SANDBOX_ID = 65534
"""uid and gid inside the sandbox (nobody)."""
ENVIRONMENT = {**SANDBOX_ENV, "HOME": "/tmp", "TMPDIR": "/tmp"}

HOST_ID_BASE = 1 << 30
SLOTS_PER_GRADER = 128
"""Concurrent runs one grader process can have; each gets host uid HOST_ID_BASE + pid * 128 + slot."""
REAP_SECONDS = 5.0

_CLONE_NEWNS = 0x00020000
_MS_NOSUID, _MS_NODEV, _MS_NOEXEC, _MS_REC, _MS_PRIVATE = 0x2, 0x4, 0x8, 0x4000, 0x40000
_libc = ctypes.CDLL(None, use_errno=True)


class _HostIds:
    """Hands out host uids no other live run has: this process's pid picks a range, a free slot the uid.

    Slots rotate, so a run does not get the uid of the run just before it, whose exited
    bwrap may still wait to be reaped (and count against RLIMIT_NPROC) for a moment.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._busy: set[int] = set()
        self._next = 0

    def acquire(self) -> int:
        with self._lock:
            base = HOST_ID_BASE + os.getpid() * SLOTS_PER_GRADER
            for offset in range(SLOTS_PER_GRADER):
                slot = (self._next + offset) % SLOTS_PER_GRADER
                if base + slot not in self._busy:
                    self._next = slot + 1
                    self._busy.add(base + slot)
                    return base + slot
            raise SandboxUnavailable(f"more than {SLOTS_PER_GRADER} concurrent bwrap runs in one grader process")

    def release(self, host_id: int) -> None:
        with self._lock:
            self._busy.discard(host_id)


_HOST_IDS = _HostIds()
_VERIFIED = threading.Event()


def _check_host() -> None:
    """Raise SandboxUnavailable, saying what to install or change, when this host cannot run the backend."""
    if not os.access(BWRAP, os.X_OK):
        raise SandboxUnavailable(f"{BWRAP} is missing; install bubblewrap (`apt-get install -y bubblewrap`)")
    if not os.access(PYTHON, os.X_OK) or not NUMPY.is_dir():
        raise SandboxUnavailable(
            f"the bwrap sandbox runs Debian's {PYTHON} with python3-numpy; "
            "install them (`apt-get install -y python3 python3-numpy`)"
        )
    if os.geteuid() != 0:
        raise SandboxUnavailable(
            "the bwrap backend must run as root: it gives each run its own host uid and a private noexec tmpfs"
        )


@functools.cache
def _filesystem() -> tuple[str, ...]:
    """bwrap arguments for the only host files the sandbox sees, all read-only.

    Debian's interpreter, its standard library, numpy (not the rest of dist-packages,
    whose .pth files would run at start-up), the shared libraries, the loader, and the
    /etc/alternatives links numpy's BLAS and LAPACK go through. /bin and /lib* are the
    host's links into /usr (or read-only binds where they are real directories).
    """
    interpreter = os.path.realpath(PYTHON)
    version = os.path.basename(interpreter)
    binds = [interpreter, f"/usr/lib/{version}", *map(str, sorted(NUMPY.parent.glob("numpy*")))]
    binds += [str(path) for path in sorted(Path("/usr/lib").glob("*-linux-gnu*")) if path.is_dir()]
    binds += [path for path in ("/usr/lib32", "/usr/lib64", "/usr/libx32") if os.path.isdir(path)]
    arguments = [item for path in binds for item in ("--ro-bind", path, path)]
    if interpreter != PYTHON:
        arguments += ["--symlink", interpreter, PYTHON]
    for name in ("/bin", "/lib", "/lib32", "/lib64", "/libx32"):
        if os.path.islink(name):
            arguments += ["--symlink", os.readlink(name), name]
        elif os.path.isdir(name):
            arguments += ["--ro-bind", name, name]
    for library in (path for path in binds if "-linux-gnu" in path):
        for entry in os.scandir(library):
            if entry.is_symlink() and os.readlink(entry.path).startswith("/etc/alternatives/"):
                link = os.readlink(entry.path)
                arguments += ["--symlink", os.readlink(link), link]
    return tuple(arguments)


def bwrap_command(workdir: str, command: Sequence[str]) -> list[str]:
    """The full bwrap command line running `command` in the sandbox; `workdir` holds the runner and the /tmp mount."""
    environment = [item for name, value in ENVIRONMENT.items() for item in ("--setenv", name, value)]
    return [
        BWRAP,
        "--unshare-all",
        "--unshare-user",
        "--die-with-parent",
        "--new-session",
        "--cap-drop", "ALL",
        "--uid", str(SANDBOX_ID),
        "--gid", str(SANDBOX_ID),
        "--hostname", "sandbox",
        *_filesystem(),
        "--ro-bind", os.path.join(workdir, "runner.py"), SANDBOX_RUNNER,
        "--proc", "/proc",
        "--dev", "/dev",
        "--bind", os.path.join(workdir, "tmp"), "/tmp",
        # bwrap's own root tmpfs (with /usr, /etc, /opt, /dev) belongs to the sandbox user: make it read-only.
        "--remount-ro", "/",
        "--remount-ro", "/dev",
        "--clearenv",
        *environment,
        "--chdir", "/tmp",
        "--",
        *command,
    ]  # fmt: skip


def _check_call(result: int, what: str) -> None:
    """Turn a failed libc call (non-zero result) into an OSError naming what failed."""
    if result != 0:
        error = ctypes.get_errno()
        raise OSError(error, f"{what}: {os.strerror(error)}")


def _enter_sandbox(workdir: str, host_id: int, limits: Limits) -> Callable[[], None]:
    """The pre-exec hook: rlimits, a private noexec tmpfs on workdir/tmp, then the run's own host uid."""
    tmp = os.path.join(workdir, "tmp").encode()
    options = f"size={limits.tmpfs_bytes},mode=1777".encode()
    apply_limits = limit_resources(limits)

    def enter() -> None:
        apply_limits()
        resource.setrlimit(resource.RLIMIT_NPROC, (limits.pids, limits.pids))
        # A mount namespace of this child alone: the tmpfs never shows on the host and goes with the run.
        # bwrap 0.8's --tmpfs has no noexec, and a mount made here keeps it locked inside the user namespace.
        _check_call(_libc.unshare(_CLONE_NEWNS), "unshare(CLONE_NEWNS)")
        _check_call(_libc.mount(b"none", b"/", None, _MS_REC | _MS_PRIVATE, None), "make / private")
        _check_call(
            _libc.mount(b"tmpfs", tmp, b"tmpfs", _MS_NOSUID | _MS_NODEV | _MS_NOEXEC, options), "mount the /tmp tmpfs"
        )
        os.setgroups([])
        os.setresgid(host_id, host_id, host_id)
        os.setresuid(host_id, host_id, host_id)

    return enter


def _processes_of(host_id: int) -> list[int]:
    """Pids of the processes whose real uid is `host_id` and that have not exited yet.

    Zombies are left out: they have ended, and reaping them is their new parent's job
    (bwrap's pid-namespace init is orphaned to the host's init when bwrap exits).
    """
    pids = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/status", "rb") as status:
                fields = dict(line.split(b":", 1) for line in status if line.startswith((b"State:", b"Uid:")))
        except OSError:
            continue
        if int(fields[b"Uid"].split()[0]) == host_id and not fields[b"State"].strip().startswith(b"Z"):
            pids.append(int(name))
    return pids


def _kill_all(host_id: int) -> None:
    """SIGKILL every process of the run's host uid and wait until none is left.

    bwrap's outer process can exit while its pid namespace is still being torn down.
    """
    deadline = time.monotonic() + REAP_SECONDS
    while pids := _processes_of(host_id):
        if time.monotonic() > deadline:
            raise SandboxUnavailable(f"sandbox processes {pids} (uid {host_id}) survived SIGKILL")
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        time.sleep(0.005)


class BwrapBackend:
    """Runs the runner under bubblewrap with Debian's python3 and numpy, one throw-away sandbox per run."""

    name = "bwrap"

    def __init__(self, command: Sequence[str] = RUNNER_COMMAND) -> None:
        """Check the host (once per process: a sandboxed `import numpy`); raise SandboxUnavailable if it cannot work.

        `command` replaces the runner; it exists for the sandbox contract tests.
        """
        _check_host()
        self._command = tuple(command)
        if not _VERIFIED.is_set():
            probe = self._run((PYTHON, "-I", "-c", "import numpy"), b"", Limits(wall_seconds=30.0))
            if probe.exit_code != 0:
                raise SandboxUnavailable(
                    f"bwrap could not start {PYTHON} with numpy in a sandbox (exit {probe.exit_code}): "
                    f"{probe.diagnostics.strip() or 'no message'}; user namespaces must be enabled"
                )
            _VERIFIED.set()

    def run(self, bundle: bytes, limits: Limits) -> RawRun:
        """Run the command on `bundle` in a fresh sandbox; never raises for what the code inside does."""
        return self._run(self._command, bundle, limits)

    def _run(self, command: Sequence[str], bundle: bytes, limits: Limits) -> RawRun:
        workdir = tempfile.mkdtemp(prefix="grader-bwrap-")
        host_id = _HOST_IDS.acquire()
        try:
            # The run's uid must reach the runner copy and the mount point, nothing else of workdir.
            os.chmod(workdir, 0o711)
            shutil.copyfile(RUNNER_PATH, os.path.join(workdir, "runner.py"))
            os.chmod(os.path.join(workdir, "runner.py"), 0o444)
            os.mkdir(os.path.join(workdir, "tmp"))
            return run_child(
                bwrap_command(workdir, command),
                bundle,
                limits,
                cwd=workdir,
                env={},
                preexec=_enter_sandbox(workdir, host_id, limits),
            )
        finally:
            shutil.rmtree(workdir, ignore_errors=True)
            # Raises if a process survives; its uid then stays taken, so no later run shares it.
            _kill_all(host_id)
            _HOST_IDS.release(host_id)
