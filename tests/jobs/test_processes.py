"""Grading in worker processes (the service's default): where grades run, and what a dying worker does."""

from __future__ import annotations

import os

import pytest

from grader.errors import GraderError, SandboxOutage
from grader.jobs.processes import NICENESS, GradingProcesses, GradingProcessDied
from grader.submission import Submission

STAND_IN = "tests.jobs.process_stand_in:grade"


@pytest.fixture
def processes():
    grading = GradingProcesses(STAND_IN, workers=2)
    yield grading
    grading.close()


def _submission(content: bytes) -> Submission:
    return Submission(name="s.py", content=content)


def test_grades_run_in_other_processes_at_a_lower_priority(processes):
    data = processes(_submission(b"x = 1\n"), backend="docker", timeout=30).model_dump(mode="json")
    assert data["pid"] != os.getpid()
    assert data["niceness"] == min(os.nice(0) + NICENESS, 19)
    assert (data["backend"], data["timeout"]) == ("docker", 30)


def test_a_sandbox_outage_in_a_worker_reaches_the_pool_as_one(processes):
    with pytest.raises(SandboxOutage, match="does not answer"):
        processes(_submission(b"outage"), backend="docker")


def test_a_worker_that_dies_fails_its_grade_as_a_grader_error_and_the_next_grade_runs(processes):
    with pytest.raises(GradingProcessDied):
        processes(_submission(b"die"), backend="docker")
    assert processes(_submission(b"x = 1\n"), backend="docker").model_dump()["pid"] != os.getpid()


def test_after_close_a_grade_is_refused():
    grading = GradingProcesses(STAND_IN, workers=1)
    grading(_submission(b"x = 1\n"), backend="docker")
    grading.close()
    with pytest.raises(GraderError, match="stopped"):
        grading(_submission(b"x = 1\n"), backend="docker")
