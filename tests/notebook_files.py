"""Notebooks as students hand them in, built from the correct course notebook.

Outputs are PNG figures (random bytes, base64 as Jupyter stores them); the shapes follow
what JupyterLab, VS Code and Colab write (nbformat 4.0 to 4.5).
"""

from __future__ import annotations

import base64
import copy
import json
import os
from typing import Any

from tests.conftest import CORRECT

MB = 1024 * 1024
FIGURES = 3


def correct_notebook() -> dict[str, Any]:
    """The correct notebook as saved in submissions/correct (nbformat 4.5, no outputs)."""
    return json.loads((CORRECT / "notebook.ipynb").read_text())


def code_cells(notebook: dict[str, Any]) -> list[dict[str, Any]]:
    return [cell for cell in notebook["cells"] if cell["cell_type"] == "code"]


def with_figures(notebook: dict[str, Any], total_bytes: int) -> dict[str, Any]:
    """The notebook run top to bottom with FIGURES PNG outputs taking `total_bytes` of the file together."""
    notebook = copy.deepcopy(notebook)
    encoded = base64.b64encode(os.urandom(total_bytes // FIGURES * 3 // 4)).decode()
    for number, cell in enumerate(code_cells(notebook), start=1):
        cell["execution_count"] = number
    for cell in code_cells(notebook)[-FIGURES:]:
        cell["outputs"] = [{
            "output_type": "display_data",
            "data": {"image/png": encoded, "text/plain": ["<Figure size 700x400 with 1 Axes>"]},
            "metadata": {"needs_background": "light"},
        }]
    return notebook


def dump(notebook: dict[str, Any]) -> bytes:
    """The notebook as Jupyter saves it (one-space indent, UTF-8, trailing newline)."""
    return (json.dumps(notebook, indent=1, ensure_ascii=False) + "\n").encode()


def notebook_with_figures(total_bytes: int) -> bytes:
    return dump(with_figures(correct_notebook(), total_bytes))


def nbformat_4_0() -> bytes:
    """Classic Jupyter of 2015: minor version 0, no cell ids, sources as lists of lines."""
    notebook = correct_notebook()
    notebook["nbformat_minor"] = 0
    for cell in notebook["cells"]:
        cell.pop("id", None)
    return dump(notebook)


def sources_as_strings() -> bytes:
    """Every cell's source one string (nbformat allows it; some tools and scripts write it)."""
    notebook = correct_notebook()
    for cell in notebook["cells"]:
        cell["source"] = "".join(cell["source"])
    return dump(notebook)


def jupyterlab() -> bytes:
    """JupyterLab 4: cell ids, collapsed outputs, tags, execution timing, widget state."""
    notebook = with_figures(correct_notebook(), MB)
    notebook["metadata"] |= {
        "kernelspec": {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"},
        "language_info": {"name": "python", "version": "3.11.7", "mimetype": "text/x-python"},
        "widgets": {"application/vnd.jupyter.widget-state+json": {"state": {}, "version_major": 2, "version_minor": 0}},
    }
    for cell in code_cells(notebook):
        cell["metadata"] = {"tags": ["graded"], "jupyter": {"outputs_hidden": True},
                            "execution": {"iopub.status.busy": "2026-11-29T10:00:00.000Z"}}
    return dump(notebook)


def vscode() -> bytes:
    """VS Code: interpreter hash in the metadata, languageId per cell, null execution counts."""
    notebook = correct_notebook()
    notebook["metadata"] |= {"vscode": {"interpreter": {"hash": "f" * 64}},
                             "orig_nbformat": 4}
    for cell in code_cells(notebook):
        cell["metadata"] = {"vscode": {"languageId": "python"}}
        cell["execution_count"] = None
    return dump(notebook)


COLAB_CELL = "from google.colab import drive\ndrive.mount('/content/drive')\n"


def colab() -> bytes:
    """Colab: colab metadata, short cell ids, an output id per cell, and a first cell mounting Drive."""
    notebook = with_figures(correct_notebook(), MB)
    notebook["metadata"] = {"colab": {"provenance": [], "collapsed_sections": []}, "accelerator": "GPU",
                            "kernelspec": {"name": "python3", "display_name": "Python 3"}}
    for cell in notebook["cells"]:
        cell["id"] = os.urandom(6).hex()
        if cell["cell_type"] == "code":
            cell["metadata"] = {"colab": {"base_uri": "https://localhost:8080/", "height": 281},
                                "outputId": os.urandom(16).hex()}
    notebook["cells"].insert(0, {"cell_type": "code", "execution_count": 1, "id": "mount", "metadata": {},
                                 "outputs": [{"output_type": "stream", "name": "stdout",
                                              "text": ["Mounted at /content/drive\n"]}],
                                 "source": COLAB_CELL.splitlines(keepends=True)})
    return dump(notebook)


def byte_order_mark() -> bytes:
    """Saved by a Windows editor: a UTF-8 byte-order mark before the JSON."""
    return b"\xef\xbb\xbf" + dump(correct_notebook())


def crlf() -> bytes:
    """Saved on Windows: CRLF between JSON lines and at the end of every source line."""
    notebook = correct_notebook()
    for cell in notebook["cells"]:
        cell["source"] = [line.replace("\n", "\r\n") for line in cell["source"]]
    return dump(notebook).replace(b"\n", b"\r\n")


def empty_code_cell() -> bytes:
    """A code cell the student added and left empty, between the graded ones."""
    notebook = correct_notebook()
    notebook["cells"].insert(10, {"cell_type": "code", "execution_count": None, "id": "empty", "metadata": {},
                                  "outputs": [], "source": []})
    return dump(notebook)


def raw_cells() -> bytes:
    """Raw cells (nbconvert directives, notes) that are never run."""
    notebook = correct_notebook()
    raw = {"cell_type": "raw", "id": "raw", "metadata": {"format": "text/latex"},
           "source": ["def compute_cost_with_regularization(A3, Y, parameters, lambd):\n", "    return 0\n"]}
    notebook["cells"].insert(3, raw)
    notebook["cells"].append(dict(raw, id="raw-end", source=["\\newpage"]))
    return dump(notebook)


REAL_TOOL_SHAPES = {
    "nbformat_4_0": nbformat_4_0,
    "nbformat_4_5_sources_as_strings": sources_as_strings,
    "jupyterlab": jupyterlab,
    "vscode": vscode,
    "colab": colab,
    "byte_order_mark": byte_order_mark,
    "crlf": crlf,
    "empty_code_cell": empty_code_cell,
    "raw_cells": raw_cells,
}
