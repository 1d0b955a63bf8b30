"""Queue throughput: jobs per minute on the embedded queue and on 1 and 2 Celery workers through Redis.

Starts its own redis-server (no persistence) on a free loopback port and `grade worker`
processes (one job at a time each), grades the same distinct submissions on every setup
in one run, and stops everything it started by PID. Each setup is bounded by --limit seconds.

    python bench/queue_bench.py [--jobs 40] [--backend docker|process] [--rounds 2] [--limit 300]
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from grader.jobs import EmbeddedQueue, Job, JobQueue  # noqa: E402
from grader.jobs.celery_queue import CeleryQueue  # noqa: E402
from grader.jobs.settings import QueueSettings  # noqa: E402
from grader.submission import Submission  # noqa: E402

REDIS_SERVER = "/usr/bin/redis-server"
SUBMISSIONS = ROOT / "submissions"
START_SECONDS = 60


@dataclasses.dataclass(frozen=True)
class Measurement:
    queue: str
    workers: int
    jobs: int
    done: int
    failed: int
    """Outcomes without a report (the grader failed): counted in `done`, listed apart."""
    seconds: float

    @property
    def per_minute(self) -> float:
        return 60.0 * self.done / self.seconds


def _jobs(count: int, run: str) -> list[Job]:
    """`count` distinct submissions (correct and mistaken files, each made unique by a comment)."""
    sources = [path.read_bytes() for folder in ("correct", "mistakes") for path in sorted((SUBMISSIONS / folder).glob("*.py"))]
    return [Job(f"{run}-{n}", Submission(f"s{n}.py", sources[n % len(sources)] + f"\n# {run} {n}\n".encode()))
            for n in range(count)]


def measure(queue: JobQueue, name: str, workers: int, count: int, limit: float, run: int) -> Measurement:
    """Submit `count` jobs (distinct in every run) and wait (at most `limit` s) for their outcomes."""
    jobs = _jobs(count, f"{name}{workers}-{os.getpid()}-{run}")
    started = time.monotonic()
    for job in jobs:
        queue.submit(job)
    outcomes = []
    while len(outcomes) < count and time.monotonic() - started < limit:
        outcomes += queue.finished(0.5)
    failed = [outcome for outcome in outcomes if outcome.report is None]
    if failed:
        print(f"{name} x{workers}: {len(failed)} jobs failed, e.g. {failed[0].error}")
    return Measurement(name, workers, count, len(outcomes), len(failed), time.monotonic() - started)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _stop(process: subprocess.Popen[bytes]) -> None:
    """Stop a process we started, by its PID: TERM, then KILL if it lingers."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            os.kill(process.pid, signal.SIGKILL)
            process.wait(10)


@contextlib.contextmanager
def redis_server(folder: Path) -> Iterator[str]:
    port = _free_port()
    process = subprocess.Popen([REDIS_SERVER, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                                "--appendonly", "no", "--dir", str(folder)], stdout=subprocess.DEVNULL)
    try:
        time.sleep(0.3)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        _stop(process)


@contextlib.contextmanager
def workers(broker: str, count: int, backend: str, folder: Path) -> Iterator[None]:
    """`count` worker processes, each grading one job at a time, ready before this yields."""
    started = []
    try:
        for index in range(count):
            name = f"bench{index}@{socket.gethostname()}"
            log = folder / f"{name}.log"
            with open(log, "wb") as handle:
                started.append(subprocess.Popen(
                    [sys.executable, "-m", "grader.jobs", "--broker", broker, "--backend", backend,
                     "--concurrency", "1", "--name", name],
                    cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)}, stdout=handle, stderr=subprocess.STDOUT))
            deadline = time.monotonic() + START_SECONDS
            while f"{name} ready." not in log.read_text(errors="replace"):
                if started[-1].poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"worker {name} did not start:\n{log.read_text(errors='replace')}")
                time.sleep(0.1)
        yield
    finally:
        for process in started:
            _stop(process)


def one_round(args: argparse.Namespace, broker: str, folder: Path, run: int) -> list[Measurement]:
    """Every setup once: embedded with 1 and 2 threads, Celery with 1 and 2 workers."""
    results = []
    for threads in (1, 2):
        embedded = EmbeddedQueue(threads, args.backend)
        results.append(measure(embedded, "embedded", threads, args.jobs, args.limit, run))
        embedded.close()
    for count in (1, 2):
        with workers(broker, count, args.backend, folder):
            queue = CeleryQueue(QueueSettings(broker_url=broker))
            results.append(measure(queue, "celery", count, args.jobs, args.limit, run))
            queue.close()
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=40, help="jobs per setup")
    parser.add_argument("--backend", choices=["docker", "process"], default="docker")
    parser.add_argument("--rounds", type=int, default=2, help="rounds of every setup; the fastest of each is shown")
    parser.add_argument("--limit", type=float, default=300.0, help="seconds per setup at most")
    args = parser.parse_args()
    print(f"{args.jobs} jobs per setup, best of {args.rounds} rounds, {args.backend} sandbox, {os.cpu_count()} cores, "
          f"load average {os.getloadavg()[0]:.1f} at start")
    with tempfile.TemporaryDirectory(prefix="queue-bench-") as temp, redis_server(Path(temp)) as broker:
        rounds = [one_round(args, broker, Path(temp), run) for run in range(args.rounds)]
    # On a shared machine the least disturbed round is the closest to what the setup can do.
    results = [min(setups, key=lambda row: row.seconds) for setups in zip(*rounds)]
    print(f"{'queue':<9} {'workers':>7} {'jobs':>5} {'done':>5} {'failed':>6} {'seconds':>8} {'jobs/min':>9} "
          f"{'per worker':>11}  all rounds (jobs/min)")
    for row, setups in zip(results, zip(*rounds)):
        print(f"{row.queue:<9} {row.workers:>7} {row.jobs:>5} {row.done:>5} {row.failed:>6} {row.seconds:>8.1f} "
              f"{row.per_minute:>9.0f} {row.per_minute / row.workers:>11.0f}  "
              + " ".join(f"{setup.per_minute:.0f}" for setup in setups))
    one, two = results[2], results[3]
    print(f"celery scaling 1 -> 2 workers: {two.per_minute / one.per_minute:.2f}x; "
          f"celery 2 workers vs embedded 2 threads: {two.per_minute / results[1].per_minute:.2f}x")
    print(f"load average {os.getloadavg()[0]:.1f} at the end (other work on the machine slows every setup)")
    return 0 if all(row.done == row.jobs and not row.failed for round_ in rounds for row in round_) else 1

if __name__ == "__main__":
    sys.exit(main())
