"""Notebooks as students hand them in, graded end to end: any amount of output, every real tool's shape."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from grader.cli import main
from grader.engine import grade
from grader.sandbox import Limits, RawRun, get_backend
from grader.submission import Submission
from tests.notebook_files import MB, REAL_TOOL_SHAPES, correct_notebook, dump, notebook_with_figures

pytestmark = pytest.mark.slow


def _grade(tmp_path, name: str, content: bytes):
    path = tmp_path / name
    path.write_bytes(content)
    return grade(Submission.from_path(path), backend="process")


@pytest.mark.parametrize("megabytes", [1, 5, 20])
def test_grade_command_gives_full_marks_whatever_the_size_of_the_figures(tmp_path, megabytes):
    path = tmp_path / "Regularization.ipynb"
    path.write_bytes(notebook_with_figures(megabytes * MB))
    report = tmp_path / "report.json"
    result = CliRunner().invoke(main, [str(path), "--unsafe-no-sandbox", "--report", str(report)])
    assert result.exit_code == 0, result.output
    written = json.loads(report.read_text())
    assert (written["status"], written["score"]) == ("graded", 80), written["message"]


@pytest.mark.parametrize("shape", REAL_TOOL_SHAPES)
def test_notebook_saved_by_a_real_tool_gets_full_marks(tmp_path, shape):
    report = _grade(tmp_path, f"{shape}.ipynb", REAL_TOOL_SHAPES[shape]())
    assert (report.status, report.score) == ("graded", 80), report.message


def test_a_colab_drive_mount_is_reported_in_its_cell_and_costs_nothing(tmp_path):
    report = _grade(tmp_path, "colab.ipynb", REAL_TOOL_SHAPES["colab"]())
    assert report.score == 80
    assert report.load_errors == ["ModuleNotFoundError: No module named 'google' (cell 1, line 1)"]
    assert "cell 1, line 2" in report.skipped_statements


def test_load_errors_and_skipped_statements_name_the_cell_counted_from_the_top(tmp_path):
    notebook = correct_notebook()
    # Cell 27 as Jupyter shows it: 26 cells (markdown included) come before it.
    notebook["cells"].append({"cell_type": "code", "metadata": {}, "outputs": [], "execution_count": 9,
                              "source": ["import numpy as np\n", "\n", "import no_such_module\n", "print(np.pi)\n"]})
    report = _grade(tmp_path, "work.ipynb", dump(notebook))
    assert report.load_errors == ["ModuleNotFoundError: No module named 'no_such_module' (cell 27, line 3)"]
    assert report.skipped_statements[-1] == "cell 27, line 4"


def test_the_report_of_a_notebook_is_of_its_code(tmp_path):
    with_figures = _grade(tmp_path, "a.ipynb", notebook_with_figures(5 * MB))
    without = _grade(tmp_path, "b.ipynb", dump(correct_notebook()))
    assert with_figures.submission.sha256 == without.submission.sha256
    assert with_figures.submission.size == without.submission.size < 20_000


class _Recording:
    """The process backend, keeping every bundle it was given."""

    name = "process"

    def __init__(self) -> None:
        self.bundles: list[bytes] = []
        self._backend = get_backend("process")

    def run(self, bundle: bytes, limits: Limits) -> RawRun:
        self.bundles.append(bundle)
        return self._backend.run(bundle, limits)


def test_only_the_code_cells_reach_the_sandbox(tmp_path):
    notebook = correct_notebook()
    notebook["metadata"]["secret"] = "METADATA-MARKER"
    notebook["cells"][0]["source"] = ["MARKDOWN-MARKER"]
    notebook["cells"][2]["outputs"] = [{"output_type": "stream", "name": "stdout", "text": ["OUTPUT-MARKER"]}]
    path = tmp_path / "work.ipynb"
    path.write_bytes(dump(notebook))
    backend = _Recording()
    report = grade(Submission.from_path(path), backend=backend)
    assert report.score == 80
    [bundle] = backend.bundles
    assert b"def compute_cost_with_regularization" in bundle
    assert not [marker for marker in (b"METADATA", b"MARKDOWN", b"OUTPUT") if marker + b"-MARKER" in bundle]
