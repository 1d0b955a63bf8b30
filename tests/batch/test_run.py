"""grade_batch end to end with the local process backend: reports, dedup, resume, statuses."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from grader.assignment import load_assignment
from grader.batch.queued import Graded, QueueExecutor
from grader.batch.inputs import Absent, Handin
from grader.batch.run import LOG_NAME, absent_report, grade_batch, plan_batch
from grader.version import GRADER_VERSION
from grader.errors import GraderError
from grader.report import Report
from tests.batch.conftest import correct, write_tree
from tests.conftest import grade_source


def _batch(source: Path, out: Path, **options):
    return grade_batch(source, out, jobs=2, backend="process", **options)


def _log(out: Path) -> list[dict]:
    return [json.loads(line) for line in (out / LOG_NAME).read_text().splitlines()]


def _created(out: Path) -> dict[str, str]:
    return {path.stem: json.loads(path.read_text())["created_at"] for path in (out / "reports").glob("*.json")}


def test_every_student_gets_a_schema_valid_report_with_the_engine_status(small_class, tmp_path, report_validator):
    result = _batch(small_class, tmp_path / "out")
    assert {student: (report.status, report.score) for student, report in result.reports.items()} == {
        "alice": ("graded", 80.0), "bob": ("graded", 80.0), "carol": ("graded", 68.0), "dave": ("error", 0.0),
        "erin": ("graded", 80.0)}
    for student in result.reports:
        report_validator.validate(json.loads((tmp_path / "out" / "reports" / f"{student}.json").read_text()))


def test_identical_submissions_are_graded_once_and_the_report_reused(small_class, tmp_path):
    out = tmp_path / "out"
    result = _batch(small_class, out)
    assert result.graded == 4
    (pair,) = [entry for entry in _log(out) if len(entry["students"]) > 1]
    assert sorted(pair["students"]) == ["alice", "bob"]
    alice, bob = result.reports["alice"], result.reports["bob"]
    assert alice.submission.sha256 == bob.submission.sha256
    assert (alice.submission.name, bob.submission.name) == ("alice.py", "bob.py")
    assert alice.created_at == bob.created_at


def test_rerun_grades_nothing_and_keeps_every_report_untouched(small_class, tmp_path):
    out = tmp_path / "out"
    _batch(small_class, out)
    before = _created(out)
    result = _batch(small_class, out)
    assert (result.graded, result.resumed) == (0, 5)
    assert _created(out) == before
    assert len(_log(out)) == 4


def test_a_changed_file_is_regraded_and_only_that_one(small_class, tmp_path):
    out = tmp_path / "out"
    _batch(small_class, out)
    (small_class / "carol.py").write_text(correct("carol fixed it"))
    result = _batch(small_class, out)
    assert result.graded == 1
    assert result.reports["carol"].score == 80.0
    assert _log(out)[-1]["students"] == ["carol"]


def test_a_file_identical_to_an_earlier_graded_one_is_copied_not_graded(small_class, tmp_path):
    out = tmp_path / "out"
    _batch(small_class, out)
    (small_class / "frank.py").write_text(correct())
    result = _batch(small_class, out)
    assert (result.graded, result.copied) == (0, 1)
    assert result.reports["frank"].submission.name == "frank.py"


def test_roster_students_without_files_get_zero_with_status_missing(small_class, tmp_path, report_validator):
    roster = tmp_path / "roster.csv"
    roster.write_text("student_id\nalice\nbob\ncarol\ndave\nerin\nzoe\n")
    result = _batch(small_class, tmp_path / "out", roster=roster)
    zoe = result.reports["zoe"]
    assert (zoe.status, zoe.score, zoe.max_score, zoe.message) == ("missing", 0.0, 80.0, "nothing was handed in")
    assert {name: function.score for name, function in zoe.functions.items()} == dict.fromkeys(zoe.functions, 0.0)
    report_validator.validate(json.loads(zoe.to_json()))


def test_two_owners_of_one_id_give_a_conflict_report_until_one_file_is_removed(small_class, tmp_path,
                                                                              report_validator):
    write_tree(small_class, {"Jane Smith.py": correct("one"), "Jane_Smith.py": correct("other")})
    out = tmp_path / "out"
    jane = _batch(small_class, out).reports["Jane_Smith"]
    assert (jane.status, jane.score, jane.submission.sha256) == ("conflict", 0.0, "")
    report_validator.validate(json.loads((out / "reports" / "Jane_Smith.json").read_text()))
    (small_class / "Jane Smith.py").unlink()
    assert _batch(small_class, out).reports["Jane_Smith"].status == "graded"


def _handin(student: str) -> Handin:
    return Handin(student, f"{student}.py", source=None)  # type: ignore[arg-type]


def _report(sha: str, *, status: str = "graded", version: str = GRADER_VERSION, digest: str = "d") -> Report:
    """A report for a file with this sha256, as an earlier run would have left it."""
    report = absent_report(load_assignment(), Absent("alice", "-"))
    return report.model_copy(update={
        "status": status, "grader_version": version, "testcases_digest": digest,
        "submission": report.submission.model_copy(update={"sha256": sha})})


@pytest.mark.parametrize(("existing", "regraded"), [
    (_report("a"), False),
    (_report("b"), True),
    (_report("a", version="0.0.1"), True),
    (_report("a", digest="other"), True),
    (_report("a", status="internal_error"), True),
    (_report("a", status="conflict"), True),
    (_report("a", status="timeout"), False),
])
def test_plan_keeps_a_report_only_for_the_same_file_grader_version_and_cases(existing, regraded):
    plan = plan_batch([_handin("alice")], {"alice": "a"}, {"alice": existing}, GRADER_VERSION, "d")
    assert ("a" in plan.to_grade) is regraded
    assert ("alice" in plan.current) is not regraded


class _FailingExecutor:
    """An executor whose every job fails inside the grader (what a crashed worker job looks like)."""

    def grade(self, jobs):
        for job in jobs:
            yield Graded(job, None, "RuntimeError: the backend broke")


def test_a_job_the_grader_fails_on_becomes_internal_error_and_is_retried_next_run(small_class, tmp_path,
                                                                                  report_validator):
    out = tmp_path / "out"
    failed = grade_batch(small_class, out, executor=_FailingExecutor())
    assert {report.status for report in failed.reports.values()} == {"internal_error"}
    assert "the backend broke" in failed.reports["alice"].message
    report_validator.validate(json.loads((out / "reports" / "alice.json").read_text()))
    retried = _batch(small_class, out)
    assert retried.graded == 4
    assert retried.reports["alice"].status == "graded"


class _RecordingExecutor:
    """Grades in this process and records which jobs it was given (for what the batch asks to grade)."""

    def __init__(self) -> None:
        self.keys: list[str] = []

    def grade(self, jobs):
        for job in jobs:
            self.keys.append(job.key)
            yield Graded(job, grade_source(job.submission.content, job.submission.name))


def test_the_executor_gets_one_job_per_distinct_file(small_class, tmp_path):
    executor = _RecordingExecutor()
    grade_batch(small_class, tmp_path / "out", executor=executor)
    assert len(executor.keys) == len(set(executor.keys)) == 4
    assert all(isinstance(key, str) and len(key) == 64 for key in executor.keys)


def test_a_second_batch_on_the_same_output_folder_is_refused_while_the_first_runs(small_class, tmp_path):
    out = tmp_path / "out"

    class _Nested:
        def grade(self, jobs):
            with pytest.raises(GraderError, match="another batch"):
                grade_batch(small_class, out, executor=_RecordingExecutor())
            for job in jobs:
                yield Graded(job, grade_source(job.submission.content, job.submission.name))

    grade_batch(small_class, out, executor=_Nested())


def test_half_written_files_of_a_killed_run_are_removed(small_class, tmp_path):
    out = tmp_path / "out"
    leftover = write_tree(out, {"reports/.alice.json.x1.tmp": "{"}) / "reports" / ".alice.json.x1.tmp"
    _batch(small_class, out)
    assert not leftover.exists()


def test_a_file_the_sandbox_keeps_failing_on_ends_internal_error_and_the_batch_ends(small_class, tmp_path):
    from grader.engine import grade
    from grader.errors import SandboxOutage
    from grader.jobs import EmbeddedQueue
    from grader.sandbox.health import SandboxGate

    def docker_fails_on_carol(submission, *, backend, timeout):
        # The daemon answers its probe, yet every run of this one file fails with an API error.
        if submission.name == "carol.py":
            raise SandboxOutage("Docker failed during a sandbox run: 500 Server Error")
        return grade(submission, backend=backend, timeout=timeout)

    executor = QueueExecutor(lambda: EmbeddedQueue(2, "process", docker_fails_on_carol, gate=SandboxGate(lambda: None)),
                             version=GRADER_VERSION, digest=load_assignment().digest)
    out = tmp_path / "out"
    result = grade_batch(small_class, out, executor=executor)
    carol = result.reports["carol"]
    assert carol.status == "internal_error"
    assert "the sandbox failed on this file 3 times in a row" in carol.message
    assert "not of the submission" in carol.message
    assert result.reports["alice"].status == "graded"
    # internal_error is not final: the next run grades carol again (and only her).
    retried = _batch(small_class, out)
    assert retried.graded == 1 and retried.reports["carol"].status == "graded"
