"""Fixtures for batch tests: a class of generated submissions, and the Docker fixtures of tests/sandbox."""

from __future__ import annotations

import zipfile
from collections.abc import Mapping
from pathlib import Path

import pytest

from tests.conftest import CORRECT, SUBMISSIONS
from tests.sandbox.conftest import docker_client, sandbox_image  # noqa: F401  (re-used fixtures)

MISTAKE = SUBMISSIONS / "mistakes" / "cost_lambda_over_m.py"
BROKEN = "def compute_cost_with_regularization(A3, Y, parameters, lambd:\n    return 0\n"


def correct(marker: str = "") -> str:
    """The course template, made distinct by a comment (a different sha256, the same grade)."""
    return (CORRECT / "template_with_seed.py").read_text() + (f"\n# {marker}\n" if marker else "")


def mistaken(marker: str = "") -> str:
    return MISTAKE.read_text() + (f"\n# {marker}\n" if marker else "")


def write_tree(root: Path, files: Mapping[str, str]) -> Path:
    """Write {relative path: text} under root."""
    for relative, text in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


def write_zip(path: Path, files: Mapping[str, str]) -> Path:
    """A zip with exactly these member names (including hostile ones, which zipfile writes as given)."""
    with zipfile.ZipFile(path, "w") as archive:
        for name, text in files.items():
            archive.writestr(zipfile.ZipInfo(name), text)
    return path


@pytest.fixture
def small_class(tmp_path: Path) -> Path:
    """Five students: two correct (one identical pair), a mistake, a broken file, a folder with a helper."""
    return write_tree(tmp_path / "class", {
        "alice.py": correct(),
        "bob.py": correct(),
        "carol.py": mistaken(),
        "dave.py": BROKEN,
        "erin/solution.py": correct("erin"),
        "erin/helper.py": "def helper():\n    return 1\n",
    })
