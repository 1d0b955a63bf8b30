"""summary.html: the numbers behind its plots, escaping, no network, and a real headless-Chromium render."""

from __future__ import annotations

import os
import shutil
import struct
import subprocess
import zlib

import numpy as np
import pytest

from grader.assignment import load_assignment
from grader.batch.inputs import Absent
from grader.batch.page import (
    BAR, PASS, frequent_failures, histogram, pass_rates, students_by_diagnosis, summary_page,
)
from grader.batch.run import absent_report, grade_batch
from grader.report import FunctionResult, PrimaryDiagnosis, Report
from tests.batch.conftest import BROKEN, correct, mistaken, write_tree

ASSIGNMENT = load_assignment()
COST = "compute_cost_with_regularization"


def _report(student: str, status: str = "graded", functions: dict[str, FunctionResult] | None = None) -> Report:
    """A zero report whose `functions` replace the placeholders."""
    report = absent_report(ASSIGNMENT, Absent(student, "x"))
    return report.model_copy(update={"status": status, "functions": {**report.functions, **(functions or {})}})


def _failing(message: str) -> FunctionResult:
    """A cost function whose only case failed with `message`."""
    return FunctionResult.model_validate({
        "score": 0.0, "max_score": 15.0, "passed": False, "cases": [{
            "id": "cost-public", "visibility": "visible", "score": 0.0, "max_score": 3.0, "passed": False,
            "outputs": {"cost": {"scored": True, "points": 2.0, "score": 0.0, "passed": False, "message": message}}}]})


def test_histogram_puts_zero_in_the_first_bin_and_full_marks_in_the_last():
    bins = histogram([0, 7.9, 8, 79.9, 80, 80], 80)
    assert [item.count for item in bins] == [2, 1, 0, 0, 0, 0, 0, 0, 0, 3]
    assert (bins[0].low, bins[-1].high) == (0, 80)


def test_pass_rates_count_only_students_who_handed_in_something():
    passed = _failing("x").model_copy(update={"passed": True, "score": 15.0})
    reports = {"a": _report("a", functions={COST: passed}), "b": _report("b"),
               "z": _report("z", status="missing")}
    cost = next(rate for rate in pass_rates(reports, list(ASSIGNMENT.functions)) if rate.function == COST)
    assert (cost.passed, cost.of, cost.mean_score) == (1, 2, 7.5)


def test_the_same_mistake_with_different_numbers_groups_across_students():
    reports = {
        "a": _report("a", functions={COST: _failing("cost is not within tolerance: largest difference 0.18")}),
        "b": _report("b", functions={COST: _failing("cost is not within tolerance: largest difference 7")}),
        "c": _report("c", functions={COST: _failing("cost was not produced")}),
    }
    assert frequent_failures(reports)[:2] == [
        (COST, "cost is not within tolerance: largest difference #", 2), (COST, "cost was not produced", 1)]


def _led_by(kind: str, primary_id: str) -> FunctionResult:
    """A failed cost function leading with this primary diagnosis."""
    primary = {"kind": kind, "id": primary_id, "sentence": f"revisit {primary_id}"}
    return _failing("wrong").model_copy(update={"primary": PrimaryDiagnosis.model_validate(primary)})


def test_students_are_grouped_by_the_named_mistake_their_function_leads_with_largest_group_first():
    reports = {"a": _report("a", functions={COST: _led_by("mistake", "cost.log10")}),
               "b": _report("b", functions={COST: _led_by("mistake", "cost.l2-over-m")}),
               "c": _report("c", functions={COST: _led_by("mistake", "cost.l2-over-m")}),
               "d": _report("d", functions={COST: _led_by("cause", "not-defined")}),
               "e": _report("e", functions={COST: _led_by("observation", "observation")})}
    groups = [(group.id, group.students) for group in students_by_diagnosis(reports)]
    assert groups == [("cost.l2-over-m", ["b", "c"]), ("cost.log10", ["a"]), ("not-defined", ["d"])]
    page = summary_page(reports, ASSIGNMENT)
    assert "<td>revisit cost.l2-over-m</td><td>2</td><td>b, c</td>" in page


def test_page_says_so_when_reports_have_no_diagnoses():
    assert "No diagnoses in these reports." in summary_page({"a": _report("a")}, ASSIGNMENT)


def test_text_from_submissions_is_escaped():
    page = summary_page({"a": _report("a", functions={COST: _failing("<script>alert(1)</script> & <img>")})},
                        ASSIGNMENT)
    assert "&lt;script&gt;alert(#)&lt;/script&gt; &amp; &lt;img&gt;" in page
    assert "<script" not in page and "<img" not in page


def test_page_is_self_contained_and_forbids_network_and_scripts():
    page = summary_page({"a": _report("a")}, ASSIGNMENT)
    assert "default-src 'none'" in page
    assert " src=" not in page and " href=" not in page and "url(" not in page
    assert page.count("<svg") == 2


def _chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        reason = "headless Chromium is missing; install it with `apt-get install -y chromium`"
        if os.environ.get("CI") == "true":
            pytest.fail(reason, pytrace=False)
        pytest.skip(reason)
    return found


def _unfilter(raw: bytes, width: int, height: int, channels: int) -> np.ndarray:
    """PNG scanline filters undone (numpy for None/Sub/Up, plain loops for Average/Paeth)."""
    stride = width * channels
    rows = np.zeros((height, stride), dtype=np.uint8)
    previous = np.zeros(stride, dtype=np.int64)
    for y in range(height):
        start = y * (stride + 1)
        kind, line = raw[start], np.frombuffer(raw, np.uint8, stride, start + 1).astype(np.int64)
        if kind == 1:
            line = np.cumsum(line.reshape(width, channels), axis=0).reshape(-1) % 256
        elif kind == 2:
            line = (line + previous) % 256
        elif kind in (3, 4):
            out = line.tolist()
            up = previous.tolist()
            for i in range(stride):
                left = out[i - channels] if i >= channels else 0
                corner = up[i - channels] if i >= channels else 0
                if kind == 3:
                    out[i] = (out[i] + (left + up[i]) // 2) % 256
                    continue
                estimate = left + up[i] - corner
                pa, pb, pc = abs(estimate - left), abs(estimate - up[i]), abs(estimate - corner)
                predictor = left if pa <= pb and pa <= pc else up[i] if pb <= pc else corner
                out[i] = (out[i] + predictor) % 256
            line = np.array(out, dtype=np.int64)
        rows[y] = line
        previous = line
    return rows.reshape(height, width, channels)


def _pixels(png: bytes) -> np.ndarray:
    """An 8-bit RGB(A) non-interlaced PNG (what Chromium writes) as a height x width x 3 array."""
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    position, chunks, header = 8, [], b""
    while position < len(png):
        length, kind = struct.unpack(">I4s", png[position:position + 8])
        data = png[position + 8:position + 8 + length]
        position += 12 + length
        if kind == b"IHDR":
            header = data
        elif kind == b"IDAT":
            chunks.append(data)
    width, height, depth, color, _, _, interlace = struct.unpack(">IIBBBBB", header)
    assert (depth, interlace) == (8, 0) and color in (2, 6)
    channels = 4 if color == 6 else 3
    return _unfilter(zlib.decompress(b"".join(chunks)), width, height, channels)[:, :, :3]


def _has_colour(pixels: np.ndarray, hex_colour: str) -> bool:
    rgb = np.array([int(hex_colour[index:index + 2], 16) for index in (1, 3, 5)])
    return bool((np.abs(pixels.astype(int) - rgb).sum(axis=2) <= 6).sum() > 200)


@pytest.mark.slow
def test_summary_renders_in_headless_chromium_with_its_plots(tmp_path):
    chromium = _chromium()
    write_tree(tmp_path / "in", {"alice.py": correct(), "bob.py": correct("b"), "carol.py": mistaken(),
                                 "dave.py": BROKEN})
    grade_batch(tmp_path / "in", tmp_path / "out", jobs=2, backend="process")
    screenshot = tmp_path / "summary.png"
    subprocess.run(
        [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         f"--user-data-dir={tmp_path / 'profile'}", f"--screenshot={screenshot}", "--window-size=1200,1600",
         (tmp_path / "out" / "summary.html").as_uri()],
        check=True, capture_output=True, timeout=120,
    )
    pixels = _pixels(screenshot.read_bytes())
    assert pixels.shape == (1600, 1200, 3)
    not_white = (pixels < 245).any(axis=2).mean()
    assert not_white > 0.02, f"the page looks blank ({not_white:.1%} of pixels are not white)"
    assert _has_colour(pixels, BAR), "no histogram bars were drawn"
    assert _has_colour(pixels, PASS), "no pass-rate bars were drawn"
