"""`grade batch --queue celery`: the same reports as the local pool, and a re-run reuses what workers stored."""

from __future__ import annotations

import io
import json

import pytest
from click.testing import CliRunner

from grader.assignment import load_assignment
from grader.batch.command import batch_command
from grader.batch.progress import LogProgress
from grader.batch.queued import celery_executor
from grader.batch.run import grade_batch
from tests.batch.conftest import BROKEN, correct, mistaken, write_tree
from tests.jobs.conftest import JOB_TIMEOUT, TEST_SETTINGS, comparable


def _class(tmp_path):
    return write_tree(tmp_path / "class", {"alice.py": correct(), "bob.py": correct(), "carol.py": mistaken(),
                                           "dave.py": BROKEN, "erin/solution.py": correct("erin")})


def _celery_batch(source, out, redis_server):
    executor = celery_executor(redis_server.url, digest=load_assignment().digest, timeout=JOB_TIMEOUT)
    return grade_batch(source, out, backend="celery", timeout=JOB_TIMEOUT, executor=executor,
                       progress=LogProgress(io.StringIO()))


@pytest.mark.slow
def test_a_celery_batch_writes_the_reports_of_the_local_pool(tmp_path, start_worker, redis_server, monkeypatch):
    for name, value in TEST_SETTINGS.items():
        monkeypatch.setenv(name, value)
    start_worker("w1@test")
    start_worker("w2@test")
    source = _class(tmp_path)
    local = grade_batch(source, tmp_path / "local", jobs=2, backend="process", timeout=JOB_TIMEOUT,
                        progress=LogProgress(io.StringIO()))
    queued = _celery_batch(source, tmp_path / "celery", redis_server)
    assert queued.graded == 4, "identical files are graded once, as in the local pool"
    assert {student: comparable(report.model_dump(mode="json")) for student, report in queued.reports.items()} == {
        student: comparable(report.model_dump(mode="json")) for student, report in local.reports.items()}
    assert json.loads((tmp_path / "celery" / "reports" / "dave.json").read_text())["status"] == "error"


@pytest.mark.slow
def test_a_batch_run_again_gets_the_reports_its_workers_already_stored(
    tmp_path, start_worker, redis_server, monkeypatch,
):
    for name, value in TEST_SETTINGS.items():
        monkeypatch.setenv(name, value)
    start_worker("w1@test")
    source = _class(tmp_path)
    _celery_batch(source, tmp_path / "first", redis_server)
    keys = [key.decode() for key in redis_server.client.scan_iter("grader:attempts:*")]
    again = _celery_batch(source, tmp_path / "second", redis_server)  # an empty folder: nothing to resume from
    assert again.graded == 4
    assert sorted(key.decode() for key in redis_server.client.scan_iter("grader:attempts:*")) == sorted(keys)
    assert [int(redis_server.client.get(key)) for key in keys] == [1] * 4, "no file was graded twice"


def test_the_batch_refuses_an_unsandboxed_run_on_celery_workers():
    result = CliRunner().invoke(batch_command, [".", "--out", "out", "--queue", "celery", "--unsafe-no-sandbox"])
    assert result.exit_code == 2
    assert "the workers choose the sandbox" in result.output


def test_a_celery_batch_without_redis_fails_with_a_message(tmp_path):
    source = _class(tmp_path)
    result = CliRunner().invoke(batch_command, [str(source), "--out", str(tmp_path / "out"), "--queue", "celery",
                                                "--broker", "redis://:secret@127.0.0.1:1/0"])
    assert result.exit_code == 3
    assert "the Redis queue at redis://127.0.0.1:1/0 does not answer" in result.output
    assert "secret" not in result.output
