"""The light install: grading one file loads no service or queue library, and the commands that
need one say which extra to install when it is missing."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.conftest import CORRECT, ROOT

SERVICE_AND_QUEUE_MODULES = ("fastapi", "starlette", "uvicorn", "multipart", "celery", "kombu", "redis", "jsonschema")

_WITHOUT = """
import importlib.abc, sys
blocked = set(sys.argv[1].split(","))
class Blocker(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] in blocked:
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
sys.meta_path.insert(0, Blocker())
from grader.cli import main
main(sys.argv[2:], prog_name="grade")
"""


def _grade_without(modules: tuple[str, ...], *args: str) -> subprocess.CompletedProcess[str]:
    """Run the `grade` command as if `modules` were not installed."""
    return subprocess.run([sys.executable, "-c", _WITHOUT, ",".join(modules), *args],
                          capture_output=True, text=True, cwd=ROOT, timeout=120)


def test_grading_one_file_imports_no_service_or_queue_library(tmp_path) -> None:
    printer = (
        "import atexit, json, sys\n"
        "atexit.register(lambda: print(json.dumps(sorted({m.partition('.')[0] for m in sys.modules})), file=sys.stderr))\n"
        "from grader.cli import main\n"
        "main(sys.argv[1:], prog_name='grade')\n"
    )
    completed = subprocess.run(
        [sys.executable, "-c", printer, str(CORRECT / "template_with_seed.py"), "--unsafe-no-sandbox",
         "--report", str(tmp_path / "r.json")],
        capture_output=True, text=True, cwd=ROOT, timeout=120,
    )
    assert completed.returncode == 0, completed.stderr
    loaded = set(json.loads(completed.stderr.strip().splitlines()[-1]))
    assert "80 / 80" in completed.stdout
    assert loaded.isdisjoint(SERVICE_AND_QUEUE_MODULES), loaded & set(SERVICE_AND_QUEUE_MODULES)


def test_grading_one_file_works_without_the_extras(tmp_path) -> None:
    completed = _grade_without(SERVICE_AND_QUEUE_MODULES + ("httpx", "jwt", "pydantic_settings"),
                               str(CORRECT / "template_with_seed.py"), "--unsafe-no-sandbox",
                               "--report", str(tmp_path / "r.json"))
    assert completed.returncode == 0, completed.stderr
    assert "80 / 80" in completed.stdout


@pytest.mark.parametrize(("command", "missing", "extra"), [
    (["serve"], "fastapi", "service"),
    (["serve"], "uvicorn", "service"),
    (["worker"], "celery", "queue"),
    (["worker"], "pydantic_settings", "queue"),
])
def test_a_command_without_its_extra_names_the_install_command(command, missing, extra) -> None:
    completed = _grade_without((missing,), *command)
    assert completed.returncode == 2, completed.stderr
    assert f"pip install 'grader[{extra}]'" in completed.stderr
    assert "Traceback" not in completed.stderr


def test_batch_with_the_celery_queue_without_its_extra_names_the_install_command(tmp_path) -> None:
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "a.py").write_text("x = 1\n")
    completed = _grade_without(("celery", "kombu", "redis"), "batch", str(tmp_path / "in"),
                               "--out", str(tmp_path / "out"), "--queue", "celery")
    assert completed.returncode == 2, completed.stderr
    assert "pip install 'grader[queue]'" in completed.stderr


def test_a_batch_works_without_the_extras(tmp_path) -> None:
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "a.py").write_bytes((CORRECT / "template_with_seed.py").read_bytes())
    completed = _grade_without(SERVICE_AND_QUEUE_MODULES + ("httpx", "jwt", "pydantic_settings"), "batch",
                               str(tmp_path / "in"), "--out", str(tmp_path / "out"), "--unsafe-no-sandbox")
    assert completed.returncode == 0, completed.stderr
    assert "1 graded" in completed.stdout
