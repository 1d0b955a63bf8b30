"""Batch throughput: submissions per minute with the Docker sandbox, against the container floor.

Generates a class from submissions/ (correct, mistaken and broken files; a comment
makes each file distinct so deduplication cannot help), grades it with the Docker and the
local process backends in one run, then grades a class of duplicates to show what
deduplication saves. The floor is as many bare hardened `docker run ... import numpy`
(bench/floor.py) at the same parallelism, measured just before and just after the Docker
batch (their mean). Targets: `grade batch` at least 0.9x the floor's throughput (issue 17);
Docker at least 150/min on 2 cores and within 1.5x of the process backend (issue 7).
Prints PASS/FAIL per target and exits 0 either way.

    python bench/batch_bench.py [--students 240] [--jobs N]
"""

from __future__ import annotations

import argparse
import concurrent.futures
import dataclasses
import io
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from floor import run_floor  # noqa: E402

from grader.batch.queued import DEFAULT_JOBS  # noqa: E402
from grader.batch.progress import LogProgress  # noqa: E402
from grader.batch.run import grade_batch  # noqa: E402
from grader.sandbox.docker_config import image_tag  # noqa: E402

SUBMISSIONS = ROOT / "submissions"
BROKEN = (
    "def compute_cost_with_regularization(A3, Y, parameters, lambd:\n    return 0\n",
    "import numpy as np\nraise RuntimeError('half-finished notebook export')\n",
    "def forward_propagation_with_dropout(X, parameters, keep_prob=0.5):\n    return None\n",
)
TARGET_PER_MINUTE = 150.0
TARGET_RATIO = 1.5
TARGET_FLOOR_RATIO = 0.9


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


def floor_per_minute(image: str, runs: int, jobs: int) -> float:
    """Throughput of `runs` bare hardened containers, `jobs` at a time."""
    started = time.monotonic()
    with concurrent.futures.ThreadPoolExecutor(max_workers=jobs) as pool:
        list(pool.map(lambda _: run_floor(image), range(runs)))
    return 60.0 * runs / (time.monotonic() - started)


def _verdict(met: bool) -> str:
    return "PASS" if met else "FAIL"


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
        image = image_tag()
        run_floor(image)  # warm-up: image layers, page cache
        floor_before = floor_per_minute(image, args.students, args.jobs)
        docker = measure(work / "distinct", work, "docker", args.jobs, "distinct", args.students)
        floor_after = floor_per_minute(image, args.students, args.jobs)
        results = [measure(work / "distinct", work, "process", args.jobs, "distinct", args.students), docker]
        results += [measure(work / "duplicates", work, backend, args.jobs, "duplicates", args.students)
                    for backend in ("process", "docker")]
    print(f"{'backend':<9} {'files':<11} {'students':>8} {'sandbox runs':>12} {'seconds':>8} {'per minute':>11}")
    for row in results:
        print(f"{row.backend:<9} {row.files:<11} {row.students:>8} {row.graded:>12} {row.seconds:>8.1f} "
              f"{row.per_minute:>11.0f}")
    print(f"load average {os.getloadavg()[0]:.1f} at the end (other work on the machine slows both backends)")
    floor = (floor_before + floor_after) / 2
    floor_ratio = docker.per_minute / floor
    print(f"container floor ({args.jobs} at a time): {floor_before:.0f}/min before, {floor_after:.0f}/min after")
    print(f"{_verdict(floor_ratio >= TARGET_FLOOR_RATIO)}: grade batch is {floor_ratio:.2f}x the container floor's "
          f"throughput (target >= {TARGET_FLOOR_RATIO}x)")
    process = results[0]
    ratio = docker.seconds / process.seconds
    print(f"{_verdict(ratio <= TARGET_RATIO)}: docker / process time on distinct files: {ratio:.2f}x "
          f"(target <= {TARGET_RATIO}x)")
    print(f"{_verdict(docker.per_minute >= TARGET_PER_MINUTE)}: docker throughput on distinct files: "
          f"{docker.per_minute:.0f}/min (target >= {TARGET_PER_MINUTE:.0f})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
