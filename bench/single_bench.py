"""One grade with the Docker backend against the container floor, in one run on one machine.

Measured in turn (A B A B ...), after one warm-up each:
- floor: a bare hardened `docker run --rm <image> python3 -c 'import numpy'` (bench/floor.py)
- grade CLI: the whole `grade submission.py` command (the `grade` script beside this interpreter,
  not a version-manager shim), start-up and report included
- grade(): the library call in a warm process (a fresh container per grade), for reference
Prints the medians, the median of the per-pair ratios to the floor, and PASS/FAIL for the
target (issue 17): the `grade FILE` command within 1.5x the floor. Exits 0 either way.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from floor import ROOT, run_floor

SUBMISSION = ROOT / "submissions" / "correct" / "template_with_seed.py"
ROUNDS = 15
TARGET_CLI_RATIO = 1.5


def _seconds(action) -> float:
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def main() -> dict[str, float]:
    from grader.engine import grade
    from grader.sandbox.docker import image_tag
    from grader.submission import Submission

    image = image_tag()
    submission = Submission.from_path(SUBMISSION)
    report = Path(tempfile.mkdtemp(prefix="grader-bench-")) / "report.json"
    # A pip-installed grader has its bytecode compiled at install; a shell that sets
    # PYTHONDONTWRITEBYTECODE (this machine's does) would make every run compile the package again.
    environment = {key: value for key, value in os.environ.items() if key != "PYTHONDONTWRITEBYTECODE"}
    environment["PYTHONPATH"] = str(ROOT)

    # The `grade` script pip installed beside this interpreter, as a user runs it (`python -m grader`
    # when there is none: runpy makes that ~10 ms slower).
    script = Path(sys.executable).with_name("grade")
    command = [str(script)] if script.is_file() else [sys.executable, "-m", "grader"]

    def cli() -> None:
        subprocess.run([*command, str(SUBMISSION), "--report", str(report)],
                       check=True, capture_output=True, cwd=ROOT, env=environment)

    def library() -> None:
        result = grade(submission, backend="docker")
        assert result.score == result.max_score, result.message

    actions = {"floor": lambda: run_floor(image), "grade CLI": cli, "grade()": library}
    for action in actions.values():
        action()  # warm-up: page cache, image layers, the CLI's cached case bundle
    samples: dict[str, list[float]] = {name: [] for name in actions}
    for _ in range(ROUNDS):
        for name, action in actions.items():
            samples[name].append(_seconds(action))
    print(f"single grade, Docker backend, {ROUNDS} rounds in turn ({image}), {os.cpu_count()} cores, "
          f"load average {os.getloadavg()[0]:.1f}; grade CLI = {' '.join(command)}")
    print(f"  {'what':<12} {'median s':>9} {'min s':>7} {'x floor':>8}")
    results = {}
    for name, values in samples.items():
        ratio = statistics.median(value / floor for value, floor in zip(values, samples["floor"]))
        results[name] = ratio
        print(f"  {name:<12} {statistics.median(values):>9.3f} {min(values):>7.3f} {ratio:>8.2f}")
    verdict = "PASS" if results["grade CLI"] <= TARGET_CLI_RATIO else "FAIL"
    print(f"{verdict}: grade FILE is {results['grade CLI']:.2f}x the container floor (target <= {TARGET_CLI_RATIO}x)")
    return results


if __name__ == "__main__":
    main()
