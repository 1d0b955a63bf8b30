"""Run the checks under pytest, in-process and on the calling thread, and hand back what it judged.

Grading threads score at the same time, so a run must not touch process-wide state:
no lock, no environment variable, no import hook, no patched class, nothing printed.
`pytest.main` sets PYTEST_VERSION in os.environ and pytest's runner PYTEST_CURRENT_TEST
for every test (either can be left behind, or change while another thread reads the
environment), so the session is prepared and run as `pytest.main` does but without
those two steps. The built-in plugins that change globals on every run are left out:
capture and terminal (sys.stdout), debugging (pdb.set_trace), logging (the root logger),
warnings, faulthandler, assertion (an import hook and assertion globals) and legacypath
(it patches pytest's own classes). Two steps remain: the mark plugin, which cannot be
left out, points `pytest.mark` at the newest session's config (it validates marker names,
which the checks do not use, and keeps that one config alive), and the session changes
back into the directory it started in (nothing in the grader changes directory).
tests/test_pytest_run.py grades on many threads of a fresh process and watches the
process's state while it does.
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

import pytest
import pytest_jsonreport.plugin
from _pytest.config import _prepareconfig
from pytest_jsonreport.plugin import JSONReport

from grader.check_outputs import CaseFile
from grader.checks import CaseChecks, Check
from grader.errors import ChecksDidNotRun

CHECKS_MODULE = Path(__file__).with_name("check_outputs.py")
# Built-in plugins the checks do not need, most of them because they change globals on every run
# (see the module docstring; check_outputs.py has no assert statement to rewrite);
# unraisableexception alone also runs gc.collect() per test, and python (test functions and
# modules) is not needed since _ChecksPlugin collects check_outputs.py itself.
_UNUSED_PLUGINS = (
    "cacheprovider", "unraisableexception", "threadexception", "faulthandler", "stepwise",
    "warnings", "doctest", "junitxml", "pastebin", "setuponly", "setupplan",
    "capture", "terminal", "debugging", "logging", "assertion", "legacypath", "tmpdir", "monkeypatch", "recwarn",
    "subtests", "unittest", "skipping", "python",
)
_ARGS = (
    str(CHECKS_MODULE),
    "-c", os.devnull,
    "--rootdir", str(CHECKS_MODULE.parent),
    # Should pytest import anything, never by inserting a directory into sys.path.
    "--import-mode=importlib",
    # Scanning installed distributions for plugins costs more than the checks.
    "--disable-plugin-autoload",
    "--json-report-file=none",
    # log would add a handler to the root logger during each test; the rest is not needed for scoring.
    "--json-report-omit", "log", "streams", "keywords", "collectors", "traceback", "warnings",
    *[arg for name in _UNUSED_PLUGINS for arg in ("-p", f"no:{name}")],
)


@dataclasses.dataclass(frozen=True)
class Judging:
    """What one pytest session over the checks gives back."""

    checks: dict[str, Check]
    """Check id -> the judged check, for every case whose test ran to its end, in case order."""
    outcomes: dict[str, str]
    """Case id -> its test's outcome in pytest-json-report's record ("passed", "failed")."""


class _ChecksPlugin:
    def __init__(self) -> None:
        self.planned: list[CaseChecks] = []
        self.judged: dict[str, Check] = {}
        self.case_of_test: dict[str, str] = {}

    # pytest-json-report relies on three things of plugins left out above: the traceback style
    # option and the status of a report (terminal), and the session's fspath (legacypath).
    @pytest.hookimpl(tryfirst=True)
    def pytest_configure(self, config: pytest.Config) -> None:
        config.option.tbstyle = "no"

    @pytest.hookimpl(trylast=True)
    def pytest_report_teststatus(self, report: pytest.TestReport) -> tuple[str, str, str]:
        return report.outcome, "", ""

    def pytest_sessionstart(self, session: pytest.Session) -> None:
        session.fspath = session.path

    @pytest.hookimpl(tryfirst=True)
    def pytest_ignore_collect(self, collection_path: Path) -> bool:
        # pytest lists the module's whole directory; asking it about every other entry cost more than judging.
        return collection_path != CHECKS_MODULE and collection_path not in CHECKS_MODULE.parents

    @pytest.hookimpl(tryfirst=True)
    def pytest_collect_file(self, file_path: Path, parent: pytest.Collector) -> CaseFile | None:
        if file_path == CHECKS_MODULE:
            return CaseFile.from_parent(parent, path=file_path, planned=self.planned, judged=self.judged)
        return None

    def pytest_collection_finish(self, session: pytest.Session) -> None:
        self.case_of_test = {item.nodeid: item.name for item in session.items}

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_protocol(self, item: pytest.Item, nextitem: pytest.Item | None) -> bool:
        """pytest's test protocol for an item without fixtures, without its process-wide side effects.

        pytest's own protocol sets PYTEST_CURRENT_TEST and sys.last_* and imports the
        package's __init__.py on setup; a case item needs no setup or teardown. The report
        is pytest's, made and logged by its hooks, so pytest-json-report records it as usual.
        """
        hook = item.ihook
        hook.pytest_runtest_logstart(nodeid=item.nodeid, location=item.location)
        call = pytest.CallInfo.from_call(item.runtest, when="call", reraise=(pytest.exit.Exception, KeyboardInterrupt))
        hook.pytest_runtest_logreport(report=hook.pytest_runtest_makereport(item=item, call=call))
        hook.pytest_runtest_logfinish(nodeid=item.nodeid, location=item.location)
        return True


class ChecksSession:
    """A pytest session over the checks, set up before the outputs to judge are known.

    Building pytest's config (its plugin manager and every built-in plugin) is ~15 ms of a
    grade; grader.engine does it while the sandbox runs. A session runs once.
    """

    def __init__(self) -> None:
        self._plugin, self._recorder = _ChecksPlugin(), JSONReport()
        self._config: pytest.Config | None = None
        # The plugin module as an object, not `-p`: a `-p` name makes pytest scan every installed
        # distribution's entry points, on each run.
        try:
            self._config = _prepareconfig(list(_ARGS), plugins=[self._plugin, pytest_jsonreport.plugin, self._recorder])
        except pytest.UsageError:
            pass
        self._used = False

    def run(self, planned: list[CaseChecks]) -> Judging:
        """Judge every case of `planned`, one test per case (nothing is printed)."""
        if self._used:
            raise RuntimeError("a ChecksSession runs once")
        self._used = True
        self._plugin.planned = planned
        if self._config is None:
            exit_code = pytest.ExitCode.USAGE_ERROR
        else:
            try:
                exit_code = self._config.hook.pytest_cmdline_main(config=self._config)
            finally:
                self._config._ensure_unconfigure()
        report = self._recorder.report
        if report is None or exit_code not in (pytest.ExitCode.OK, pytest.ExitCode.TESTS_FAILED):
            raise ChecksDidNotRun(f"the checks did not run (pytest exit code {int(exit_code)}); please report this")
        outcomes = {self._plugin.case_of_test[test["nodeid"]]: test["outcome"] for test in report["tests"]}
        return Judging(self._plugin.judged, outcomes)


def run_checks(planned: list[CaseChecks], session: ChecksSession | None = None) -> Judging:
    """Judge every case in one pytest session (`session`, set up beforehand, or a new one)."""
    return (session or ChecksSession()).run(planned)
