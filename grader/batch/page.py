"""`summary.html`: one self-contained page about a class (inline SVG plots, no scripts, no network).

Pure: reports in, HTML out. Every piece of text from a report is escaped, since
failure messages can quote what a submission printed or raised.
"""

from __future__ import annotations

import collections
import dataclasses
import datetime
import statistics
from collections.abc import Mapping, Sequence
from html import escape

from grader.assignment import Assignment
from grader.batch.failures import function_failures, message_kind
from grader.version import GRADER_VERSION
from grader.report import STATUS_MEANING, Report

BINS = 10
TOP_MESSAGES = 15
BAR = "#4c72b0"
FAIL = "#c44e52"
PASS = "#55a868"


@dataclasses.dataclass(frozen=True)
class Bin:
    low: float
    high: float
    count: int


def histogram(scores: Sequence[float], maximum: float, bins: int = BINS) -> list[Bin]:
    """Equal-width bins over [0, maximum]; the last bin includes full marks."""
    width = maximum / bins if maximum > 0 else 1.0
    counts = [0] * bins
    for score in scores:
        counts[min(max(int(score // width), 0), bins - 1)] += 1
    return [Bin(index * width, (index + 1) * width, count) for index, count in enumerate(counts)]


@dataclasses.dataclass(frozen=True)
class PassRate:
    function: str
    passed: int
    of: int
    mean_score: float
    max_score: float

    @property
    def rate(self) -> float:
        return self.passed / self.of if self.of else 0.0


def pass_rates(reports: Mapping[str, Report], functions: Sequence[str]) -> list[PassRate]:
    """Per function: how many students who handed in something passed every case, and the mean score."""
    handed_in = [report for report in reports.values() if report.status != "missing"]
    rates = []
    for name in functions:
        results = [report.functions[name] for report in handed_in if name in report.functions]
        maximum = max((result.max_score for result in results), default=0.0)
        mean = statistics.fmean(result.score for result in results) if results else 0.0
        rates.append(PassRate(name, sum(result.passed for result in results), len(results), mean, maximum))
    return rates


def frequent_failures(reports: Mapping[str, Report], top: int = TOP_MESSAGES) -> list[tuple[str, str, int]]:
    """(function, message kind, number of students) for the most common failures."""
    counts: collections.Counter[tuple[str, str]] = collections.Counter()
    for report in reports.values():
        if report.status == "missing":
            continue
        for name, function in report.functions.items():
            counts.update({(name, message_kind(message)) for message in function_failures(function)})
    return [(name, kind, count) for (name, kind), count in counts.most_common(top)]


@dataclasses.dataclass(frozen=True)
class DiagnosisGroup:
    """The students whose function leads with the same named mistake or cause."""

    function: str
    id: str
    sentence: str
    students: list[str]


def students_by_diagnosis(reports: Mapping[str, Report]) -> list[DiagnosisGroup]:
    """Students grouped by the named mistake or cause their failed function leads with, largest group first."""
    groups: dict[tuple[str, str], DiagnosisGroup] = {}
    for student, report in reports.items():
        for name, function in report.functions.items():
            primary = function.primary
            if primary is None or primary.kind == "observation":
                continue
            group = groups.setdefault((name, primary.id), DiagnosisGroup(name, primary.id, primary.sentence, []))
            group.students.append(student)
    return sorted(groups.values(), key=lambda group: (-len(group.students), group.function, group.id))


def _histogram_svg(bins: list[Bin]) -> str:
    width, height, left, bottom, top = 640, 260, 40, 40, 20
    plot_w, plot_h = width - left - 10, height - bottom - top
    tallest = max((item.count for item in bins), default=0) or 1
    slot = plot_w / len(bins)
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" role="img" '
             f'aria-label="score distribution">',
             f'<line x1="{left}" y1="{top + plot_h}" x2="{width - 10}" y2="{top + plot_h}" stroke="#333"/>']
    for index, item in enumerate(bins):
        bar_h = plot_h * item.count / tallest
        x = left + index * slot
        y = top + plot_h - bar_h
        parts.append(f'<rect x="{x + 2:.1f}" y="{y:.1f}" width="{slot - 4:.1f}" height="{bar_h:.1f}" fill="{BAR}">'
                     f'<title>{item.low:g}–{item.high:g}: {item.count}</title></rect>')
        parts.append(f'<text x="{x + slot / 2:.1f}" y="{y - 4:.1f}" text-anchor="middle" font-size="12">'
                     f'{item.count}</text>')
        parts.append(f'<text x="{x + slot / 2:.1f}" y="{top + plot_h + 16}" text-anchor="middle" font-size="11">'
                     f'{item.low:g}–{item.high:g}</text>')
    parts.append(f'<text x="{left + plot_w / 2:.1f}" y="{height - 6}" text-anchor="middle" font-size="12">'
                 f'score (points)</text></svg>')
    return "".join(parts)


def _pass_rate_svg(rates: list[PassRate]) -> str:
    label_w, bar_w, row_h = 330, 260, 34
    width, height = label_w + bar_w + 130, row_h * len(rates) + 10
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" role="img" '
             f'aria-label="pass rate per function">']
    for index, rate in enumerate(rates):
        y = 5 + index * row_h
        parts.append(f'<text x="{label_w - 8}" y="{y + 20}" text-anchor="end" font-size="13">'
                     f'{escape(rate.function)}</text>')
        parts.append(f'<rect x="{label_w}" y="{y + 5}" width="{bar_w}" height="22" fill="{FAIL}" opacity="0.35"/>')
        parts.append(f'<rect x="{label_w}" y="{y + 5}" width="{bar_w * rate.rate:.1f}" height="22" fill="{PASS}"/>')
        parts.append(f'<text x="{label_w + bar_w + 8}" y="{y + 20}" font-size="13">{100 * rate.rate:.0f}% '
                     f'({rate.passed}/{rate.of})</text>')
    parts.append("</svg>")
    return "".join(parts)


def _table(header: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    head = "".join(f"<th>{escape(column)}</th>" for column in header)
    body = "".join("<tr>" + "".join(f"<td>{escape(str(cell))}</td>" for cell in row) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


_STYLE = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:24px;color:#222;max-width:1100px}
h1{font-size:22px}h2{font-size:17px;margin-top:28px;border-bottom:1px solid #ddd;padding-bottom:4px}
table{border-collapse:collapse;font-size:13px}td,th{border:1px solid #ddd;padding:4px 8px;text-align:left;
vertical-align:top}th{background:#f4f4f4}.facts td:first-child{font-weight:600}.muted{color:#777}
"""


def summary_page(reports: Mapping[str, Report], assignment: Assignment) -> str:
    """The whole page for these reports (one per student)."""
    handed_in = [report for report in reports.values() if report.status != "missing"]
    scores = [report.score for report in reports.values()]
    statuses = collections.Counter(report.status for report in reports.values())
    facts = [
        ("students", len(reports)),
        ("handed in", len(handed_in)),
        ("mean score", f"{statistics.fmean(scores):.1f} / {assignment.max_score:g}" if scores else "-"),
        ("median score", f"{statistics.median(scores):g}" if scores else "-"),
        ("full marks", sum(report.score == report.max_score for report in reports.values())),
    ]
    failures = frequent_failures(reports)
    groups = students_by_diagnosis(reports)
    rates = pass_rates(reports, list(assignment.functions))
    generated = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    sections = [
        f"<h1>{escape(assignment.title)}: class summary</h1>",
        f'<p class="muted">grader {escape(GRADER_VERSION)}, test cases {escape(assignment.digest[:12])}, '
        f"generated {generated}</p>",
        '<table class="facts">' + "".join(f"<tr><td>{escape(name)}</td><td>{escape(str(value))}</td></tr>"
                                          for name, value in facts) + "</table>",
        "<h2>Score distribution</h2>", _histogram_svg(histogram(scores, assignment.max_score)),
        "<h2>Pass rate per function</h2>",
        '<p class="muted">Students who handed in something and passed every case of the function.</p>',
        _pass_rate_svg(rates),
        "<h2>Statuses</h2>",
        _table(["status", "students", "meaning"],
               [(status, count, STATUS_MEANING.get(status, "")) for status, count in statuses.most_common()]),
        "<h2>Most frequent failure messages</h2>",
        '<p class="muted">Numbers and positions are blanked (#, …) so the same mistake groups together.</p>',
        _table(["function", "message", "students"], failures) if failures else "<p>No failures.</p>",
        "<h2>Students by named mistake</h2>",
        '<p class="muted">Each failed function leads with one diagnosis; students whose function leads with '
        "the same named mistake or cause are grouped.</p>",
        _table(["function", "mistake or cause", "what the students read", "students", "who"],
               [(group.function, group.id, group.sentence, len(group.students), ", ".join(group.students))
                for group in groups]) if groups
        else '<p class="muted">No diagnoses in these reports.</p>',
        "<h2>Students</h2>",
        _table(["student", "score", "status"],
               [(student, f"{report.score:g} / {report.max_score:g}", report.status)
                for student, report in reports.items()]),
    ]
    return (
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        # No network and no scripts: the page only ever shows what is inside it.
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">"
        f"<title>{escape(assignment.title)}: class summary</title><style>{_STYLE}</style></head>"
        "<body>" + "\n".join(sections) + "</body></html>\n"
    )
