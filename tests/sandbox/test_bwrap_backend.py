"""The bubblewrap backend on this host: the sandbox contract, grading with the real runner, and its cleanup."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator

import pytest

from grader.engine import grade
from grader.errors import SandboxUnavailable
from grader.sandbox import get_backend
from grader.sandbox.base import Limits
from grader.sandbox.bwrap import HOST_ID_BASE, BwrapBackend, bwrap_command
from grader.submission import Submission

from tests.conftest import CORRECT
from .contract import CHECKS, PROBE_COMMAND, REPO_ROOT, BackendFactory

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("no_leftover_sandbox_processes")]


def _unavailable(reason: str) -> None:
    """Skip locally, fail under CI (which installs bubblewrap and python3-numpy)."""
    if os.environ.get("CI") == "true":
        pytest.fail(f"CI must have the bwrap sandbox: {reason}", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="module")
def make_backend() -> BackendFactory:
    """bwrap backends that run a given command in the sandbox."""
    try:
        BwrapBackend()
    except SandboxUnavailable as exc:
        _unavailable(str(exc))
    return BwrapBackend


def _sandbox_processes() -> list[int]:
    """Live processes running as one of the bwrap backend's host uids (zombies have ended and are left out)."""
    found = []
    for name in filter(str.isdigit, os.listdir("/proc")):
        try:
            status = open(f"/proc/{name}/status").read()
        except OSError:
            continue
        fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
        if int(fields["Uid"].split()[0]) >= HOST_ID_BASE and not fields["State"].strip().startswith("Z"):
            found.append(int(name))
    return found


@pytest.fixture
def no_leftover_sandbox_processes() -> Iterator[None]:
    """Fail the test if any sandbox process is still alive right after it."""
    yield
    assert _sandbox_processes() == []


@pytest.mark.parametrize("check", CHECKS, ids=[check.__name__.removeprefix("check_") for check in CHECKS])
def test_contract(check, make_backend: BackendFactory) -> None:
    check(make_backend)


def test_correct_submission_scores_full_marks(make_backend: BackendFactory) -> None:
    report = grade(Submission.from_path(CORRECT / "template_with_seed.py"), backend="bwrap")
    assert report.status == "graded" and (report.score, report.max_score) == (80, 80), report.message


def test_repo_and_root_home_are_invisible(make_backend: BackendFactory) -> None:
    hidden = (str(REPO_ROOT), "/root", "/work", "/home", "/usr/local/lib")
    source = f"import json, os\nprint(json.dumps([os.path.exists(p) for p in {hidden!r}]))"
    run = make_backend(PROBE_COMMAND).run(source.encode(), Limits(wall_seconds=10))
    assert run.exit_code == 0 and run.stdout == b"[false, false, false, false, false]\n", run


def test_interpreter_is_debians_with_debians_numpy(make_backend: BackendFactory) -> None:
    source = b"import sys, numpy\nprint(sys.executable, numpy.__file__)\n"
    run = make_backend(PROBE_COMMAND).run(source, Limits(wall_seconds=10))
    assert run.stdout == b"/usr/bin/python3 /usr/lib/python3/dist-packages/numpy/__init__.py\n", run


def test_runner_is_this_trees(make_backend: BackendFactory) -> None:
    """An empty bundle is not valid input: the runner at /opt/grader/runner.py starts, fails, and says why."""
    run = make_backend(("python3", "-I", "/opt/grader/runner.py")).run(b"", Limits(wall_seconds=10))
    assert run.exit_code not in (0, None) and "Traceback" in run.diagnostics and "runner.py" in run.diagnostics


def test_get_backend_selects_bwrap(make_backend: BackendFactory) -> None:
    assert get_backend("bwrap").name == "bwrap"


def test_processes_of_a_timed_out_run_are_gone_when_it_returns(make_backend: BackendFactory) -> None:
    source = b"import os, time\nfor _ in range(8):\n    if os.fork() == 0:\n        break\ntime.sleep(60)\n"
    run = make_backend(PROBE_COMMAND).run(source, Limits(wall_seconds=2.0, pids=32))
    assert run.timed_out
    assert _sandbox_processes() == []


def test_concurrent_runs_have_separate_process_budgets(make_backend: BackendFactory) -> None:
    """One run's fork bomb does not use up the pids of a run beside it (each has its own host uid)."""
    bomb = b"import os, time\nwhile True:\n    try:\n        os.fork()\n    except OSError:\n        time.sleep(0.1)\n"
    limits = Limits(wall_seconds=6.0, pids=16)
    bomber = threading.Thread(target=make_backend(PROBE_COMMAND).run, args=(bomb, limits))
    bomber.start()
    try:
        time.sleep(1.0)
        source = b"import os\nfor _ in range(8):\n    if os.fork() == 0:\n        os._exit(0)\nprint(8)\n"
        run = make_backend(PROBE_COMMAND).run(source, Limits(wall_seconds=5.0, pids=16))
    finally:
        bomber.join()
    assert run.exit_code == 0 and run.stdout.endswith(b"8\n"), run


def test_command_line_has_every_lock() -> None:
    line = bwrap_command("/w", ["python3"])
    for flag in ("--unshare-all", "--unshare-user", "--die-with-parent", "--new-session", "--clearenv"):
        assert flag in line
    assert line[line.index("--cap-drop") + 1] == "ALL"
    assert line[line.index("--uid") + 1] != "0" and line[line.index("--gid") + 1] != "0"
    assert line[-2:] == ["--", "python3"]
