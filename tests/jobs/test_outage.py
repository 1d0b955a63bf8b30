"""`grade worker` through a real sandbox outage: the task is put back on the queue, not failed or counted.

The worker reaches the real daemon through a proxy the test cuts and restores (tests/sandbox/docker_proxy.py).
"""

from __future__ import annotations

import threading
import time

import pytest

from grader.sandbox.docker import LABEL, OWNER_LABEL
from tests.jobs.conftest import children, collect, job
from tests.sandbox.conftest import proxy  # noqa: F401  (re-used fixture)

pytestmark = [pytest.mark.slow, pytest.mark.docker]

CORRECT = "submissions/correct/template_with_seed.py"


def test_a_worker_requeues_through_an_outage_and_every_job_gets_its_true_grade(
    start_worker, celery_queue, redis_server, proxy, docker_client, sandbox_image,  # noqa: F811
):
    worker = start_worker("outage", backend="docker", DOCKER_HOST=proxy.url, GRADER_GRADE_FUNCTION="grader.engine:grade")
    keys = [f"outage-{n}" for n in range(4)]
    for key in keys:
        celery_queue.submit(job(key, CORRECT))
    deadline = time.monotonic() + 60
    while redis_server.attempts(keys[0]) == 0 and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.5)
    proxy.cut()
    time.sleep(3.0)
    proxy.restore()
    outcomes = collect(celery_queue, len(keys), 180)
    assert {outcome.key: outcome.error for outcome in outcomes} == dict.fromkeys(keys, "")
    assert {outcome.report["status"] for outcome in outcomes} == {"graded"}
    assert all(outcome.report["score"] == outcome.report["max_score"] > 0 for outcome in outcomes)
    # The run the outage interrupted was taken back: every job counts exactly one run.
    assert [redis_server.attempts(key) for key in keys] == [1] * len(keys)
    log = worker.log.read_text(errors="replace")
    assert (log.count("sandbox down"), log.count("sandbox answers again")) == (1, 1)
    ours = {str(pid) for pid in (worker.process.pid, *children(worker.process.pid))}
    left = [c["Id"][:12] for c in docker_client.containers(all=True, filters={"label": LABEL})
            if c["Labels"][OWNER_LABEL].split(":")[1] in ours]
    assert left == []


def test_a_worker_started_while_the_daemon_is_down_waits_then_grades(
    start_worker, celery_queue, proxy, sandbox_image,  # noqa: F811
):
    proxy.cut()
    threading.Timer(3.0, proxy.restore).start()
    started = time.monotonic()
    worker = start_worker("late", backend="docker", DOCKER_HOST=proxy.url, GRADER_GRADE_FUNCTION="grader.engine:grade")
    assert time.monotonic() - started >= 3.0, "the worker consumed nothing before the daemon answered"
    assert worker.log.read_text(errors="replace").count("sandbox down") == 1
    celery_queue.submit(job("late-0", CORRECT))
    [outcome] = collect(celery_queue, 1, 120)
    assert (outcome.report["status"], outcome.report["score"]) == ("graded", outcome.report["max_score"])
