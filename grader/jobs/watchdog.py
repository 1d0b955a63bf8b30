"""Remove a grading process's sandbox containers when it dies without removing them (kill -9, OOM kill).

A process removes its own containers on a normal exit or SIGTERM (grader/sandbox/docker.py),
and the next grader to start reaps those of dead graders; `watch` closes the gap in between.
It starts a small process that blocks on a pipe whose write end only this process holds: the
kernel closes it when this process ends, however it ends, and the watchdog then removes every
container labelled with this process as owner, and exits. It imports nothing heavy until then.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

_held: list[int] = []
"""The write end of the pipe: kept open for the life of the process, never written."""


def watch() -> None:
    """Start this process's watchdog (once per process; again in a forked child)."""
    from grader.sandbox.docker import owner

    if _held and _held[0] == os.getpid():
        return
    read_end, write_end = os.pipe()
    # The watchdog imports this very package, wherever it was imported from (a checkout, say).
    path = os.pathsep.join(filter(None, [str(Path(__file__).resolve().parents[2]), os.environ.get("PYTHONPATH")]))
    subprocess.Popen([sys.executable, "-m", "grader.jobs.watchdog", owner()], stdin=read_end,
                     stdout=subprocess.DEVNULL, env={**os.environ, "PYTHONPATH": path}, start_new_session=True,
                     close_fds=True)
    os.close(read_end)
    _held[:] = [os.getpid(), write_end]


def _remove_containers_of(owner_label: str) -> int:
    """Remove every sandbox container whose owner label is `owner_label`; return how many."""
    from grader.sandbox.docker import LABEL, OWNER_LABEL, connect

    client = connect()
    removed = 0
    for container in client.containers(all=True, filters={"label": [LABEL, f"{OWNER_LABEL}={owner_label}"]}):
        try:
            client.remove_container(container["Id"], force=True)
            removed += 1
        except Exception as exc:  # noqa: BLE001 (gone already, or the daemon is down: the next reaper's job)
            print(f"watchdog: could not remove {container['Id'][:12]}: {exc}", file=sys.stderr)
    return removed


def _main(owner_label: str) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the watched process's to handle
    while os.read(0, 4096):
        pass
    try:
        _remove_containers_of(owner_label)
    except Exception as exc:  # noqa: BLE001 (a daemon that does not answer: the next grader's reaper removes them)
        print(f"watchdog: could not list the sandbox containers of {owner_label}: {exc}", file=sys.stderr)


if __name__ == "__main__":
    _main(sys.argv[1])
