"""A Docker daemon that stops answering is an outage (SandboxOutage), never the submission's result.

The grader reaches the real daemon through a proxy that the tests cut and restore (see docker_proxy.py).
"""

from __future__ import annotations

import threading
import time

import pytest

from grader.errors import SandboxOutage
from grader.sandbox.base import Limits
from grader.sandbox.docker import OWNER_LABEL, DockerBackend, connect, owner, probe
from tests.sandbox.contract import PROBE_COMMAND

pytestmark = [pytest.mark.slow, pytest.mark.docker]

SLEEPER = b"import time\nprint('started', flush=True)\ntime.sleep(8)\nprint('done')\n"


@pytest.fixture
def proxied(proxy, monkeypatch):
    """A client for the daemon through the proxy, as the grader would make it from DOCKER_HOST."""
    monkeypatch.setenv("DOCKER_HOST", proxy.url)
    client = connect()
    yield client
    client.close()


def test_a_daemon_that_goes_away_mid_run_is_an_outage_not_a_timeout(proxy, proxied, sandbox_image, docker_client):
    backend = DockerBackend(sandbox_image, command=PROBE_COMMAND, client=proxied)
    threading.Timer(2.0, proxy.cut).start()
    with pytest.raises(SandboxOutage):
        backend.run(SLEEPER, Limits(wall_seconds=15))
    mine = {"label": f"{OWNER_LABEL}={owner()}"}
    assert len(docker_client.containers(all=True, filters=mine)) == 1, "the run could not remove its container"
    proxy.restore()
    probe(sandbox_image)
    assert docker_client.containers(all=True, filters=mine) == [], "the probe removes it once the daemon answers"


def test_a_daemon_that_does_not_answer_at_create_is_an_outage(proxy, proxied, sandbox_image):
    backend = DockerBackend(sandbox_image, command=PROBE_COMMAND, client=proxied)
    proxy.cut()
    with pytest.raises(SandboxOutage, match="could not create"):
        backend.run(b"print(1)\n", Limits(wall_seconds=10))


def test_the_probe_fails_while_cut_and_passes_once_restored(proxy, proxied, sandbox_image):
    proxy.cut()
    started = time.monotonic()
    with pytest.raises(SandboxOutage):
        probe(sandbox_image)
    assert time.monotonic() - started < 5
    proxy.restore()
    probe(sandbox_image)


def test_a_run_after_the_daemon_is_back_is_graded_normally(proxy, proxied, sandbox_image):
    backend = DockerBackend(sandbox_image, command=PROBE_COMMAND, client=proxied)
    proxy.cut()
    proxy.restore()
    run = backend.run(b"print('hello')\n", Limits(wall_seconds=10))
    assert (run.exit_code, run.stdout, run.timed_out) == (0, b"hello\n", False)


def test_a_container_created_as_the_daemon_went_away_is_removed_once_it_answers(
    proxy, proxied, sandbox_image, docker_client,
):
    backend = DockerBackend(sandbox_image, command=PROBE_COMMAND, client=proxied)
    proxy.cut_when_answering(b"/containers/create")
    with pytest.raises(SandboxOutage, match="could not create"):
        backend.run(b"print(1)\n", Limits(wall_seconds=10))
    mine = {"label": f"{OWNER_LABEL}={owner()}"}
    assert len(docker_client.containers(all=True, filters=mine)) == 1, "the daemon created it; we never heard"
    proxy.restore()
    probe(sandbox_image)
    assert docker_client.containers(all=True, filters=mine) == []
