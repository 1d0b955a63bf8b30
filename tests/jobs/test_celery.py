"""The Celery queue with a real redis-server and real worker processes on 127.0.0.1."""

from __future__ import annotations

import collections
import json
import time

import pytest

from grader.jobs import EmbeddedQueue, Job
from grader.jobs.celery_queue import CeleryQueue
from grader.jobs.settings import QueueSettings
from grader.jobs.tasks import TASK_NAME, make_app
from grader.submission import Submission
from tests.jobs.conftest import JOB_TIMEOUT, REPO, collect, comparable, job
from tests.jobs.stand_in import BUG_MARKER, KILL_MARKER

pytestmark = pytest.mark.slow

CORRECT = "submissions/correct/template_with_seed.py"
SUBMISSIONS = [
    CORRECT,
    "submissions/correct/template_without_seed.py",
    "submissions/correct/notebook.ipynb",
    "submissions/mistakes/cost_lambda_over_m.py",
    "submissions/mistakes/forward_no_scaling_a1.py",
    "submissions/mistakes/backward_l2_missing_in_dW2.py",
]
BROKEN = b"def compute_cost_with_regularization(A3, Y, parameters, lambd)\n    return 0\n"


def _slow_correct(seconds_per_call: float) -> bytes:
    """The correct submission, made slow: the cost function sleeps on each of its calls."""
    source = (REPO / CORRECT).read_text()
    header = "def compute_cost_with_regularization(A3, Y, parameters, lambd):\n"
    assert header in source
    return ("import time\n" + source.replace(header, f"{header}    time.sleep({seconds_per_call})\n")).encode()


def _started_on(redis_server, key: str, seconds: float = 60) -> str:
    """The worker that started grading `key`, waiting for the start.

    task_track_started stores the worker's host name before the task body runs; the task counts
    its attempt a moment later, so both must be seen before the worker is really grading `key`.
    """
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        raw = redis_server.client.get(f"celery-task-meta-{key}")
        if raw is not None and json.loads(raw)["status"] == "STARTED" and redis_server.attempts(key) >= 1:
            return json.loads(raw)["result"]["hostname"]
        time.sleep(0.05)
    raise AssertionError(f"no worker started {key} within {seconds} s")


def test_jobs_spread_over_both_workers(start_worker, celery_queue, redis_server):
    start_worker("w1@test")
    start_worker("w2@test")
    for n in range(6):
        celery_queue.submit(job(f"job-{n}", CORRECT))
    outcomes = collect(celery_queue, 6, 180)
    assert sorted(outcome.key for outcome in outcomes) == [f"job-{n}" for n in range(6)]
    assert {outcome.worker for outcome in outcomes} == {"w1@test", "w2@test"}
    assert all(outcome.report["score"] == 80.0 for outcome in outcomes)
    assert [redis_server.attempts(f"job-{n}") for n in range(6)] == [1] * 6


def test_celery_reports_equal_the_embedded_queue_reports(start_worker, celery_queue):
    start_worker("w1@test")
    start_worker("w2@test")
    jobs = [job(f"sub-{n}", path) for n, path in enumerate(SUBMISSIONS)]
    jobs.append(Job("broken", Submission("broken.py", BROKEN), JOB_TIMEOUT))
    embedded = EmbeddedQueue(2, "process")
    for each in jobs:
        embedded.submit(each)
        celery_queue.submit(each)
    expected = {outcome.key: comparable(outcome.report) for outcome in collect(embedded, len(jobs), 180)}
    embedded.close()
    got = {outcome.key: comparable(outcome.report) for outcome in collect(celery_queue, len(jobs), 180)}
    assert got == expected
    assert {report["status"] for report in got.values()} == {"graded", "error"}
    assert len({report["score"] for report in got.values()}) > 2


def test_killed_worker_job_reruns_on_the_other_worker_and_nothing_is_graded_twice(
    start_worker, celery_queue, redis_server,
):
    workers = {name: start_worker(name) for name in ("w1@test", "w2@test")}
    celery_queue.submit(Job("slow", Submission("slow.py", _slow_correct(0.8)), JOB_TIMEOUT))
    for n in range(4):
        celery_queue.submit(job(f"quick-{n}", CORRECT))
    victim = _started_on(redis_server, "slow")
    workers[victim].kill()
    survivor = next(name for name in workers if name != victim)

    outcomes = collect(celery_queue, 5, 150)
    by_key = collections.Counter(outcome.key for outcome in outcomes)
    assert by_key == collections.Counter(["slow", "quick-0", "quick-1", "quick-2", "quick-3"]), "nothing lost"
    slow = next(outcome for outcome in outcomes if outcome.key == "slow")
    assert slow.worker == survivor
    assert (slow.report["status"], slow.report["score"]) == ("graded", 80.0)
    assert redis_server.attempts("slow") == 2, "graded again only because its first run died"
    quick_runs = [redis_server.attempts(f"quick-{n}") for n in range(4)]
    assert sum(quick_runs) <= 5, "at most one quick job was in the killed worker's hands"


def test_a_job_whose_result_is_stored_is_answered_without_grading_again(start_worker, celery_queue, redis_server):
    worker = start_worker("w1@test")
    celery_queue.submit(job("once", CORRECT))
    first = collect(celery_queue, 1, 120)[0]

    restarted = CeleryQueue(QueueSettings(broker_url=redis_server.url))  # a sender after a restart
    restarted.submit(job("once", CORRECT))
    again = restarted.finished(0)
    make_app(QueueSettings(broker_url=redis_server.url)).send_task(TASK_NAME, args=[{}], task_id="once")
    deadline = time.monotonic() + 60
    while "job once was already graded" not in worker.log.read_text(errors="replace"):
        assert time.monotonic() < deadline, "the duplicate task message was not consumed"
        time.sleep(0.1)
    restarted.close()

    assert [(outcome.key, outcome.report) for outcome in again] == [("once", first.report)]
    assert redis_server.attempts("once") == 1


def test_a_job_that_kills_its_worker_every_time_ends_as_an_error_not_a_loop(
    start_worker, celery_queue, redis_server,
):
    start_worker("w1@test")
    celery_queue.submit(Job("poison", Submission("poison.py", b"# " + KILL_MARKER + b"\n"), JOB_TIMEOUT))
    celery_queue.submit(job("after", CORRECT))
    outcomes = {outcome.key: outcome for outcome in collect(celery_queue, 2, 180)}
    assert outcomes["poison"].report is None
    assert "interrupted 3 times" in outcomes["poison"].error
    assert redis_server.attempts("poison") == 4
    assert outcomes["after"].report["score"] == 80.0, "the worker keeps grading other jobs"


def test_a_job_the_grader_fails_on_is_retried_then_ends_as_an_error(start_worker, celery_queue, redis_server):
    start_worker("w1@test")
    celery_queue.submit(Job("bug", Submission("bug.py", b"# " + BUG_MARKER + b"\n"), JOB_TIMEOUT))
    outcome = collect(celery_queue, 1, 120)[0]
    assert outcome.report is None
    assert outcome.error == "the grader failed 3 times: RuntimeError: the sandbox is broken"
    assert redis_server.attempts("bug") == 3


@pytest.mark.docker
def test_a_docker_worker_grades_like_the_embedded_queue_in_docker(start_worker, celery_queue, sandbox_image):
    start_worker("docker@test", backend="docker")
    jobs = [job("correct", CORRECT), job("mistake", SUBMISSIONS[3])]
    for each in jobs:
        celery_queue.submit(each)
    got = {outcome.key: outcome.report for outcome in collect(celery_queue, 2, 180)}
    embedded = EmbeddedQueue(1, "docker")
    for each in jobs:
        embedded.submit(each)
    expected = {outcome.key: comparable(outcome.report) for outcome in collect(embedded, 2, 180)}
    embedded.close()
    assert {key: report["backend"] for key, report in got.items()} == {"correct": "docker", "mistake": "docker"}
    assert {key: comparable(report) for key, report in got.items()} == expected


def test_a_job_that_ended_without_a_report_is_graded_again_when_submitted_again(
    start_worker, celery_queue, redis_server,
):
    worker = start_worker("w1@test")
    bug = Job("bug", Submission("bug.py", b"# " + BUG_MARKER + b"\n"), JOB_TIMEOUT)
    celery_queue.submit(bug)
    assert collect(celery_queue, 1, 120)[0].report is None
    celery_queue.submit(bug)  # a batch re-run retries what the grader failed on
    assert collect(celery_queue, 1, 120)[0].report is None
    assert worker.log.read_text(errors="replace").count("grading job bug (attempt 1)") == 2
