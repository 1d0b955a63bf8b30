"""What a batch writes for the class: per-student reports and Gradescope results, gradebook, JUnit, summary.

Rendering is pure (reports in, text or dicts out); `write_outputs` is the only writer,
and every file is replaced atomically, so a reader never sees half of one.
"""

from __future__ import annotations

import csv
import io
import re
import xml.etree.ElementTree as ET
from collections.abc import Mapping
from pathlib import Path

from grader import strict_json
from grader.assignment import Assignment
from grader.atomic import write_text
from grader.batch.failures import case_failures, function_failures
from grader.batch.page import summary_page
from grader.report import FunctionResult, Report

REPORTS_DIR = "reports"
GRADESCOPE_DIR = "gradescope"
GRADEBOOK = "gradebook.csv"
JUNIT = "junit.xml"
SUMMARY = "summary.html"

GRADESCOPE_VISIBILITY = {"visible": "visible", "hidden": "after_due_date"}
"""Our case visibility -> Gradescope's: hidden cases show once the due date has passed."""
_XML_INVALID = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def report_path(out: Path, student: str) -> Path:
    return out / REPORTS_DIR / f"{student}.json"


def gradescope_path(out: Path, student: str) -> Path:
    return out / GRADESCOPE_DIR / student / "results.json"


def gradebook(reports: Mapping[str, Report], functions: list[str]) -> str:
    """The class gradebook as CSV: id, score, max, one score per function, status."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["student_id", "score", "max_score", *functions, "status"])
    for student, report in reports.items():
        scores = [f"{report.functions[name].score:g}" if name in report.functions else "" for name in functions]
        writer.writerow([student, f"{report.score:g}", f"{report.max_score:g}", *scores, report.status])
    return buffer.getvalue()


def _xml_text(text: str) -> str:
    """Text safe in XML 1.0: student output may carry control characters XML cannot hold."""
    return _XML_INVALID.sub("\ufffd", text)


def _properties(parent: ET.Element, values: Mapping[str, object]) -> None:
    """Points have no JUnit standard; pytest's record_property form is the de-facto one."""
    properties = ET.SubElement(parent, "properties")
    for name, value in values.items():
        ET.SubElement(properties, "property", name=name, value=_xml_text(str(value)))


def _testcase(suite: ET.Element, student: str, name: str, function: FunctionResult, report: Report,
              seconds: float) -> str:
    """One function of one student; returns its outcome: passed, failure or error."""
    case = ET.SubElement(suite, "testcase", classname=student, name=name, time=f"{seconds:.3f}")
    _properties(case, {"score": f"{function.score:g}", "max_score": f"{function.max_score:g}"})
    if function.passed:
        return "passed"
    failures = function_failures(function) or [report.message]
    outcome = "error" if report.status == "internal_error" else "failure"
    kind = "wrong_output" if report.status == "graded" else report.status
    element = ET.SubElement(case, outcome, message=_xml_text(failures[0][:500]), type=kind)
    element.text = _xml_text("\n".join(failures))
    return outcome


def junit_xml(reports: Mapping[str, Report], assignment: Assignment) -> str:
    """JUnit XML for CI: a suite per student, a test case per function (identity = classname + name).

    A test case's time is the student's run time split evenly, since all functions run
    in one sandbox; failures of a submission are `failure`, grader failures `error`.
    """
    root = ET.Element("testsuites", name=f"grader: {assignment.name}")
    totals = {"tests": 0, "failures": 0, "errors": 0}
    total_time = 0.0
    for student, report in reports.items():
        suite = ET.SubElement(root, "testsuite", name=student, timestamp=report.created_at,
                              time=f"{report.duration_seconds:.3f}")
        _properties(suite, {"score": f"{report.score:g}", "max_score": f"{report.max_score:g}",
                            "status": report.status})
        share = report.duration_seconds / max(len(report.functions), 1)
        outcomes = [_testcase(suite, student, name, function, report, share)
                    for name, function in report.functions.items()]
        counts = {"tests": len(outcomes), "failures": outcomes.count("failure"), "errors": outcomes.count("error")}
        suite.attrib.update({key: str(value) for key, value in counts.items()}, skipped="0")
        totals = {key: totals[key] + counts[key] for key in totals}
        total_time += report.duration_seconds
    root.attrib.update({key: str(value) for key, value in totals.items()}, time=f"{total_time:.3f}")
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def gradescope_results(report: Report) -> dict:
    """Gradescope's results.json for one student: one test per case (per function if none ran)."""
    tests = []
    for number, (name, function) in enumerate(report.functions.items(), start=1):
        if not function.cases:
            tests.append({"name": name, "number": str(number), "score": function.score,
                          "max_score": function.max_score, "status": "passed" if function.passed else "failed",
                          "visibility": "visible", "output": report.message})
        for index, case in enumerate(function.cases, start=1):
            failures = case_failures(case)
            tests.append({
                "name": f"{name}: {case.id}",
                "number": f"{number}.{index}",
                "score": case.score,
                "max_score": case.max_score,
                "status": "passed" if case.passed else "failed",
                "visibility": GRADESCOPE_VISIBILITY[case.visibility],
                "output": "\n".join(failures) if failures else "passed",
            })
    output = report.message + "".join(f"\n{error}" for error in report.load_errors)
    return {
        "score": report.score,
        "execution_time": round(report.duration_seconds, 3),
        "output": output,
        "visibility": "visible",
        "stdout_visibility": "hidden",
        "extra_data": {"status": report.status, "sha256": report.submission.sha256,
                       "grader_version": report.grader_version, "testcases_digest": report.testcases_digest},
        "tests": tests,
    }


def write_outputs(out: Path, reports: Mapping[str, Report], assignment: Assignment) -> None:
    """Write the class-level files and each student's Gradescope results from the reports."""
    for student, report in reports.items():
        write_text(gradescope_path(out, student), strict_json.dumps(gradescope_results(report), indent=2) + "\n")
    write_text(out / GRADEBOOK, gradebook(reports, list(assignment.functions)))
    write_text(out / JUNIT, junit_xml(reports, assignment))
    write_text(out / SUMMARY, summary_page(reports, assignment))
