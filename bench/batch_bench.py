"""Batch throughput: submissions per minute with the Docker sandbox and the local process backend.

Generates a class from submissions/ (correct, mistaken and broken files; a comment
makes each file distinct so deduplication cannot help), grades it with both backends
in one run, then grades a class of duplicates to show what deduplication saves.
Targets (issue 7): Docker at least 150/min on 2 cores and within 1.5x of the process backend.

    python bench/batch_bench.py [--students 240] [--jobs N]
"""

from __future__ import annotations

import argparse
import dataclasses
import io
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from grader.batch.queued import DEFAULT_JOBS  # noqa: E402
from grader.batch.progress import LogProgress  # noqa: E402
from grader.batch.run import grade_batch  # noqa: E402

SUBMISSIONS = ROOT / "submissions"
BROKEN = (
    "def compute_cost_with_regularization(A3, Y, parameters, lambd:\n    return 0\n",
    "import numpy as np\nraise RuntimeError('half-finished notebook export')\n",
    "def forward_propagation_with_dropout(X, parameters, keep_prob=0.5):\n    return None\n",
)
TARGET_PER_MINUTE = 150.0
TARGET_RATIO = 1.5


def _sources() -> dict[str, list[str]]:
    return {
        "correct": [path.read_text() for path in sorted((SUBMISSIONS / "correct").glob("*.py"))],
        "mistaken": [path.read_text() for path in sorted((SUBMISSIONS / "mistakes").glob("*.py"))],
        "broken": list(BROKEN),
    }


def generate(folder: Path, students: int, distinct: bool) -> dict[str, int]:
    """Write `students` files, 40% correct, 40% mistaken, 20% broken; return the mix."""
    sources = _sources()
    kinds = ["correct", "mistaken", "correct", "mistaken", "broken"]
    mix: dict[str, int] = {}
    folder.mkdir(parents=True)
    for index in range(students):
        kind = kinds[index % len(kinds)]
        pool = sources[kind]
        text = pool[(index // len(kinds)) % len(pool)]
        marker = f"\n# submission {index}\n" if distinct else "\n"
        (folder / f"student{index:04d}.py").write_text(text + marker)
        mix[kind] = mix.get(kind, 0) + 1
    return mix


@dataclasses.dataclass(frozen=True)
class Measurement:
    backend: str
    files: str
    students: int
    graded: int
    seconds: float

    @property
    def per_minute(self) -> float:
        return 60.0 * self.students / self.seconds


def measure(source: Path, work: Path, backend: str, jobs: int, files: str, students: int) -> Measurement:
    out = work / f"out-{backend}-{files}"
    started = time.monotonic()
    result = grade_batch(source, out, jobs=jobs, backend=backend, progress=LogProgress(io.StringIO()))
    seconds = time.monotonic() - started
    return Measurement(backend, files, students, result.graded, seconds)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=240)
    parser.add_argument("--jobs", type=int, default=DEFAULT_JOBS)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="batch-bench-") as temp:
        work = Path(temp)
        mix = generate(work / "distinct", args.students, distinct=True)
        generate(work / "duplicates", args.students, distinct=False)
        print(f"{args.students} submissions ({', '.join(f'{count} {kind}' for kind, count in mix.items())}), "
              f"--jobs {args.jobs}, {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} at start")
        results = [measure(work / files, work, backend, args.jobs, files, args.students)
                   for files in ("distinct", "duplicates") for backend in ("process", "docker")]
    print(f"{'backend':<9} {'files':<11} {'students':>8} {'sandbox runs':>12} {'seconds':>8} {'per minute':>11}")
    for row in results:
        print(f"{row.backend:<9} {row.files:<11} {row.students:>8} {row.graded:>12} {row.seconds:>8.1f} "
              f"{row.per_minute:>11.0f}")
    print(f"load average {os.getloadavg()[0]:.1f} at the end (other work on the machine slows both backends)")
    process, docker = results[0], results[1]
    ratio = docker.seconds / process.seconds
    print(f"docker / process time on distinct files: {ratio:.2f}x (target <= {TARGET_RATIO}x: "
          f"{'met' if ratio <= TARGET_RATIO else 'MISSED'})")
    print(f"docker throughput on distinct files: {docker.per_minute:.0f}/min (target >= {TARGET_PER_MINUTE:.0f}: "
          f"{'met' if docker.per_minute >= TARGET_PER_MINUTE else 'MISSED'})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
