"""Fixtures for the sandbox tests: a reachable Docker daemon and the image of this tree.

Locally a missing daemon or image skips the Docker tests with the command to fix it;
under CI (CI=true) it fails them, because CI always has Docker and must build the image.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import NoReturn

import docker
import pytest

from grader.errors import SandboxUnavailable
from grader.sandbox.docker import OWNER_LABEL, connect, image_tag, owner
from tests.sandbox.docker_proxy import DockerProxy, docker_proxy


def _unavailable(reason: str) -> NoReturn:
    """Skip locally, fail under CI."""
    if os.environ.get("CI") == "true":
        pytest.fail(f"CI must have the Docker sandbox: {reason}", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def docker_client() -> docker.APIClient:
    """A client for the local daemon, or a skip (fail under CI) saying how to start one."""
    try:
        return connect()
    except SandboxUnavailable as exc:
        _unavailable(str(exc))


@pytest.fixture(scope="session")
def sandbox_image(docker_client: docker.APIClient) -> str:
    """The tag of this tree's sandbox image, which must be built (`make image`)."""
    tag = image_tag()
    try:
        docker_client.inspect_image(tag)
    except docker.errors.ImageNotFound:
        _unavailable(f"the sandbox image {tag} is not built; run `make image`")
    return tag


@pytest.fixture
def no_leftover_containers(docker_client: docker.APIClient):
    """Fail the test if it leaves any container of this process behind."""
    yield
    left = docker_client.containers(all=True, filters={"label": f"{OWNER_LABEL}={owner()}"})
    assert left == [], f"sandbox containers left behind: {[c['Id'][:12] for c in left]}"


@pytest.fixture
def proxy(sandbox_image: str) -> Iterator[DockerProxy]:
    """A cuttable proxy to the real daemon, on a short path (Unix socket paths are limited to 107 bytes)."""
    folder = Path(tempfile.mkdtemp(prefix="dproxy-", dir="/tmp"))
    try:
        with docker_proxy(folder / "docker.sock") as started:
            yield started
    finally:
        shutil.rmtree(folder, ignore_errors=True)
