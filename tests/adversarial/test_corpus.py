"""Every file of the adversarial corpus, graded by the real engine on every backend (process, bwrap, docker).

For each file (`submissions/adversarial/expected.toml` says what it must get): the
grader survives, writes a schema-valid report with the expected status and a message
the student understands, the score is only what was honestly earned, the host is
unchanged (canary folder, marker files, the grader's own files), nothing reached the
test's listener, no process of the submission outlives its run, and the run ends
within its timeout plus a margin. The files of one backend are graded together on a
few threads (the first test of a backend waits for the batch), then checked one by one.
"""

from __future__ import annotations

import dataclasses
import fcntl
import hashlib
import json
import os
import re
import socket
import tempfile
import threading
import time
import tomllib
import traceback
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import docker
import pytest

from grader.engine import grade
from grader.errors import SandboxUnavailable
from grader.report import Report
from grader.sandbox import get_backend
from grader.submission import Submission

ROOT = Path(__file__).resolve().parents[2]
CORPUS = ROOT / "submissions" / "adversarial"
MANIFEST: dict[str, dict[str, Any]] = tomllib.loads((CORPUS / "expected.toml").read_text())
TIMEOUT = 10.0
MARGIN = {"process": 8.0, "bwrap": 10.0, "docker": 15.0}
"""Seconds a grade may take beyond TIMEOUT: checks, container start and removal, a busy machine."""
WORKERS = 3
CANARY = Path("/tmp/grader-adversarial-canary")
MARKER = "ADVERSARIAL-MARKER"
LISTENER_PORT, BACKDOOR_PORT = 47817, 47818
ENV_CANARY = "GRADER_ADVERSARIAL_CANARY"
HOST_LOCK = Path("/tmp/grader-adversarial.lock")
"""Held while a corpus batch runs: the port, canary and env are shared by concurrent test sessions."""
SANDBOX_UID = 10001
GUARDED_FILES = ("grader/runner.py", "testcases/generated/regularization.json", "reference/solution.py")
MARKER_PLACES = (CANARY, ROOT, ROOT / "grader", ROOT.parent, Path("/"), Path("/etc"), Path.cwd())


def test_every_corpus_file_has_an_expectation_and_a_header():
    on_disk = {
        str(path.relative_to(CORPUS)) for path in CORPUS.rglob("*") if path.is_file() or path.is_symlink()
    } - {"expected.toml"}
    assert on_disk == set(MANIFEST)
    assert len(on_disk) >= 40
    without_header = [
        name for name in on_disk
        if not (CORPUS / name).is_symlink() and (CORPUS / name).read_bytes().strip()
        and not (CORPUS / name).read_bytes().lstrip(b"\xef\xbb\xbf").startswith(b"#")
        and not name.endswith(".ipynb")
    ]
    assert without_header == []


# ---------------------------------------------------------------- host watchers


class _Listener:
    """TCP and UDP on 127.0.0.1:LISTENER_PORT; records when anything arrives."""

    def __init__(self) -> None:
        self.events: list[tuple[float, str]] = []
        self._tcp = socket.create_server(("127.0.0.1", LISTENER_PORT))
        self._udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self._udp.bind(("127.0.0.1", LISTENER_PORT))
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._accept, daemon=True),
                         threading.Thread(target=self._receive, daemon=True)]
        for thread in self._threads:
            thread.start()

    def _accept(self) -> None:
        self._tcp.settimeout(0.2)
        while not self._stop.is_set():
            try:
                connection, peer = self._tcp.accept()
            except OSError:
                continue
            self.events.append((time.monotonic(), f"tcp from {peer}"))
            connection.close()

    def _receive(self) -> None:
        self._udp.settimeout(0.2)
        while not self._stop.is_set():
            try:
                _, peer = self._udp.recvfrom(65536)
            except OSError:
                continue
            self.events.append((time.monotonic(), f"udp from {peer}"))

    def during(self, start: float, end: float) -> list[str]:
        return [what for when, what in self.events if start <= when <= end]

    def close(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join()
        self._tcp.close()
        self._udp.close()


def _canary_state() -> dict[str, bytes]:
    if not CANARY.is_dir():
        return {}
    return {str(path.relative_to(CANARY)): path.read_bytes() for path in CANARY.rglob("*") if path.is_file()}


def _reset_canary() -> dict[str, bytes]:
    if CANARY.is_symlink() or CANARY.is_file():
        CANARY.unlink()
    CANARY.mkdir(exist_ok=True)
    for path in CANARY.iterdir():
        path.unlink()
    (CANARY / "canary.txt").write_text("the grader's host; a submission must never change this\n")
    return _canary_state()


def _marker_files() -> list[str]:
    found = []
    for place in MARKER_PLACES:
        try:
            found += [str(place / name) for name in os.listdir(place) if MARKER in name]
        except OSError:
            pass
    return found


def _guarded_digest() -> dict[str, str]:
    return {name: hashlib.sha256((ROOT / name).read_bytes()).hexdigest() for name in GUARDED_FILES}


def _listening(port: int) -> bool:
    """Whether anything on the host listens on TCP `port` (read from /proc, no traffic)."""
    wanted = f":{port:04X}"
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        if any(line.split()[1].endswith(wanted) and line.split()[3] == "0A" for line in lines):
            return True
    return False


def _process_backend_orphans() -> list[str]:
    """Processes still running with the home folder of a process-backend run that has ended."""
    prefix = os.path.join(tempfile.gettempdir(), "grader-run-").encode()
    orphans = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            environ = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
        except OSError:
            continue
        homes = [entry[5:] for entry in environ if entry.startswith(b"HOME=" + prefix)]
        if homes and not os.path.exists(homes[0]):
            orphans.append(pid)
    return orphans


def _escaped_sandbox_processes() -> list[str]:
    """Host processes of the sandbox's user whose container no longer exists (escaped its removal)."""
    from grader.sandbox.docker import connect

    client = connect()
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            status = Path(f"/proc/{pid}/status").read_text()
            cgroup = Path(f"/proc/{pid}/cgroup").read_text()
        except OSError:
            continue
        uid = next((line.split()[1] for line in status.splitlines() if line.startswith("Uid:")), "")
        if uid != str(SANDBOX_UID):
            continue
        container = re.search(r"[0-9a-f]{64}", cgroup)
        try:
            alive = container is not None and client.inspect_container(container.group(0))["State"]["Running"]
        except docker.errors.NotFound:
            alive = False
        if not alive:
            found.append(pid)
    return found


# ---------------------------------------------------------------- grading the corpus


@dataclasses.dataclass
class _Run:
    """One corpus file graded on one backend, and what the host looked like afterwards."""

    report: Report | None
    crash: str
    seconds: float
    started: float
    ended: float
    canary_changed: bool
    markers: list[str]
    guarded_changed: list[str]
    orphans: list[str]
    backdoor_listening: bool


def _expectation(name: str, backend: str) -> dict[str, Any]:
    entry = MANIFEST[name]
    return {**entry, **entry.get(backend, {})}


def _submission(name: str) -> Submission:
    path = CORPUS / name
    pad = MANIFEST[name].get("pad")
    if not pad:
        return Submission.from_path(path)
    content = path.read_bytes()
    line = pad["line"].encode()
    content += line * max(0, (pad["to_bytes"] - len(content)) // len(line) + 1)
    return Submission(name=path.name, content=content)


def _grade_one(name: str, backend: str, pristine_canary: dict[str, bytes], guarded: dict[str, str],
               lock: threading.Lock) -> _Run:
    started = time.monotonic()
    report, crash = None, ""
    try:
        report = grade(_submission(name), backend=get_backend(backend), timeout=TIMEOUT)
    except BaseException:  # the point of the test: nothing a submission does may get here
        crash = traceback.format_exc()
    ended = time.monotonic()
    with lock:
        canary_changed = _canary_state() != pristine_canary
        if canary_changed:
            _reset_canary()
        now = _guarded_digest()
        return _Run(
            report=report,
            crash=crash,
            seconds=ended - started,
            started=started,
            ended=ended,
            canary_changed=canary_changed,
            markers=_marker_files(),
            guarded_changed=[name for name in GUARDED_FILES if now[name] != guarded[name]],
            orphans=_process_backend_orphans() if backend == "process" else [],
            backdoor_listening=_listening(BACKDOOR_PORT),
        )


def _longest_first(name: str) -> int:
    return 0 if MANIFEST[name]["status"] in ("timeout", "memory_limit_exceeded") else 1


@dataclasses.dataclass
class _Batch:
    runs: dict[str, _Run]
    listener: _Listener
    seconds: float


def _grade_corpus(backend: str) -> _Batch:
    """Grade every file this backend must run, a few at a time, watching the host."""
    names = sorted(
        (name for name in MANIFEST if backend != "process" or not MANIFEST[name].get("sandbox_only")),
        key=lambda name: (_longest_first(name), name),
    )
    with open(HOST_LOCK, "a") as host_lock:
        fcntl.flock(host_lock, fcntl.LOCK_EX)
        pristine_canary = _reset_canary()
        guarded = _guarded_digest()
        lock = threading.Lock()
        listener = _Listener()
        os.environ[ENV_CANARY] = "a secret of the grader's host"
        started = time.monotonic()
        try:
            with ThreadPoolExecutor(WORKERS) as pool:
                futures = {name: pool.submit(_grade_one, name, backend, pristine_canary, guarded, lock)
                           for name in names}
                runs = {name: future.result() for name, future in futures.items()}
        finally:
            del os.environ[ENV_CANARY]
            # A daemon that escaped might act late: give it a moment to show itself.
            time.sleep(1.0)
            listener.close()
    return _Batch(runs, listener, time.monotonic() - started)


_BATCHES: dict[str, _Batch] = {}


def _batch(backend: str) -> _Batch:
    if backend not in _BATCHES:
        if backend != "process":
            try:
                get_backend(backend)
            except SandboxUnavailable as exc:
                if os.environ.get("CI") == "true":
                    pytest.fail(f"CI must have the {backend} sandbox: {exc}", pytrace=False)
                pytest.skip(str(exc))
        _BATCHES[backend] = _grade_corpus(backend)
    return _BATCHES[backend]


# ---------------------------------------------------------------- checks


def _messages(report: Report) -> list[str]:
    texts = [report.message, *report.load_errors]
    for function in report.functions.values():
        for case in function.cases:
            texts.append(case.message)
            texts += [output.message for output in case.outputs.values()]
    return texts


def _check(name: str, backend: str, report_validator) -> None:
    expected = _expectation(name, backend)
    batch = _batch(backend)
    run = batch.runs[name]
    assert not run.crash, f"the grader crashed:\n{run.crash}"
    report = run.report
    report_validator.validate(json.loads(report.to_json()))
    assert report.status == expected["status"], report.message
    assert any(expected["message"] in text for text in _messages(report)), (
        f"no message says {expected['message']!r}; report message: {report.message!r}"
    )
    assert report.score <= expected["max_score"] + 1e-9, f"earned {report.score}, may earn {expected['max_score']}"
    assert report.score >= expected.get("min_score", 0) - 1e-9, f"honest work lost: {report.score}"
    for text in expected.get("stdout_has", []):
        assert text in report.stdout.text, f"stdout lacks {text!r}: {report.stdout.text[:300]!r}"
    for text in expected.get("stdout_lacks", []):
        assert text not in report.stdout.text, f"stdout shows {text!r}"
    assert not run.canary_changed, "the canary folder on the host changed"
    assert run.markers == [], f"files written on the host: {run.markers}"
    assert run.guarded_changed == [], f"grader files changed: {run.guarded_changed}"
    assert run.orphans == [], f"processes outlived the run: {run.orphans}"
    assert not run.backdoor_listening, f"something listens on 127.0.0.1:{BACKDOOR_PORT} after the run"
    assert batch.listener.during(run.started, run.ended) == [], "the test's listener was reached"
    assert run.seconds <= TIMEOUT + MARGIN[backend], f"took {run.seconds:.1f} s"


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(MANIFEST))
def test_corpus_file_on_process_backend(name, report_validator):
    if MANIFEST[name].get("sandbox_only"):
        pytest.skip("only a sandbox can stop this; the process backend is not one (it shares the host)")
    _check(name, "process", report_validator)


@pytest.mark.slow
@pytest.mark.docker
@pytest.mark.parametrize("name", sorted(MANIFEST))
def test_corpus_file_on_docker_backend(name, report_validator):
    _check(name, "docker", report_validator)


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(MANIFEST))
def test_corpus_file_on_bwrap_backend(name, report_validator):
    _check(name, "bwrap", report_validator)


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["process", "bwrap", pytest.param("docker", marks=pytest.mark.docker)])
def test_no_process_or_container_outlives_the_corpus(backend):
    _batch(backend)
    assert _process_backend_orphans() == []
    if backend == "docker":
        from grader.sandbox.docker import OWNER_LABEL, connect, owner

        assert _escaped_sandbox_processes() == []
        assert connect().containers(all=True, filters={"label": f"{OWNER_LABEL}={owner()}"}) == []


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["process", "bwrap", pytest.param("docker", marks=pytest.mark.docker)])
def test_corpus_stays_within_its_time_budget(backend):
    """Keeps CI fast: the whole corpus of one backend in under three minutes."""
    assert _batch(backend).seconds < 180
