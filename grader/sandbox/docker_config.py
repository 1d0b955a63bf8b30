"""What a sandbox container is: its image, its locks and limits, and whose it is.

Plain data and the standard library only, so `grade FILE` can start its container before it
loads the Docker SDK (grader.sandbox.docker_early); the SDK backend (grader.sandbox.docker)
creates its containers from the same `create_body`.
"""

from __future__ import annotations

import hashlib
import os
import socket
from collections.abc import Sequence
from pathlib import Path

from grader.sandbox.base import RUNNER_PATH, SANDBOX_ENV, Limits
from grader.sandbox.errors import ImageMissing

IMAGE_NAME = "grader-sandbox"
REPO_ROOT = RUNNER_PATH.parent.parent
BUILD_INPUTS = ("Dockerfile", "grader/runner.py")
"""Files whose content decides the image tag: change one and `make image` rebuilds."""

RUNNER_COMMAND = ("python3", "-I", "/opt/grader/runner.py")
SANDBOX_USER = "10001:10001"
"""The unprivileged user baked into the image (Dockerfile)."""

ENVIRONMENT = {**SANDBOX_ENV, "HOME": "/tmp"}

LABEL = "grader.sandbox"
CONTAINER_PREFIX = "grader-sandbox-"
OWNER_LABEL = "grader.sandbox.owner"
STALE_AFTER_SECONDS = 3600.0
"""A labelled container this old is reaped even when its owner cannot be checked."""


def image_tag(root: Path = REPO_ROOT) -> str:
    """The image tag for this source tree: a hash of every file the image is built from."""
    digest = hashlib.sha256()
    for name in BUILD_INPUTS:
        path = root / name
        try:
            content = path.read_bytes()
        except FileNotFoundError:
            raise ImageMissing(f"{path} is missing, so the sandbox image cannot be named or built") from None
        digest.update(name.encode() + b"\0" + str(len(content)).encode() + b"\0" + content)
    return f"{IMAGE_NAME}:{digest.hexdigest()[:16]}"


def _process_start(pid: int) -> str | None:
    """The kernel's start time of `pid` (tells a live process from a reused pid), None if gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # Field 22; the command name (field 2) may contain spaces, so split after its ')'.
    return stat.rpartition(")")[2].split()[19]


_OWNERS: dict[int, str] = {}


def owner() -> str:
    """This process's owner label value: host, pid and pid start time (recomputed in a forked child)."""
    pid = os.getpid()
    if pid not in _OWNERS:
        _OWNERS[pid] = f"{socket.gethostname()}:{pid}:{_process_start(pid)}"
    return _OWNERS[pid]


def _owner_gone(label: str) -> bool:
    """Whether the grader process named by an owner label is certainly dead."""
    host, _, rest = label.partition(":")
    pid, _, started = rest.partition(":")
    if host != socket.gethostname() or not pid.isdigit():
        return False
    return _process_start(int(pid)) != started


def stale_containers(listed: list[dict], now: float) -> list[str]:
    """Ids of the listed sandbox containers whose grader died (crash, kill -9) or that are very old.

    `listed` is the Engine API's container list; this process's own containers are never stale.
    """
    this_process = owner()
    stale = []
    for container in listed:
        label = (container.get("Labels") or {}).get(OWNER_LABEL, "")
        if label == this_process:
            continue
        if _owner_gone(label) or now - container.get("Created", now) > STALE_AFTER_SECONDS:
            stale.append(container["Id"])
    return stale


def container_config(image: str, command: Sequence[str], limits: Limits) -> dict[str, object]:
    """Every limit and lock of the sandbox, as the Docker SDK's create_container arguments.

    A plain function of its arguments (no daemon needed), so tests can check every setting;
    `host_config` is the Engine API's HostConfig as the SDK's HostConfig type writes it.
    """
    host_config = {
        "NetworkMode": "none",
        "ReadonlyRootfs": True,
        "CapDrop": ["ALL"],
        "SecurityOpt": ["no-new-privileges"],
        "Memory": limits.memory_bytes,
        "MemorySwap": limits.memory_bytes,
        "PidsLimit": limits.pids,
        "NanoCpus": int(limits.cpus * 1e9),
        "Ulimits": [
            {"Name": "nofile", "Soft": limits.open_files, "Hard": limits.open_files},
            {"Name": "fsize", "Soft": limits.file_bytes, "Hard": limits.file_bytes},
            {"Name": "core", "Soft": 0, "Hard": 0},
            # Zero bytes of POSIX message queues: /dev/mqueue stays unwritable.
            {"Name": "msgqueue", "Soft": 0, "Hard": 0},
        ],
        "Tmpfs": {"/tmp": f"rw,nosuid,nodev,noexec,size={limits.tmpfs_bytes},mode=1777"},
        # No /dev/shm: it would be a second writable place outside the tmpfs.
        "IpcMode": "none",
        "LogConfig": {"Type": "none", "Config": {}},
        # If the host runs short of memory, the sandbox dies first.
        "OomScoreAdj": 1000,
    }
    return {
        "image": image,
        "command": list(command),
        "user": SANDBOX_USER,
        "working_dir": "/tmp",
        "hostname": "sandbox",
        "environment": ENVIRONMENT,
        "labels": {LABEL: "1", OWNER_LABEL: owner()},
        "stdin_open": True,
        "tty": False,
        "host_config": host_config,
    }


def create_body(config: dict[str, object]) -> dict[str, object]:
    """The Engine API's container-create body for a `container_config`, as the Docker SDK builds it.

    Stdin is attached and closed after the bundle (StdinOnce); stdout and stderr are attached.
    """
    environment = config["environment"]
    assert isinstance(environment, dict)
    return {
        "Image": config["image"],
        "Cmd": config["command"],
        "User": config["user"],
        "WorkingDir": config["working_dir"],
        "Hostname": config["hostname"],
        "Env": [f"{name}={value}" for name, value in environment.items()],
        "Labels": config["labels"],
        "OpenStdin": config["stdin_open"],
        "StdinOnce": config["stdin_open"],
        "AttachStdin": config["stdin_open"],
        "AttachStdout": True,
        "AttachStderr": True,
        "Tty": config["tty"],
        "NetworkDisabled": False,
        "HostConfig": config["host_config"],
    }
