"""The Docker backend against a real daemon: the sandbox contract, its settings and its cleanup."""

from __future__ import annotations

import contextlib
import hashlib
import os
import signal
import socket
import subprocess
import sys
import threading
import time

import docker
import pytest

from grader.sandbox.base import RUNNER_PATH, Limits
from grader.sandbox.docker import LABEL, OWNER_LABEL, REPO_ROOT, DockerBackend, owner, reap_stale
from grader.sandbox.errors import ImageMissing

from .contract import CHECKS, PROBE_COMMAND, BackendFactory

pytestmark = [pytest.mark.docker, pytest.mark.slow, pytest.mark.usefixtures("no_leftover_containers")]


@pytest.fixture
def make_backend(sandbox_image: str, docker_client: docker.APIClient) -> BackendFactory:
    """Docker backends that run a given command in this tree's image."""
    return lambda command: DockerBackend(sandbox_image, command=command, client=docker_client)


@pytest.mark.parametrize("check", CHECKS, ids=[check.__name__.removeprefix("check_") for check in CHECKS])
def test_contract(check, make_backend: BackendFactory) -> None:
    check(make_backend)


def test_image_holds_this_trees_runner(make_backend: BackendFactory) -> None:
    digest = "import hashlib; print(hashlib.sha256(open('/opt/grader/runner.py', 'rb').read()).hexdigest())"
    command = ("python3", "-I", "-c", digest)
    run = make_backend(command).run(b"", Limits())
    assert run.stdout.decode().strip() == hashlib.sha256(RUNNER_PATH.read_bytes()).hexdigest()


def test_default_command_starts_the_runner(sandbox_image: str, docker_client: docker.APIClient) -> None:
    """An empty bundle is not valid input: the baked-in runner starts, fails, and says why on stderr."""
    run = DockerBackend(sandbox_image, client=docker_client).run(b"", Limits(wall_seconds=10))
    assert run.exit_code not in (0, None) and "Traceback" in run.diagnostics, run
    assert "runner.py" in run.diagnostics


def test_container_settings(make_backend: BackendFactory, docker_client: docker.APIClient) -> None:
    """Inspect a live sandbox container: every lock is set as documented."""
    limits = Limits(wall_seconds=10, memory_bytes=300 * 1024 * 1024, pids=40, cpus=0.5, open_files=100)
    backend = make_backend(PROBE_COMMAND)
    runner = threading.Thread(target=backend.run, args=(b"import time; time.sleep(3)", limits))
    runner.start()
    try:
        config = _wait_for_own_container(docker_client)
    finally:
        runner.join()
    host = config["HostConfig"]
    assert host["NetworkMode"] == "none" and host["ReadonlyRootfs"] is True
    assert host["CapDrop"] == ["ALL"] and not host["CapAdd"] and host["Privileged"] is False
    assert host["SecurityOpt"] == ["no-new-privileges"]
    assert host["Memory"] == host["MemorySwap"] == limits.memory_bytes
    assert host["PidsLimit"] == 40 and host["NanoCpus"] == 500_000_000
    assert {u["Name"]: u["Hard"] for u in host["Ulimits"]}["nofile"] == 100
    assert list(host["Tmpfs"]) == ["/tmp"] and "noexec" in host["Tmpfs"]["/tmp"]
    assert not host["Binds"] and config["Mounts"] == []
    assert host["LogConfig"]["Type"] == "none" and host["IpcMode"] == "none"
    assert config["Config"]["User"] == "10001:10001"
    assert config["Config"]["Labels"][LABEL] == "1"


def _wait_for_own_container(client: docker.APIClient) -> dict:
    for _ in range(100):
        found = client.containers(filters={"label": f"{OWNER_LABEL}={owner()}"})
        if found:
            return client.inspect_container(found[0]["Id"])
        time.sleep(0.05)
    raise AssertionError("the sandbox container never showed up")


def test_missing_image_says_make_image(docker_client: docker.APIClient) -> None:
    with pytest.raises(ImageMissing, match="make image"):
        DockerBackend("grader-sandbox:not-built", client=docker_client)


def test_stale_container_of_dead_grader_is_reaped(sandbox_image: str, docker_client: docker.APIClient) -> None:
    dead_owner = f"{socket.gethostname()}:999999999:0"
    stale = docker_client.create_container(
        sandbox_image, ["true"], labels={LABEL: "1", OWNER_LABEL: dead_owner}, network_disabled=True
    )["Id"]
    try:
        assert reap_stale(docker_client) >= 1
        with pytest.raises(docker.errors.NotFound):
            docker_client.inspect_container(stale)
    finally:
        with contextlib.suppress(docker.errors.NotFound):
            docker_client.remove_container(stale, force=True)


_HANGING_GRADER = f"""
import sys
sys.path.insert(0, {str(REPO_ROOT)!r})
from grader.sandbox.base import Limits
from grader.sandbox.docker import DockerBackend
from tests.sandbox.contract import PROBE_COMMAND
backend = DockerBackend(sys.argv[1], command=PROBE_COMMAND)
print("running", flush=True)
backend.run(b"while True: pass", Limits(wall_seconds=120))
"""


def _containers_of(client: docker.APIClient, pid: int) -> list[dict]:
    owned = client.containers(all=True, filters={"label": LABEL})
    return [c for c in owned if c["Labels"].get(OWNER_LABEL, "").split(":")[1:2] == [str(pid)]]


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_interrupted_grader_removes_its_container(
    signum: int, sandbox_image: str, docker_client: docker.APIClient
) -> None:
    grader = _start_hanging_grader(sandbox_image, docker_client)
    grader.send_signal(signum)
    grader.wait(timeout=30)
    assert _containers_of(docker_client, grader.pid) == []


def test_killed_graders_container_is_reaped_by_the_next(sandbox_image: str, docker_client: docker.APIClient) -> None:
    grader = _start_hanging_grader(sandbox_image, docker_client)
    grader.kill()
    grader.wait(timeout=30)
    assert len(_containers_of(docker_client, grader.pid)) == 1
    next_grader = (
        f"import sys; sys.path.insert(0, {str(REPO_ROOT)!r})\n"
        "from grader.sandbox.docker import DockerBackend\n"
        "DockerBackend(sys.argv[1])\n"
    )
    subprocess.run([sys.executable, "-c", next_grader, sandbox_image], check=True, timeout=60)
    assert _containers_of(docker_client, grader.pid) == []


def _start_hanging_grader(image: str, client: docker.APIClient) -> subprocess.Popen:
    """A grader process stuck in a run, once its container is up."""
    grader = subprocess.Popen(
        [sys.executable, "-c", _HANGING_GRADER, image], stdout=subprocess.PIPE, cwd=REPO_ROOT, env=dict(os.environ)
    )
    assert grader.stdout.readline() == b"running\n"
    for _ in range(100):
        if _containers_of(client, grader.pid):
            time.sleep(0.2)  # let run() get past start()
            return grader
        time.sleep(0.05)
    grader.kill()
    raise AssertionError("the grader's container never showed up")
