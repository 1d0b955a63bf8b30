"""The sandbox contract: what every real sandbox backend must guarantee, as plain checks.

Each check takes a `BackendFactory` (command -> backend that runs that command in
the sandbox instead of the grading runner), runs probe scripts in it and asserts.
A probe is Python source sent as the bundle to `PROBE_COMMAND`, and it prints one
JSON object. Backends run the same list, `CHECKS`, from their own test module.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import secrets
import socket
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

from grader.sandbox.base import Backend, Limits, RawRun

BackendFactory = Callable[[Sequence[str]], Backend]

PROBE_COMMAND = ("python3", "-I", "-c", "import sys; exec(compile(sys.stdin.buffer.read(), '<probe>', 'exec'))")
REPO_ROOT = Path(__file__).resolve().parents[2]
SMALL = Limits(
    wall_seconds=10.0,
    memory_bytes=256 * 1024 * 1024,
    pids=32,
    file_bytes=4 * 1024 * 1024,
    tmpfs_bytes=8 * 1024 * 1024,
    stdout_bytes=8 * 1024 * 1024,
)
MiB = 1024 * 1024


def _probe(make_backend: BackendFactory, source: str, limits: Limits = SMALL) -> tuple[RawRun, dict]:
    """Run probe `source`; return the run and the JSON object it printed last ({} if none)."""
    run = make_backend(PROBE_COMMAND).run(source.encode(), limits)
    lines = run.stdout.decode("utf-8", "replace").strip().splitlines()
    return run, (json.loads(lines[-1]) if lines else {})


def _ok(run: RawRun) -> None:
    assert run.exit_code == 0 and not run.timed_out, f"probe failed: {run}"


def check_bundle_and_output_pass_whole(make_backend: BackendFactory) -> None:
    """A multi-MiB bundle arrives whole (EOF included) and multi-MiB output comes back whole."""
    pad = secrets.token_hex(2 * MiB)
    source = (
        f"PAD = {pad!r}\n"
        "import sys, hashlib\n"
        "sys.stdout.write('y' * (3 * 1024 * 1024) + '\\n')\n"
        "print('{\"sha\": \"%s\"}' % hashlib.sha256(PAD.encode()).hexdigest())\n"
    )
    run, out = _probe(make_backend, source)
    _ok(run)
    assert out["sha"] == hashlib.sha256(pad.encode()).hexdigest()
    assert run.stdout.startswith(b"y" * (3 * MiB) + b"\n") and not run.stdout_truncated


def check_no_network(make_backend: BackendFactory) -> None:
    """Only a loopback interface, and the host's 127.0.0.1 is not reachable from inside."""
    with socket.create_server(("127.0.0.1", 0)) as listener:
        port = listener.getsockname()[1]
        source = f"""
import json, os, socket
result = {{"interfaces": sorted(name for _, name in socket.if_nameindex())}}
try:
    socket.create_connection(("127.0.0.1", {port}), timeout=2).close()
    result["connect"] = "connected"
except OSError as exc:
    result["connect"] = type(exc).__name__
result["docker_socket"] = os.path.exists("/var/run/docker.sock") or os.path.exists("/run/docker.sock")
print(json.dumps(result))
"""
        run, out = _probe(make_backend, source)
        listener.setblocking(False)
        with contextlib.suppress(BlockingIOError):
            listener.accept()[0].close()
            raise AssertionError("the sandbox reached a listener on the host's loopback")
    _ok(run)
    assert out["interfaces"] == ["lo"]
    assert out["connect"] != "connected"
    assert out["docker_socket"] is False


def check_writes_confined_to_tmp(make_backend: BackendFactory) -> None:
    """No directory outside /tmp accepts a new file, and nothing in /tmp can be executed."""
    source = r"""
import json, os, stat
writable = []
for top, dirs, _ in os.walk("/"):
    if top in ("/proc", "/sys", "/tmp") or top.startswith(("/proc/", "/sys/", "/tmp/")):
        dirs[:] = []
        continue
    try:
        fd = os.open(os.path.join(top, ".probe-write"), os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
    except OSError:
        continue
    os.close(fd)
    os.unlink(os.path.join(top, ".probe-write"))
    writable.append(top)
with open("/tmp/probe.sh", "w") as f:
    f.write("#!/bin/sh\necho ran\n")
os.chmod("/tmp/probe.sh", 0o755)
try:
    pid = os.fork()
    if pid == 0:
        try:
            os.execv("/tmp/probe.sh", ["/tmp/probe.sh"])
        finally:
            os._exit(99)
    exec_status = os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])
except OSError as exc:
    exec_status = type(exc).__name__
print(json.dumps({"writable": writable, "exec_status": exec_status, "tmp_ok": os.access("/tmp", os.W_OK)}))
"""
    run, out = _probe(make_backend, source)
    _ok(run)
    assert out["tmp_ok"] is True
    assert out["writable"] == [], f"writable outside /tmp: {out['writable']}"
    assert out["exec_status"] == 99, "a file written to /tmp could be executed"


def check_disk_limits(make_backend: BackendFactory) -> None:
    """One file stops at `file_bytes`, and all of /tmp together at about `tmpfs_bytes`."""
    source = r"""
import errno, json, os
def fill(path, size):
    written = 0
    try:
        with open(path, "wb", buffering=0) as f:
            while written < size:
                written += f.write(b"x" * 65536)
    except OSError as exc:
        return written, errno.errorcode.get(exc.errno, str(exc.errno))
    return written, None
big = fill("/tmp/big", 64 * 1024 * 1024)
os.unlink("/tmp/big")
total, index, error = 0, 0, None
while error is None and index < 64:
    written, error = fill("/tmp/part%d" % index, 3 * 1024 * 1024)
    total += written
    index += 1
print(json.dumps({"big": big, "total": total, "error": error}))
"""
    run, out = _probe(make_backend, source)
    _ok(run)
    assert out["big"] == [SMALL.file_bytes, "EFBIG"]
    assert out["error"] == "ENOSPC" and out["total"] <= SMALL.tmpfs_bytes


def check_runs_as_non_root(make_backend: BackendFactory) -> None:
    """Neither the user nor any group of the process is root."""
    run, out = _probe(
        make_backend,
        "import json, os\n"
        "print(json.dumps({'ids': [os.getuid(), os.geteuid(), os.getgid(), os.getegid(), *os.getgroups()]}))",
    )
    _ok(run)
    assert 0 not in out["ids"], out


def check_no_capabilities(make_backend: BackendFactory) -> None:
    """No effective, permitted or ambient capabilities, and no way to gain privileges."""
    source = r"""
import json
fields = dict(line.split(":\t", 1) for line in open("/proc/self/status").read().splitlines() if ":\t" in line)
print(json.dumps({key: fields[key].strip() for key in ("CapEff", "CapPrm", "CapAmb", "NoNewPrivs")}))
"""
    run, out = _probe(make_backend, source)
    _ok(run)
    assert int(out["CapEff"], 16) == int(out["CapPrm"], 16) == int(out["CapAmb"], 16) == 0, out
    assert out["NoNewPrivs"] == "1"


def _repo_secrets() -> list[str]:
    """Names that only the grader's private files have: the case and reference directories and their files."""
    names = {"testcases", "reference", "submissions", "pyproject.toml", ".git"}
    for folder in ("testcases", "reference"):
        with contextlib.suppress(FileNotFoundError):
            names.update(path.name for path in (REPO_ROOT / folder).iterdir() if path.is_file())
    names.discard("__init__.py")
    return sorted(names)


@contextlib.contextmanager
def _host_env(name: str, value: str) -> Iterator[None]:
    """Set a host environment variable for the duration of a check."""
    old = os.environ.get(name)
    os.environ[name] = value
    try:
        yield
    finally:
        if old is None:
            del os.environ[name]
        else:
            os.environ[name] = old


def check_host_invisible(make_backend: BackendFactory) -> None:
    """Host secrets stay outside: no host environment, no repo, no test cases or reference files."""
    secret = "grader-probe-" + secrets.token_hex(8)
    names = _repo_secrets()
    source = f"""
import json, os
names = set({names!r})
found = []
for top, dirs, files in os.walk("/"):
    if top in ("/proc", "/sys") or top.startswith(("/proc/", "/sys/")):
        dirs[:] = []
        continue
    found += [os.path.join(top, name) for name in dirs + files if name in names]
environ = [repr(dict(os.environ))]
for path in ("/proc/self/environ", "/proc/1/environ"):
    if os.access(path, os.R_OK):
        environ.append(open(path, "rb").read().decode("utf-8", "replace"))
print(json.dumps({{"found": found, "environ": environ, "repo": os.path.exists({str(REPO_ROOT)!r})}}))
"""
    with _host_env("GRADER_PROBE_SECRET", secret):
        run, out = _probe(make_backend, source)
    _ok(run)
    assert not any(secret in text for text in out["environ"]), "a host environment variable leaked in"
    assert out["found"] == [], f"grader files visible inside: {out['found']}"
    assert out["repo"] is False


def check_memory_bomb(make_backend: BackendFactory) -> None:
    """Allocating past `memory_bytes` ends the run as memory_exceeded, not as a host problem."""
    source = """
import json
chunks = []
for _ in range(32):  # at most 32 x 64 MiB = 2 GiB, far past the limit
    chunks.append(bytearray(b"x") * (64 * 1024 * 1024))
print(json.dumps({"survived": len(chunks)}))
"""
    run, out = _probe(make_backend, source)
    assert run.memory_exceeded, f"expected memory_exceeded: {run}"
    assert out == {} and run.exit_code != 0 and not run.timed_out


def check_fork_bomb(make_backend: BackendFactory) -> None:
    """Forking stops at the pids limit, and orphans do not keep the run alive once the probe exits."""
    source = """
import json, os, time
forked, error = 0, None
for _ in range(500):  # self-limiting: never more than 500 children
    try:
        pid = os.fork()
    except OSError as exc:
        error = type(exc).__name__
        break
    if pid == 0:
        time.sleep(60)
        os._exit(0)
    forked += 1
print(json.dumps({"forked": forked, "error": error}), flush=True)
os._exit(0)
"""
    run, out = _probe(make_backend, source)
    _ok(run)
    assert out["error"] is not None and out["forked"] < SMALL.pids, out
    assert run.duration < SMALL.wall_seconds


def check_infinite_loop(make_backend: BackendFactory) -> None:
    """A run that never ends is stopped at `wall_seconds` and says so."""
    limits = Limits(wall_seconds=2.0)
    run = make_backend(PROBE_COMMAND).run(b"while True:\n    pass\n", limits)
    assert run.timed_out and run.exit_code is None, run
    assert 2.0 <= run.duration < 5.0


def check_closed_output_still_times_out(make_backend: BackendFactory) -> None:
    """Closing stdout and stderr does not end the run early or make it hang: the deadline still holds."""
    limits = Limits(wall_seconds=2.0)
    run = make_backend(PROBE_COMMAND).run(b"import os\nos.close(1)\nos.close(2)\nwhile True:\n    pass\n", limits)
    assert run.timed_out and run.exit_code is None, run
    assert run.duration < 5.0


def check_huge_stdout_truncated(make_backend: BackendFactory) -> None:
    """Endless output ends promptly as a truncated result of exactly `stdout_bytes`."""
    limits = Limits(wall_seconds=10.0, stdout_bytes=MiB)
    source = b"import sys\nwhile True:\n    sys.stdout.buffer.write(b'z' * 65536)\n"
    run = make_backend(PROBE_COMMAND).run(source, limits)
    assert run.stdout_truncated and run.stdout == b"z" * MiB, (len(run.stdout), run)
    assert not run.timed_out and run.duration < 5.0


def check_stderr_is_diagnostics(make_backend: BackendFactory) -> None:
    """The interpreter's stderr comes back as diagnostics, capped, never mixed into stdout."""
    source = b"import sys\nsys.stderr.write('noise ' * 100000)\nraise SystemExit('probe gave up')\n"
    run = make_backend(PROBE_COMMAND).run(source, SMALL)
    assert run.exit_code == 1 and run.stdout == b""
    assert "probe gave up" in run.diagnostics and len(run.diagnostics) <= 16 * 1024


def check_unread_bundle_does_not_hang(make_backend: BackendFactory) -> None:
    """A command that never reads its stdin still ends normally, even with a large bundle."""
    run = make_backend(("python3", "-I", "-c", "print('done')")).run(b"\0" * (16 * MiB), SMALL)
    assert run.exit_code == 0 and run.stdout == b"done\n" and not run.timed_out, run


CHECKS: tuple[Callable[[BackendFactory], None], ...] = (
    check_bundle_and_output_pass_whole,
    check_no_network,
    check_writes_confined_to_tmp,
    check_disk_limits,
    check_runs_as_non_root,
    check_no_capabilities,
    check_host_invisible,
    check_memory_bomb,
    check_fork_bomb,
    check_infinite_loop,
    check_closed_output_still_times_out,
    check_huge_stdout_truncated,
    check_stderr_is_diagnostics,
    check_unread_bundle_does_not_hang,
)
"""Every contract check; a backend's test module parametrizes over these."""
