"""The service's metrics as a Prometheus scraper reads them (parsed with prometheus_client's own parser)."""

from __future__ import annotations

from prometheus_client.openmetrics.parser import text_string_to_metric_families as openmetrics_families
from prometheus_client.parser import text_string_to_metric_families

from grader.service.metrics import Metrics


def _samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def test_counters_count_by_label():
    metrics = Metrics()
    metrics.inc("grader_submissions_total", outcome="accepted")
    metrics.inc("grader_submissions_total", outcome="accepted")
    metrics.inc("grader_submissions_total", outcome="invalid")
    samples = _samples(metrics.render({}))
    assert samples[("grader_submissions_total", (("outcome", "accepted"),))] == 2
    assert samples[("grader_submissions_total", (("outcome", "invalid"),))] == 1


def test_histograms_count_durations_into_cumulative_buckets():
    metrics = Metrics()
    metrics.observe("grader_accept_seconds", 0.02)
    metrics.observe("grader_accept_seconds", 3.0)
    samples = _samples(metrics.render({}))
    assert samples[("grader_accept_seconds_bucket", (("le", "0.025"),))] == 1
    assert samples[("grader_accept_seconds_bucket", (("le", "5.0"),))] == 2
    assert samples[("grader_accept_seconds_bucket", (("le", "+Inf"),))] == 2
    assert samples[("grader_accept_seconds_count", ())] == 2
    assert samples[("grader_accept_seconds_sum", ())] == 3.02


def test_gauges_read_per_scrape_by_state_or_as_one_value():
    samples = _samples(Metrics().render({"grader_jobs": {"queued": 2, "done": 5}, "grader_jobs_held": 1}))
    assert samples[("grader_jobs", (("state", "done"),))] == 5
    assert samples[("grader_jobs", (("state", "queued"),))] == 2
    assert samples[("grader_jobs_held", ())] == 1


def test_a_gauge_not_read_is_absent():
    assert "grader_sandbox_up" not in Metrics().render({})


def test_every_metric_is_declared_with_its_type():
    lines = Metrics().render({"grader_jobs": {}}).splitlines()
    assert "# TYPE grader_submissions_total counter" in lines
    assert "# TYPE grader_accept_seconds histogram" in lines
    assert "# TYPE grader_jobs gauge" in lines


def test_process_metrics_are_exposed():
    samples = _samples(Metrics().render({}))
    assert samples[("process_cpu_seconds_total", ())] >= 0
    assert samples[("process_resident_memory_bytes", ())] > 0


def test_two_instances_count_apart():
    first, second = Metrics(), Metrics()
    first.inc("grader_sandbox_outages_total")
    assert _samples(first.render({}))[("grader_sandbox_outages_total", ())] == 1
    assert _samples(second.render({}))[("grader_sandbox_outages_total", ())] == 0


def test_label_values_are_escaped():
    metrics = Metrics()
    metrics.inc("grader_jobs_finished_total", status='we"ird\n')
    assert 'grader_jobs_finished_total{status="we\\"ird\\n"} 1.0' in metrics.render({})


def test_plain_scrapers_get_the_text_format():
    _, content_type = Metrics().exposition({}, accept="*/*")
    assert content_type.startswith("text/plain; version=0.0.4")


def test_scrapers_that_ask_for_openmetrics_get_it():
    metrics = Metrics()
    metrics.inc("grader_submissions_total", outcome="accepted")
    body, content_type = metrics.exposition(
        {}, accept="application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5"
    )
    assert content_type.startswith("application/openmetrics-text; version=1.0.0")
    families = {family.name: family for family in openmetrics_families(body.decode())}
    [sample] = [s for s in families["grader_submissions"].samples if s.name == "grader_submissions_total"]
    assert (sample.labels, sample.value) == ({"outcome": "accepted"}, 1)
