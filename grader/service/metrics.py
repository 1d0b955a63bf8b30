"""Counters and histograms of the service, rendered in the Prometheus text exposition format."""

from __future__ import annotations

import bisect
import threading
from collections.abc import Mapping

_HELP = {
    "grader_submissions_total": ("counter", "Submission requests by outcome."),
    "grader_jobs_finished_total": ("counter", "Jobs finished by report status."),
    "grader_delivery_attempts_total": ("counter", "Outbound delivery attempts by kind and outcome."),
    "grader_accept_seconds": ("histogram", "Time to verify, store and answer a submission."),
    "grader_grading_seconds": ("histogram", "Time the grading engine took per job."),
    "grader_jobs": ("gauge", "Jobs in the database by state."),
    "grader_deliveries": ("gauge", "Deliveries in the database by state."),
    "grader_jobs_held": ("gauge", "Jobs ended internal_error and held for a person (no grade published)."),
    "grader_jobs_requeued_total": ("counter", "Jobs given back to the queue without spending an attempt, by reason."),
    "grader_sandbox_up": ("gauge", "1 while the sandbox answers, 0 during an outage (absent with Celery workers)."),
    "grader_sandbox_outages_total": ("counter", "Sandbox outages since start (the sandbox stopped answering)."),
    "grader_lti_launches_total": ("counter", "LTI launches by outcome: opened, or the HTTP status of the refusal."),
}
_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0)

Labels = tuple[tuple[str, str], ...]


class Metrics:
    """Thread-safe in-memory counters and histograms; gauges are read from the store per scrape."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counters: dict[tuple[str, Labels], float] = {}
        self._histograms: dict[str, tuple[list[int], list[float]]] = {}

    def inc(self, name: str, **labels: str) -> None:
        """Add one to a counter."""
        key = (name, tuple(sorted(labels.items())))
        with self._lock:
            self._counters[key] = self._counters.get(key, 0.0) + 1

    def observe(self, name: str, seconds: float) -> None:
        """Record one duration in a histogram."""
        with self._lock:
            counts, totals = self._histograms.setdefault(name, ([0] * (len(_BUCKETS) + 1), [0.0]))
            counts[bisect.bisect_left(_BUCKETS, seconds)] += 1
            totals[0] += seconds

    def render(self, gauges: Mapping[str, Mapping[str, int] | float]) -> str:
        """The exposition text; `gauges` maps a gauge name to counts by state, or to one value."""
        with self._lock:
            counters = dict(self._counters)
            histograms = {name: (list(c), t[0]) for name, (c, t) in self._histograms.items()}
        return render(counters, histograms, gauges)


def render(
    counters: Mapping[tuple[str, Labels], float],
    histograms: Mapping[str, tuple[list[int], float]],
    gauges: Mapping[str, Mapping[str, int] | float],
) -> str:
    """Prometheus text format 0.0.4 for the given values."""
    lines: list[str] = []
    for name, (kind, help_text) in _HELP.items():
        lines += [f"# HELP {name} {help_text}", f"# TYPE {name} {kind}"]
        if kind == "counter":
            for (counter, labels), value in sorted(counters.items()):
                if counter == name:
                    lines.append(f"{name}{_labels(labels)} {value:g}")
        elif kind == "gauge":
            gauge = gauges.get(name, {})
            if not isinstance(gauge, Mapping):
                lines.append(f"{name} {gauge:g}")
                continue
            for state, value in sorted(gauge.items()):
                lines.append(f'{name}{{state="{state}"}} {value}')
        elif name in histograms:
            counts, total = histograms[name]
            cumulative = 0
            for bound, count in zip((*_BUCKETS, float("inf")), counts):
                cumulative += count
                le = "+Inf" if bound == float("inf") else f"{bound:g}"
                lines.append(f'{name}_bucket{{le="{le}"}} {cumulative}')
            lines += [f"{name}_sum {total:g}", f"{name}_count {cumulative}"]
    return "\n".join(lines) + "\n"


def _labels(labels: Labels) -> str:
    if not labels:
        return ""
    escaped = (f'{k}="{_escape(v)}"' for k, v in labels)
    return "{" + ",".join(escaped) + "}"


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')
