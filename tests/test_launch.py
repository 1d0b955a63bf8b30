"""The `grade` script: which command lines start a container before parsing, and the quick exit."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from grader import launch
from tests.conftest import CORRECT, ROOT

CORRECT_FILE = str(CORRECT / "template_with_seed.py")


@pytest.mark.parametrize("args", [
    [],
    ["batch", "submissions"],
    ["serve"],
    ["--help"],
    ["no-such-file.py"],
    [str(ROOT / "README.md")],
    [CORRECT_FILE, "--sandbox", "process"],
    [CORRECT_FILE, "--unsafe-no-sandbox"],
    [CORRECT_FILE, "--timeout", "30"],
    [CORRECT_FILE, "--timeout=30"],
    [CORRECT_FILE, "--report", "r.json", "--help"],
])
def test_only_a_plain_grade_file_command_line_starts_a_container_before_parsing(args):
    assert not launch._grades_one_file(args) or launch._speculate(args) is None


def test_a_file_refused_before_running_starts_no_container(tmp_path):
    empty = tmp_path / "empty.py"
    empty.write_text("")
    assert launch._grades_one_file([str(empty)])
    assert launch._speculate([str(empty)]) is None


def test_only_grading_one_file_turns_the_garbage_collector_off():
    assert launch._grades_one_file([CORRECT_FILE, "--json"])
    assert not launch._grades_one_file(["batch", CORRECT_FILE])
    assert not launch._grades_one_file([str(CORRECT)])


def _run_script(body: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", textwrap.dedent(body)], capture_output=True, text=True,
                          cwd=ROOT, timeout=60)


def test_the_quick_exit_runs_the_atexit_handlers_flushes_and_keeps_the_code(tmp_path):
    done = tmp_path / "done"
    completed = _run_script(f"""
        import atexit, pathlib, sys
        from grader import launch
        atexit.register(pathlib.Path({str(done)!r}).write_text, "cleaned up")
        sys.stdout.write("no newline, still buffered")
        launch._exit_now(3)
    """)
    assert completed.returncode == 3, completed.stderr
    assert completed.stdout == "no newline, still buffered"
    assert done.read_text() == "cleaned up"


def test_the_quick_exit_waits_for_a_thread_that_still_works(tmp_path):
    done = tmp_path / "done"
    completed = _run_script(f"""
        import pathlib, threading, time
        from grader import launch
        def work():
            time.sleep(0.3)
            pathlib.Path({str(done)!r}).write_text("finished")
        threading.Thread(target=work).start()
        launch._exit_now(0)
    """)
    assert completed.returncode == 0, completed.stderr
    assert done.read_text() == "finished"


def test_the_grade_script_keeps_the_commands_exit_codes(tmp_path):
    usage = subprocess.run([sys.executable, "-m", "grader", "no-such-file.py"], capture_output=True, text=True,
                           cwd=tmp_path, timeout=60)
    assert usage.returncode == 2 and "does not exist" in usage.stderr
    graded = subprocess.run([sys.executable, "-m", "grader", CORRECT_FILE, "--unsafe-no-sandbox", "--json",
                             "--report", str(tmp_path / "r.json")], capture_output=True, text=True, timeout=60)
    assert graded.returncode == 0, graded.stderr
    assert graded.stdout == (tmp_path / "r.json").read_text()
