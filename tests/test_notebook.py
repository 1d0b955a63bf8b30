"""A notebook reduced to its code cells: what is kept, what is dropped, what cannot be read."""

from __future__ import annotations

import json

import pytest

from grader.notebook import MAX_NOTEBOOK_BYTES, MAX_PARTS, NotebookError, code_cells, code_size, strip
from tests.notebook_files import MB, correct_notebook, dump, notebook_with_figures, with_figures


def _cells(*cells):
    return json.dumps({"cells": [{"cell_type": kind, "source": source} for kind, source in cells]}).encode()


def test_outputs_and_metadata_are_dropped():
    stripped = json.loads(strip(notebook_with_figures(MB)))
    assert {key for cell in stripped["cells"] for key in cell} == {"cell_type", "source"}
    assert set(stripped) == {"cells"}


def test_a_rerun_with_new_outputs_strips_to_the_same_bytes():
    assert strip(notebook_with_figures(MB)) == strip(notebook_with_figures(2 * MB)) == strip(dump(correct_notebook()))


def test_every_cell_keeps_its_place_so_cell_numbers_match_the_notebook():
    stripped = json.loads(strip(_cells(("markdown", "# Title"), ("raw", "x"), ("code", "a = 1"))))
    assert stripped["cells"] == [{"cell_type": "raw"}, {"cell_type": "raw"}, {"cell_type": "code", "source": "a = 1"}]


def test_source_as_a_list_of_lines_is_joined():
    assert code_cells(_cells(("code", ["a = 1\n", "b = 2"]))) == ["a = 1\nb = 2"]


def test_windows_line_ends_in_code_become_newlines():
    assert code_cells(_cells(("code", ["a = 1\r\n", "b = 2\r", "c = 3"]))) == ["a = 1\nb = 2\nc = 3"]


def test_a_byte_order_mark_is_accepted():
    assert code_cells(b"\xef\xbb\xbf" + _cells(("code", "a = 1"))) == ["a = 1"]


def test_code_size_counts_code_cells_only():
    cells = code_cells(dump(with_figures(correct_notebook(), 4 * MB)))
    assert code_size(cells) < 20_000


def test_a_file_over_the_notebook_ceiling_is_refused_without_parsing():
    oversized = b"{" + b" " * MAX_NOTEBOOK_BYTES + b"}"
    with pytest.raises(NotebookError, match="larger than 32 MB even though outputs do not count; clear its outputs"):
        code_cells(oversized)


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (b"", "the file is empty"),
        (b"\xff\xfe{}", "not UTF-8 text"),
        (b"{\"cells\": [", "not valid JSON"),
        (b"[" * 100_000 + b"]" * 100_000, "not valid JSON"),
        (b"{\"metadata\": {}}", "the notebook has no cells"),
        (b"{\"worksheets\": [], \"nbformat\": 3}", "old format 3"),
        (b"{\"cells\": [{\"cell_type\": \"code\", \"source\": 1}]}", "cell 1 of the notebook is malformed"),
        (b"{\"cells\": [{\"cell_type\": \"markdown\"}, \"x\"]}", "cell 2 of the notebook is malformed"),
        (b"{\"cells\": [{\"source\": \"a = 1\"}]}", "cell 1 of the notebook is malformed"),
        (b"{\"cells\": [{\"cell_type\": \"heading\", \"source\": \"\"}]}", "cell 1 of the notebook is malformed"),
    ],
)
def test_unreadable_notebooks_are_refused_with_a_reason(raw, message):
    with pytest.raises(NotebookError, match=message):
        code_cells(raw)


def test_a_notebook_of_too_many_parts_is_refused_before_parsing():
    many = b'{"cells": [], "metadata": [' + b"{}," * MAX_PARTS + b"{}]}"
    with pytest.raises(NotebookError, match="too many parts to read"):
        code_cells(many)


def test_outputs_of_tens_of_thousands_of_printed_numbers_are_still_read():
    notebook = correct_notebook()
    notebook["cells"][2]["outputs"] = [{"output_type": "stream", "name": "stdout",
                                        "text": [", ".join(["0.5"] * 100_000) + "\n"] * 5}]
    assert code_cells(dump(notebook)) == code_cells(dump(correct_notebook()))


def test_a_lone_surrogate_in_a_code_cell_is_refused_with_a_message():
    # Valid JSON (an escaped surrogate), but no UTF-8 text: it must be refused, not crash the grader.
    raw = b'{"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": [{"cell_type": "code", "source": "x = \\"\\ud800\\"", "metadata": {}, "outputs": []}]}'
    with pytest.raises(NotebookError, match="cell 1"):
        strip(raw)
