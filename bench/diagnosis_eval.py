"""How well the primary diagnosis names the mistakes of the labelled set (submissions/labelled/).

Grades every labelled file with the process backend (our own files: `--unsafe-no-sandbox`
is fine here) and compares each function's primary diagnosis with `labels.toml`:
- a wrong function is named rightly when its primary id is its label, named wrongly when a
  mistake or cause other than its label is named, and not named when only an observation is left;
- a function the label does not list must pass, with no diagnosis at all.
Prints the counts per family (the label's prefix: cost, backward_l2, … or the cause), every
miss, and the time diagnosis takes per failed function (goal: under 50 ms): on a first pass, where
each model runs for the first time in the process (as in one `grade` command), and on a second
pass over the same files, where the models' outputs are remembered (as in `grade batch` or the
service). Files marked
`held_out` (written after the models, some with mistakes no model describes) are counted apart.
Exit status 1 when a wrong diagnosis is made anywhere or fewer than 90% of the wrong functions
of the main set are named rightly.
"""

from __future__ import annotations

import collections
import statistics
import sys
import time
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LABELLED = ROOT / "submissions" / "labelled"
GOAL = 0.9


def _family(label: str) -> str:
    return label.split(".", 1)[0] if "." in label else f"cause: {label}"


def main() -> int:
    sys.path.insert(0, str(ROOT))
    import grader.diagnose
    from grader.engine import grade
    from grader.submission import Submission

    seconds: list[float] = []
    failed_functions: list[int] = []
    diagnose = grader.diagnose.diagnose

    def timed(assignment, result, checks, functions):
        started = time.perf_counter()
        diagnosed = diagnose(assignment, result, checks, functions)
        seconds.append(time.perf_counter() - started)
        failed_functions.append(sum(not function.passed for function in functions.values()))
        return diagnosed

    grader.diagnose.diagnose = timed
    labels = tomllib.loads((LABELLED / "labels.toml").read_text())["submission"]
    tally: dict[str, collections.Counter[str]] = collections.defaultdict(collections.Counter)
    held_out: collections.Counter[str] = collections.Counter()
    misses: list[str] = []
    reports = {}
    for _ in range(2):
        for entry in labels:
            path = LABELLED / entry["file"]
            reports[entry["file"]] = grade(Submission(name=path.name, content=path.read_bytes()), backend="process")
    for entry in labels:
        report = reports[entry["file"]]
        for name, function in report.functions.items():
            label = entry["expected"].get(name)
            if label is None:
                if not function.passed or function.primary or function.diagnosis:
                    tally["correct functions"]["named wrongly"] += 1
                    misses.append(f"{entry['file']}: {name} should pass undiagnosed")
                else:
                    tally["correct functions"]["left alone"] += 1
                continue
            primary = function.primary
            if primary is not None and primary.id == label:
                outcome = "named rightly"
            elif primary is None or primary.kind == "observation":
                outcome = "not named"
            else:
                outcome = "named wrongly"
            (held_out if entry.get("held_out") else tally[_family(label)])[outcome] += 1
            if outcome != "named rightly":
                misses.append(f"{entry['file']}: {name} is {label}, "
                              f"got {primary.kind if primary else None} {primary.id if primary else ''}")
    grader.diagnose.diagnose = diagnose

    wrong = collections.Counter()
    print(f"{'family':<28}{'named rightly':>15}{'named wrongly':>15}{'not named':>11}")
    for family, counts in sorted(tally.items()):
        if family != "correct functions":
            wrong.update(counts)
        print(f"{family:<28}{counts['named rightly']:>15}{counts['named wrongly']:>15}{counts['not named']:>11}")
    correct = tally["correct functions"]
    print(f"correct functions left alone: {correct['left alone']}, diagnosed: {correct['named wrongly']}")
    total = sum(wrong.values())
    rate = wrong["named rightly"] / total if total else 1.0
    print(f"held out: {sum(held_out.values())} wrong functions; named rightly {held_out['named rightly']}, "
          f"named wrongly {held_out['named wrongly']}, not named {held_out['not named']}")
    print(f"main set: {total} wrong functions; named rightly {wrong['named rightly']} ({100 * rate:.1f}%), "
          f"named wrongly {wrong['named wrongly']}, not named {wrong['not named']}")
    per_function = [s / n for s, n in zip(seconds, failed_functions) if n]
    half = len(per_function) // 2
    for name, times in (("first pass", per_function[:half]), ("second pass", per_function[half:])):
        print(f"diagnosis time per failed function, {name}: median {1000 * statistics.median(times):.1f} ms, "
              f"max {1000 * max(times):.1f} ms")
    for miss in misses:
        print("  miss:", miss)
    wrongly = wrong["named wrongly"] + held_out["named wrongly"] + correct["named wrongly"]
    return 0 if rate >= GOAL and not wrongly else 1


if __name__ == "__main__":
    sys.exit(main())
