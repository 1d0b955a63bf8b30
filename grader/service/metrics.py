"""The service's metrics, kept and exposed by `prometheus_client` (with its process metrics)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.exposition import choose_encoder, generate_latest
from prometheus_client.gc_collector import GCCollector
from prometheus_client.platform_collector import PlatformCollector
from prometheus_client.process_collector import ProcessCollector

_COUNTERS = {
    "grader_submissions_total": ("Submission requests by outcome.", ("outcome",)),
    "grader_jobs_finished_total": ("Jobs finished by report status.", ("status",)),
    "grader_delivery_attempts_total": ("Outbound delivery attempts by kind and outcome.", ("kind", "outcome")),
    "grader_jobs_requeued_total": ("Jobs given back to the queue without spending an attempt, by reason.", ("reason",)),
    "grader_sandbox_outages_total": ("Sandbox outages since start (the sandbox stopped answering).", ()),
    "grader_lti_launches_total": ("LTI launches by outcome: opened, or the HTTP status of the refusal.", ("outcome",)),
}
_HISTOGRAMS = {
    "grader_accept_seconds": "Time to verify, store and answer a submission.",
    "grader_grading_seconds": "Time the grading engine took per job.",
}
_GAUGES = {
    "grader_jobs": "Jobs in the database by state.",
    "grader_deliveries": "Deliveries in the database by state.",
    "grader_jobs_held": "Jobs ended internal_error and held for a person (no grade published).",
    "grader_sandbox_up": "1 while the sandbox answers, 0 during an outage (absent with Celery workers).",
}
_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0)

Gauges = Mapping[str, Mapping[str, int] | float]
"""Gauges read from the store per scrape: a gauge's name to its counts by state, or to one value."""


class Metrics:
    """The counters and histograms of one service, in a registry of its own (several apps may share a process)."""

    def __init__(self) -> None:
        self._registry = CollectorRegistry()
        self._counters = {
            name: Counter(name, help_text, labels, registry=self._registry)
            for name, (help_text, labels) in _COUNTERS.items()
        }
        self._histograms = {
            name: Histogram(name, help_text, buckets=_BUCKETS, registry=self._registry)
            for name, help_text in _HISTOGRAMS.items()
        }
        ProcessCollector(registry=self._registry)
        PlatformCollector(registry=self._registry)
        GCCollector(registry=self._registry)

    def inc(self, name: str, **labels: str) -> None:
        """Add one to a counter."""
        counter = self._counters[name]
        (counter.labels(**labels) if labels else counter).inc()

    def observe(self, name: str, seconds: float) -> None:
        """Record one duration in a histogram."""
        self._histograms[name].observe(seconds)

    def exposition(self, gauges: Gauges, accept: str) -> tuple[bytes, str]:
        """The body and content type for a scraper that sent `accept` (text format, or OpenMetrics if asked)."""
        encode, content_type = choose_encoder(accept)
        return encode(_Scrape(self._registry, gauges)), content_type

    def render(self, gauges: Gauges) -> str:
        """The Prometheus text format."""
        return generate_latest(_Scrape(self._registry, gauges)).decode()


class _Scrape:
    """The registry's metrics plus the gauges read for this one scrape (concurrent scrapes share nothing)."""

    def __init__(self, registry: CollectorRegistry, gauges: Gauges) -> None:
        self._registry = registry
        self._gauges = gauges

    def collect(self) -> Iterator[Metric]:
        yield from self._registry.collect()
        for name, help_text in _GAUGES.items():
            if name not in self._gauges:
                continue
            value = self._gauges[name]
            if isinstance(value, Mapping):
                family = GaugeMetricFamily(name, help_text, labels=["state"])
                for state, count in sorted(value.items()):
                    family.add_metric([state], count)
            else:
                family = GaugeMetricFamily(name, help_text, value=value)
            yield family
