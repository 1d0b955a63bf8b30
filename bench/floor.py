"""The container floor the grading targets are measured against.

A bare `docker run --rm` of the sandbox image with every lock and limit of a sandbox container
(built from grader.sandbox.docker_config.container_config, so it cannot drift from the real
settings), running `python3 -c 'import numpy'`: the least any Docker grade can cost.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from grader.sandbox.base import Limits  # noqa: E402
from grader.sandbox.docker_config import container_config  # noqa: E402

FLOOR_COMMAND = ("python3", "-c", "import numpy")


def floor_command(image: str, limits: Limits = Limits()) -> list[str]:
    """`docker run` arguments with the hardening of `container_config`."""
    config = container_config(image, FLOOR_COMMAND, limits)
    host = config["host_config"]
    args = [
        "docker", "run", "--rm", "-i",
        "--network", host["NetworkMode"], "--cap-drop", *host["CapDrop"],
        "--memory", str(host["Memory"]), "--memory-swap", str(host["MemorySwap"]),
        "--pids-limit", str(host["PidsLimit"]), "--cpus", str(host["NanoCpus"] / 1e9),
        "--ipc", host["IpcMode"], "--log-driver", host["LogConfig"]["Type"],
        "--oom-score-adj", str(host["OomScoreAdj"]),
        "--user", config["user"], "--workdir", config["working_dir"], "--hostname", config["hostname"],
    ]
    if host["ReadonlyRootfs"]:
        args.append("--read-only")
    for option in host["SecurityOpt"]:
        args += ["--security-opt", option]
    for ulimit in host["Ulimits"]:
        args += ["--ulimit", f"{ulimit['Name']}={ulimit['Soft']}:{ulimit['Hard']}"]
    for path, options in host["Tmpfs"].items():
        args += ["--tmpfs", f"{path}:{options}"]
    for name, value in config["environment"].items():
        args += ["--env", f"{name}={value}"]
    return [*args, config["image"], *config["command"]]


def run_floor(image: str) -> None:
    subprocess.run(floor_command(image), check=True, capture_output=True, stdin=subprocess.DEVNULL)
