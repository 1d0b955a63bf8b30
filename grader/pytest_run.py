"""Run the checks under pytest, in-process, and return pytest-json-report's record."""

from __future__ import annotations

import contextlib
import io
import os
import threading
from pathlib import Path
from typing import Any

import pytest
import pytest_jsonreport.plugin
from pytest_jsonreport.plugin import JSONReport

from grader.check_outputs import CaseFile
from grader.checks import Check
from grader.errors import ChecksDidNotRun

CHECKS_MODULE = Path(__file__).with_name("check_outputs.py")
# Built-in plugins the checks do not need; unraisableexception alone runs gc.collect() per test.
_UNUSED_PLUGINS = (
    "cacheprovider", "unraisableexception", "threadexception", "faulthandler", "stepwise",
    "warnings", "doctest", "junitxml", "pastebin", "setuponly", "setupplan",
)
# pytest keeps global state (capture, assertion rewriting); one run at a time per process.
_LOCK = threading.Lock()


class _ChecksPlugin:
    def __init__(self, checks: list[Check]) -> None:
        self.checks = checks

    @pytest.hookimpl(tryfirst=True)
    def pytest_pycollect_makemodule(self, module_path: Path, parent: pytest.Collector) -> CaseFile | None:
        if module_path == CHECKS_MODULE:
            return CaseFile.from_parent(parent, path=module_path, checks=self.checks)
        return None


@contextlib.contextmanager
def _no_plugin_autoload():
    """Load no installed pytest plugins but ours: scanning them costs more than the checks."""
    previous = os.environ.get("PYTEST_DISABLE_PLUGIN_AUTOLOAD")
    os.environ["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"
    try:
        yield
    finally:
        if previous is None:
            del os.environ["PYTEST_DISABLE_PLUGIN_AUTOLOAD"]
        else:
            os.environ["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = previous


def run_checks(checks: list[Check]) -> dict[str, Any]:
    """The JSON report of one pytest session over `checks`, one test per case (nothing is printed)."""
    recorder = JSONReport()
    args = [
        str(CHECKS_MODULE),
        "-c", os.devnull,
        "--rootdir", str(CHECKS_MODULE.parent),
        "--import-mode=importlib",
        "--capture=no",
        "--json-report-file=none",
        "-qq",
        "-rN",
        "--tb=no",
        "--no-header",
        *[arg for name in _UNUSED_PLUGINS for arg in ("-p", f"no:{name}")],
    ]
    with _LOCK, contextlib.redirect_stdout(io.StringIO()), _no_plugin_autoload():
        # The plugin module as an object, not `-p`: a `-p` name makes pytest scan every installed
        # distribution's entry points, on each run.
        exit_code = pytest.main(args, plugins=[_ChecksPlugin(checks), pytest_jsonreport.plugin, recorder])
    report = recorder.report
    if report is None or exit_code not in (pytest.ExitCode.OK, pytest.ExitCode.TESTS_FAILED):
        raise ChecksDidNotRun(f"the checks did not run (pytest exit code {int(exit_code)}); please report this")
    return report
