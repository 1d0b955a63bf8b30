"""The pytest side of grading: one test per case, every output's verdict recorded for the report.

Collected only by `grader.pytest_run.run_checks`, which parametrizes `case_checks`;
the verdicts travel to the score report through pytest-json-report's user properties.
"""

import dataclasses

import pytest


def test_case(case_checks, request):
    verdicts = {check.output: check.verdict() for check in case_checks}
    request.node.user_properties.append(
        ("verdicts", {name: dataclasses.asdict(verdict) for name, verdict in verdicts.items()})
    )
    failed = [verdict.message for verdict in verdicts.values() if not verdict.passed]
    if failed:
        pytest.fail("\n".join(failed), pytrace=False)
