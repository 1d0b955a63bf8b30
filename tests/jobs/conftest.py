"""Fixtures: a real redis-server and real `grade worker` processes on 127.0.0.1, stopped by PID.

The queue settings are shrunk so redelivery after a lost worker takes seconds, not minutes:
a 10 s sandbox cap (20 s task time limit), a 25 s visibility timeout swept every second.
"""

from __future__ import annotations

import dataclasses
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import redis

from grader.jobs import Job, JobQueue, Outcome
from grader.jobs.celery_queue import CeleryQueue
from grader.jobs.settings import QueueSettings
from grader.jobs.tasks import ATTEMPTS_PREFIX
from grader.submission import Submission
from tests.sandbox.conftest import docker_client, sandbox_image  # noqa: F401  (re-used fixtures)

REPO = Path(__file__).resolve().parents[2]
REDIS_SERVER = "/usr/bin/redis-server"
TEST_SETTINGS = {
    "GRADER_GRADE_TIMEOUT_CAP_SECONDS": "10",
    "GRADER_VISIBILITY_TIMEOUT_SECONDS": "25",
    "GRADER_RESTORE_INTERVAL_SECONDS": "1",
    "GRADER_TASK_RETRY_BACKOFF_SECONDS": "0.2",
    "GRADER_GRADE_FUNCTION": "tests.jobs.stand_in:grade",
}
JOB_TIMEOUT = 10.0
"""Every test job asks for the cap, so embedded and Celery grading run under the same limits."""
START_SECONDS = 60
STOP_SECONDS = 20


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def children(pid: int) -> list[int]:
    """Direct child processes of `pid` (a prefork worker's pool processes)."""
    found = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            found += [int(child) for child in (task / "children").read_text().split()]
        except OSError:
            continue
    return found


def _kill(pids: list[int]) -> None:
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


@dataclasses.dataclass
class RedisServer:
    url: str
    client: redis.Redis

    def attempts(self, key: str) -> int:
        """How often workers started grading `key` (the tasks' own counter)."""
        return int(self.client.get(ATTEMPTS_PREFIX + key) or 0)


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    """A throwaway redis-server (no persistence) on a free loopback port."""
    if not Path(REDIS_SERVER).exists():
        pytest.fail(f"{REDIS_SERVER} is missing: apt-get install redis-server (scripts/setup.sh does)")
    port = free_port()
    process = subprocess.Popen(
        [REDIS_SERVER, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
         "--dir", str(tmp_path)],
        stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT,
    )
    client = redis.Redis(host="127.0.0.1", port=port)
    deadline = time.monotonic() + 10
    while True:
        try:
            client.ping()
            break
        except redis.ConnectionError:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                raise RuntimeError("redis-server did not start") from None
            time.sleep(0.05)
    try:
        yield RedisServer(f"redis://127.0.0.1:{port}/0", client)
    finally:
        client.close()
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)


@dataclasses.dataclass
class Worker:
    """One `grade worker` process we started."""

    name: str
    process: subprocess.Popen[bytes]
    log: Path

    def kill(self) -> None:
        """SIGKILL the worker and its pool processes, as a lost machine would vanish."""
        _kill([self.process.pid, *children(self.process.pid)])
        self.process.wait(10)

    def stop(self) -> None:
        pool = children(self.process.pid)
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(STOP_SECONDS)
            except subprocess.TimeoutExpired:
                _kill([self.process.pid])
                self.process.wait(10)
        _kill([pid for pid in pool if Path(f"/proc/{pid}").exists()])


@pytest.fixture
def start_worker(redis_server: RedisServer, tmp_path: Path) -> Iterator[Callable[..., Worker]]:
    """Start `python -m grader.jobs` (= `grade worker`) processes; each is stopped by its PID."""
    started: list[Worker] = []

    def start(name: str, *, backend: str = "process", concurrency: int = 1, **env: str) -> Worker:
        log = tmp_path / f"{name}.log"
        with open(log, "wb") as log_file:
            process = subprocess.Popen(
                [sys.executable, "-m", "grader.jobs", "--broker", redis_server.url,
                 *(["--unsafe-no-sandbox"] if backend == "process" else ["--sandbox", backend]),
                 "--concurrency", str(concurrency), "--name", name],
                cwd=REPO, env={**os.environ, "PYTHONPATH": str(REPO), **TEST_SETTINGS, **env},
                stdout=log_file, stderr=subprocess.STDOUT,
            )
        worker = Worker(name, process, log)
        started.append(worker)
        deadline = time.monotonic() + START_SECONDS
        while f"{name} ready." not in log.read_text(errors="replace"):
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"worker {name} did not start:\n{log.read_text(errors='replace')}")
            time.sleep(0.1)
        return worker

    yield start
    for worker in started:
        worker.stop()


@pytest.fixture
def celery_queue(redis_server: RedisServer, monkeypatch: pytest.MonkeyPatch) -> Iterator[CeleryQueue]:
    """The sending side, configured like the workers."""
    for name, value in TEST_SETTINGS.items():
        monkeypatch.setenv(name, value)
    queue = CeleryQueue(QueueSettings(broker_url=redis_server.url))
    yield queue
    queue.close()


def collect(queue: JobQueue, count: int, seconds: float) -> list[Outcome]:
    """Wait (bounded) until `count` outcomes arrived; fail with what is missing otherwise."""
    outcomes: list[Outcome] = []
    deadline = time.monotonic() + seconds
    while len(outcomes) < count:
        if time.monotonic() > deadline:
            raise AssertionError(f"only {len(outcomes)} of {count} outcomes within {seconds} s")
        outcomes += queue.finished(0.5)
    return outcomes


def job(key: str, path: Path | str) -> Job:
    return Job(key, Submission.from_path(REPO / path), JOB_TIMEOUT)


def comparable(report: dict) -> dict:
    """A report without what legitimately differs between two runs (time, duration, backend)."""
    return {key: value for key, value in report.items() if key not in ("created_at", "duration_seconds", "backend")}
