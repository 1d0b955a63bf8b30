"""Reading a handed-in file: size limits, notebooks reduced to their code, refusals with reasons."""

from __future__ import annotations

import io
import json
import os

import pytest

from grader.notebook import MAX_NOTEBOOK_BYTES
from grader.submission import MAX_BYTES, Rejected, Submission
from tests.notebook_files import MB, correct_notebook, dump, notebook_with_figures


class _Endless(io.RawIOBase):
    """A stream of `size` bytes produced on demand, counting what was read."""

    def __init__(self, size: int) -> None:
        self.left = size
        self.read_bytes = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        count = min(len(buffer), self.left)
        buffer[:count] = b" " * count
        self.left -= count
        self.read_bytes += count
        return count


def test_a_notebook_with_20_mb_of_figures_passes_the_checks():
    submission = Submission.from_upload("work.ipynb", io.BytesIO(notebook_with_figures(20 * MB)))
    submission.check()
    assert len(submission.content) < 20_000


def test_a_python_file_over_the_limit_is_still_refused():
    submission = Submission.from_upload("work.py", io.BytesIO(b"x = 1\n" * (MAX_BYTES // 5)))
    with pytest.raises(Rejected, match="larger than 2 MB"):
        submission.check()


def test_a_notebook_with_over_2_mb_of_code_is_refused():
    notebook = correct_notebook()
    notebook["cells"].append({"cell_type": "code", "metadata": {}, "outputs": [], "execution_count": None,
                              "source": ["data = [\n"] + ["    0.123456789,\n"] * (MAX_BYTES // 16) + ["]\n"]})
    submission = Submission.from_upload("work.ipynb", io.BytesIO(dump(notebook)))
    with pytest.raises(Rejected, match="code cells hold more than 2 MB of code"):
        submission.check()


def test_a_200_mb_upload_is_refused_after_reading_only_the_notebook_ceiling():
    stream = _Endless(200 * MB)
    submission = Submission.from_upload("work.ipynb", io.BufferedReader(stream))
    assert stream.read_bytes <= MAX_NOTEBOOK_BYTES + io.DEFAULT_BUFFER_SIZE + 1
    with pytest.raises(Rejected, match="larger than 32 MB"):
        submission.check()


def test_a_200_mb_file_on_disk_is_refused(tmp_path):
    path = tmp_path / "huge.ipynb"
    with open(path, "wb") as handle:
        handle.truncate(200 * MB)  # sparse: no disk space, reads as zero bytes
    with pytest.raises(Rejected, match="larger than 32 MB"):
        Submission.from_path(path).check()


def test_a_notebook_without_code_is_refused():
    notebook = {"cells": [{"cell_type": "markdown", "source": "# my answers"},
                          {"cell_type": "code", "source": "\n"}]}
    with pytest.raises(Rejected, match="no code in its code cells"):
        Submission.from_upload("work.ipynb", io.BytesIO(json.dumps(notebook).encode())).check()


def test_a_notebook_rerun_with_new_outputs_is_the_same_submission():
    first = Submission.from_upload("work.ipynb", io.BytesIO(notebook_with_figures(MB)))
    again = Submission.from_upload("work.ipynb", io.BytesIO(notebook_with_figures(3 * MB)))
    assert first.sha256 == again.sha256


def test_refusals_for_different_reasons_are_different_submissions(tmp_path):
    not_json = Submission.from_upload("a.ipynb", io.BytesIO(b"{"))
    no_cells = Submission.from_upload("b.ipynb", io.BytesIO(b"{}"))
    assert not_json.content == no_cells.content == b""
    assert not_json.sha256 != no_cells.sha256


def test_a_stripped_notebook_is_checked_like_the_original():
    raw = notebook_with_figures(MB)
    stripped = Submission.from_upload("work.ipynb", io.BytesIO(raw))
    assert Submission("work.ipynb", stripped.content).content == stripped.content
    Submission("work.ipynb", stripped.content).check()
    Submission("work.ipynb", raw).check()


def test_a_symlinked_notebook_is_refused_without_reading_it(tmp_path):
    target = tmp_path / "other.ipynb"
    target.write_bytes(dump(correct_notebook()))
    os.symlink(target, tmp_path / "mine.ipynb")
    submission = Submission.from_path(tmp_path / "mine.ipynb")
    assert submission.content == b""
    with pytest.raises(Rejected, match="symbolic link"):
        submission.check()
