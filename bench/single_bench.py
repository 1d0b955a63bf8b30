"""One grade with the Docker backend against the floor of a bare hardened `docker run`.

Prints the median wall time of, in one run on one machine:
- floor: `docker run --rm --network none <image> python3 -c 'import numpy'`
- grade(): the library call in a warm process (a cold, fresh container per grade)
- grade CLI: the whole `grade submission.py` command, Python start-up included
and the ratio of each to the floor. Target (issue 4): a cold Docker grade within 1.5x.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SUBMISSION = ROOT / "submissions" / "correct" / "template_with_seed.py"
ROUNDS = 7


def _median_seconds(action, rounds: int = ROUNDS) -> float:
    action()  # one warm-up: page cache, image layers
    samples = []
    for _ in range(rounds):
        started = time.perf_counter()
        action()
        samples.append(time.perf_counter() - started)
    return statistics.median(samples)


def main() -> dict[str, float]:
    sys.path.insert(0, str(ROOT))
    from grader.engine import grade
    from grader.sandbox.docker import image_tag
    from grader.submission import Submission

    image = image_tag()
    submission = Submission.from_path(SUBMISSION)

    def floor() -> None:
        subprocess.run(["docker", "run", "--rm", "--network", "none", image, "python3", "-c", "import numpy"],
                       check=True, capture_output=True)

    def library() -> None:
        report = grade(submission, backend="docker")
        assert report.score == report.max_score, report.message

    report = Path(tempfile.mkdtemp(prefix="grader-bench-")) / "report.json"

    def cli() -> None:
        subprocess.run([sys.executable, "-m", "grader", str(SUBMISSION), "--report", str(report)],
                       check=True, capture_output=True, cwd=ROOT)

    results = {"floor": _median_seconds(floor), "grade()": _median_seconds(library), "grade CLI": _median_seconds(cli)}
    print(f"single grade, Docker backend, median of {ROUNDS} ({image})")
    print(f"  {'what':<12} {'seconds':>8} {'x floor':>8}")
    for name, seconds in results.items():
        print(f"  {name:<12} {seconds:>8.3f} {seconds / results['floor']:>8.2f}")
    return results


if __name__ == "__main__":
    main()
