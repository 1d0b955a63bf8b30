"""Prometheus text rendering."""

from __future__ import annotations

from grader.service.metrics import Metrics


def test_counters_histograms_and_gauges_render_in_text_format():
    metrics = Metrics()
    metrics.inc("grader_submissions_total", outcome="accepted")
    metrics.inc("grader_submissions_total", outcome="accepted")
    metrics.observe("grader_accept_seconds", 0.02)
    metrics.observe("grader_accept_seconds", 3.0)
    text = metrics.render({"grader_jobs": {"queued": 2, "done": 5}})
    lines = text.splitlines()
    assert "# TYPE grader_submissions_total counter" in lines
    assert 'grader_submissions_total{outcome="accepted"} 2' in lines
    assert 'grader_accept_seconds_bucket{le="0.025"} 1' in lines
    assert 'grader_accept_seconds_bucket{le="5"} 2' in lines
    assert 'grader_accept_seconds_bucket{le="+Inf"} 2' in lines
    assert "grader_accept_seconds_count 2" in lines
    assert 'grader_jobs{state="done"} 5' in lines
    assert text.endswith("\n")


def test_label_values_are_escaped():
    metrics = Metrics()
    metrics.inc("grader_jobs_finished_total", status='we"ird\n')
    assert 'grader_jobs_finished_total{status="we\\"ird\\n"} 1' in metrics.render({})
