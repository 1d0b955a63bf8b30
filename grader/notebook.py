"""A handed-in notebook reduced to what is graded: the code of its code cells, cell by cell.

Outputs, attachments, metadata, execution counts and cell ids play no part in grading, so
they are dropped before any size limit applies and never reach the sandbox. Every cell keeps
its place (markdown and raw cells become an empty raw cell), so "cell N" in a report is
the N-th cell from the top of the notebook as the student sees it, markdown cells included.
"""

from __future__ import annotations

import json
from typing import Any

MAX_NOTEBOOK_BYTES = 32 * 1024 * 1024
"""Largest notebook file read at all, outputs included: bounds the work of parsing it."""
MAX_PARTS = 1_000_000
"""Most JSON separators (`,` `:` `[` `{`) a notebook may hold: each can make json.loads build an
object, so this bounds its memory (a file of nothing but `{},` would otherwise take 25 times its size)."""

_CELL_TYPES = ("code", "markdown", "raw")
_AGAIN = "download it again from Jupyter"
_CLEAR = "clear its outputs (in Jupyter: Edit > Clear Outputs of All Cells), save it and hand it in again"


class NotebookError(ValueError):
    """The notebook cannot be read; the message is for the student."""


def code_cells(raw: bytes) -> list[str | None]:
    """Each cell in order: the code of a code cell (with LF line ends), None for any other cell."""
    if len(raw) > MAX_NOTEBOOK_BYTES:
        raise NotebookError(
            f"the notebook is larger than {MAX_NOTEBOOK_BYTES // (1024 * 1024)} MB even though outputs do not count; "
            + _CLEAR
        )
    if sum(raw.count(mark) for mark in (b",", b":", b"[", b"{")) > MAX_PARTS:
        raise NotebookError(f"the notebook has too many parts to read (over {MAX_PARTS:,}); " + _CLEAR)
    if not raw.strip():
        raise NotebookError("the file is empty")
    try:
        text = raw.decode("utf-8-sig")  # Windows editors save a byte-order mark
    except UnicodeDecodeError as exc:
        raise NotebookError(f"the notebook is not UTF-8 text (byte {exc.start} cannot be read); {_AGAIN}") from exc
    try:
        notebook = json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise NotebookError(f"the notebook is not valid JSON; {_AGAIN}") from exc
    if isinstance(notebook, dict) and "worksheets" in notebook and "cells" not in notebook:
        raise NotebookError("the notebook is in the old format 3; open it in a current Jupyter and save it again")
    if not isinstance(notebook, dict) or not isinstance(notebook.get("cells"), list):
        raise NotebookError(f"the notebook has no cells; {_AGAIN}")
    return [_code(cell, number) for number, cell in enumerate(notebook["cells"], start=1)]


def strip(raw: bytes) -> bytes:
    """The notebook with nothing but its cells' types and its code cells' source (canonical JSON).

    The same code gives the same bytes whatever the outputs, metadata or tool that saved it.
    """
    cells = [
        {"cell_type": "raw"} if code is None else {"cell_type": "code", "source": code}
        for code in code_cells(raw)
    ]
    return json.dumps({"cells": cells}, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def code_size(cells: list[str | None]) -> int:
    """Bytes of code in the code cells: what the code size limit applies to."""
    return sum(len(code.encode("utf-8")) for code in cells if code is not None)


def _code(cell: Any, number: int) -> str | None:
    """One cell as Jupyter writes it: a type, and source as text or a list of lines."""
    malformed = NotebookError(f"cell {number} of the notebook is malformed; {_AGAIN}")
    if not isinstance(cell, dict) or cell.get("cell_type") not in _CELL_TYPES:
        raise malformed
    source = cell.get("source", "")
    if isinstance(source, list) and all(isinstance(line, str) for line in source):
        source = "".join(source)
    if not isinstance(source, str):
        raise malformed
    try:
        source.encode("utf-8")
    except UnicodeEncodeError:
        # JSON can escape a lone surrogate, which is no text at all.
        raise malformed from None
    if cell["cell_type"] != "code":
        return None
    return source.replace("\r\n", "\n").replace("\r", "\n")
