"""Host scoring before and after "judging once" (issue 17), side by side in one run.

Host scoring is everything after the sandbox: build the checks, compare under pytest,
score and diagnose (`grader.engine._scored`), here on two stored runs made from the
reference, so no sandbox starts:
- right: every case returns the reference's outputs;
- wrong: the costs are 1.5 times too large (diagnosed), the rest right (masks of the seeded template).
Prints, for the code at BEFORE and for this checkout, each in a fresh process on the same
machine: the median wall and CPU time of one scoring on one thread, and the throughput of
THREADS threads scoring at once (before, a process-wide lock made them take turns at pytest).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tarfile
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BEFORE = "ddb4733d44af451112f79c88ae237a634f726e95"
"""The last commit before judging once: each output compared twice, pytest under a process-wide lock."""
ROUNDS = 15
THREADS = 4
GRADINGS = 48


def _runs():
    from grader.assignment import load_assignment
    from grader.wire import CallResult, SandboxResult

    assignment = load_assignment()

    def run(variant_of, cost_factor: float):
        calls = {}
        for index, case in enumerate(assignment.cases):
            outputs = dict(assignment.data[case.id].expected[variant_of(case)])
            if "cost" in outputs:
                outputs["cost"] = outputs["cost"] * cost_factor
            calls[index] = CallResult(status="returned", outputs=outputs)
        return SandboxResult(loaded=True, calls=calls, complete=True)

    seeded = lambda case: "seed_1" if "seed_1" in assignment.data[case.id].expected else "default"  # noqa: E731
    return assignment, {"right": run(lambda case: "default", 1.0), "wrong": run(seeded, 1.5)}


def measure(threads: int, gradings: int, rounds: int) -> dict[str, float]:
    """In this process, with whichever `grader` it imports: seconds per scoring and scorings per second."""
    from grader.engine import _scored

    assignment, runs = _runs()
    scores = {}
    for kind, result in runs.items():  # warm-up: imports, the mistake models' remembered runs
        functions = _scored(assignment, result, "not run")
        scores[kind] = sum(function.score for function in functions.values())
    assert scores["right"] == assignment.max_score and scores["wrong"] < scores["right"], scores

    measured: dict[str, float] = {}
    for kind, result in runs.items():
        wall, cpu = [], []
        for _ in range(rounds):
            started, started_cpu = time.perf_counter(), time.process_time()
            _scored(assignment, result, "not run")
            wall.append(time.perf_counter() - started)
            cpu.append(time.process_time() - started_cpu)
        measured[f"{kind} submission, 1 thread (ms)"] = statistics.median(wall) * 1000
        # CPU time moves less than wall time with the load of a shared machine.
        measured[f"{kind} submission, 1 thread (CPU ms)"] = statistics.median(cpu) * 1000

    start = threading.Barrier(threads)

    def score(index: int) -> None:
        if index < threads:
            start.wait()
        _scored(assignment, runs["right" if index % 2 else "wrong"], "not run")

    with ThreadPoolExecutor(threads) as pool:
        started = time.perf_counter()
        list(pool.map(score, range(gradings)))
        measured[f"{threads} threads, {gradings} scorings (per s)"] = gradings / (time.perf_counter() - started)
    return measured


def _checkout(revision: str, into: Path) -> Path:
    archive = into / "before.tar"
    with archive.open("wb") as out:
        subprocess.run(["git", "-C", str(ROOT), "archive", revision, "grader", "reference", "testcases"],
                       check=True, stdout=out)
    with tarfile.open(archive) as tar:
        tar.extractall(into / "before", filter="data")
    return into / "before"


def _measure_in(tree: Path, args: argparse.Namespace) -> dict[str, float]:
    command = [sys.executable, __file__, "--measure", "--threads", str(args.threads), "--gradings", str(args.gradings),
               "--rounds", str(args.rounds)]
    environment = os.environ | {"PYTHONPATH": str(tree)}
    done = subprocess.run(command, check=True, capture_output=True, text=True, cwd=tree, env=environment)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", default=BEFORE, help="git revision to compare with (default: %(default).10s)")
    parser.add_argument("--threads", type=int, default=THREADS)
    parser.add_argument("--gradings", type=int, default=GRADINGS)
    parser.add_argument("--rounds", type=int, default=ROUNDS)
    parser.add_argument("--measure", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        print(json.dumps(measure(args.threads, args.gradings, args.rounds)))
        return
    with tempfile.TemporaryDirectory(prefix="scoring-bench-") as scratch:
        before_tree = _checkout(args.before, Path(scratch))
        # Alternate, and keep each side's better round: the machine is shared.
        rounds = [(_measure_in(before_tree, args), _measure_in(ROOT, args)) for _ in range(2)]
    print(f"host scoring (checks, pytest, score, diagnosis): before = {args.before[:10]}, after = this checkout")
    print(f"  {'':<40} {'before':>9} {'after':>9} {'after/before':>13}")
    for name in rounds[0][0]:
        better = max if "per s" in name else min
        before, after = (better(round_[side][name] for round_ in rounds) for side in (0, 1))
        print(f"  {name:<40} {before:>9.1f} {after:>9.1f} {after / before:>12.2f}x")


if __name__ == "__main__":
    main()
