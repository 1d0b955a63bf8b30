"""What a hostile run costs the host: CPU seconds and peak memory of grading, beside a correct run.

Grades the correct submission and every file of `submissions/adversarial/flood/` (the
output-channel flood shapes), each in a fresh child process, and prints per file the
host CPU seconds (user + system) and peak RSS of that child, the median of a few rounds,
and their ratio to the correct run of the same invocation. Target (issue 13): no hostile
run costs more than 2x a correct one.

The child measures itself (RUSAGE_SELF, all its threads) when grading is done: that is
the host part on every backend. RUSAGE_CHILDREN in the parent would be the same for
docker and bwrap, but on the process backend it would also count the runner, which is
the sandboxed part.

    python bench/hostile_bench.py [--backend docker|bwrap|process] [--rounds 3] [FILE ...]
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CORRECT = ROOT / "submissions" / "correct" / "template_with_seed.py"
SHAPES = ROOT / "submissions" / "adversarial" / "flood"
TARGET = 2.0


def _measure(path: Path, backend: str) -> dict[str, object]:
    """Grade one file in this process and return what grading cost it."""
    sys.path.insert(0, str(ROOT))
    from grader.engine import grade
    from grader.sandbox import get_backend
    from grader.submission import Submission

    report = grade(Submission.from_path(path), backend=get_backend(backend), timeout=20.0)
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return {
        "status": report.status,
        "message": report.message,
        "score": report.score,
        "cpu": usage.ru_utime + usage.ru_stime,
        "rss_mib": usage.ru_maxrss / 1024,
    }


def _child(path: Path, backend: str) -> dict[str, object]:
    done = subprocess.run(
        [sys.executable, __file__, "--measure", str(path), "--backend", backend],
        capture_output=True, text=True, cwd=ROOT, check=False,
    )
    if done.returncode != 0:
        raise SystemExit(f"measuring {path.name} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.splitlines()[-1])


def _median_run(path: Path, backend: str, rounds: int) -> dict[str, object]:
    runs = [_child(path, backend) for _ in range(rounds)]
    last = runs[-1]
    return {
        **last,
        "cpu": statistics.median(run["cpu"] for run in runs),
        "rss_mib": statistics.median(run["rss_mib"] for run in runs),
    }


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", default="docker")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--measure", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("files", nargs="*", type=Path)
    options = parser.parse_args(argv)
    if options.measure:
        print(json.dumps(_measure(options.measure, options.backend)))
        return 0

    files = options.files or sorted(SHAPES.glob("*.py"))
    correct = _median_run(CORRECT, options.backend, options.rounds)
    print(f"host cost of grading, {options.backend} backend, median of {options.rounds} (one child process each)")
    print(f"  {'submission':<36} {'CPU s':>6} {'x':>5} {'peak MiB':>9} {'x':>5}  status: message")
    print(f"  {'correct (' + CORRECT.name + ')':<36} {correct['cpu']:6.2f} {1:5.2f} {correct['rss_mib']:9.1f} "
          f"{1:5.2f}  {correct['status']}: {correct['message'][:60]}")
    worst = 0.0
    for path in files:
        run = _median_run(path, options.backend, options.rounds)
        cpu_ratio = run["cpu"] / correct["cpu"]
        rss_ratio = run["rss_mib"] / correct["rss_mib"]
        worst = max(worst, cpu_ratio, rss_ratio)
        print(f"  {path.name:<36} {run['cpu']:6.2f} {cpu_ratio:5.2f} {run['rss_mib']:9.1f} {rss_ratio:5.2f}  "
              f"{run['status']}: {run['message'][:60]}")
    print(f"worst ratio {worst:.2f} (target <= {TARGET:g})")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
