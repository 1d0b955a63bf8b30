"""A handed-in file: its name and bytes, and the checks made before anything runs."""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import os
import stat
from pathlib import Path

MAX_BYTES = 2 * 1024 * 1024
KINDS = {".py": "py", ".ipynb": "ipynb"}


_SYMLINK = "the file is a symbolic link; hand in the file itself, not a link to it"
_SPECIAL = "the file is not a regular file (a device, pipe or folder); hand in your .py file or notebook"


class Rejected(Exception):
    """The file is refused before it reaches the sandbox; the message is for the student."""


@dataclasses.dataclass(frozen=True)
class Submission:
    name: str
    content: bytes
    refused: str = ""
    """Why the file was refused while reading it (symlink, device, pipe); `check` raises it."""

    @classmethod
    def from_path(cls, path: Path | str) -> "Submission":
        """Read a regular file; a symlink or special file is not read, only refused later with a reason.

        A handed-in archive or repository can hold a symlink to another student's file or
        to a host secret, and a FIFO or device would block or never end.
        """
        path = Path(path)
        try:
            fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
        except OSError:
            if path.is_symlink():  # O_NOFOLLOW refused it
                return cls(name=path.name, content=b"", refused=_SYMLINK)
            raise
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            os.close(fd)
            return cls(name=path.name, content=b"", refused=_SPECIAL)
        with os.fdopen(fd, "rb") as handle:
            content = handle.read(MAX_BYTES + 1)
        return cls(name=path.name, content=content)

    @functools.cached_property
    def sha256(self) -> str:
        return hashlib.sha256(self.content).hexdigest()

    @property
    def kind(self) -> str:
        return KINDS.get(Path(self.name).suffix.lower(), "py")

    def check(self) -> None:
        """Refuse what cannot be a Python submission, with a message saying why."""
        if self.refused:
            raise Rejected(self.refused)
        if len(self.content) > MAX_BYTES:
            raise Rejected(f"the file is larger than {MAX_BYTES // (1024 * 1024)} MB; hand in only your code")
        if not self.content.strip():
            raise Rejected("the file is empty")
        if b"\x00" in self.content:
            raise Rejected("the file is binary, not Python source; hand in your .py file or notebook")
        try:
            text = self.content.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise Rejected(f"the file is not UTF-8 text (byte {exc.start} cannot be read); save it as UTF-8") from exc
        suffix = Path(self.name).suffix.lower()
        if suffix and suffix not in KINDS:
            raise Rejected(f"'{suffix}' files are not accepted; hand in a .py file or a .ipynb notebook")
        if self.kind == "ipynb":
            try:
                notebook = json.loads(text)
            except (ValueError, RecursionError) as exc:
                raise Rejected("the notebook is not valid JSON; download it again from Jupyter") from exc
            if not isinstance(notebook, dict) or not isinstance(notebook.get("cells"), list):
                raise Rejected("the notebook has no cells; download it again from Jupyter")
            for number, cell in enumerate(notebook["cells"], start=1):
                if not _well_formed(cell):
                    raise Rejected(f"cell {number} of the notebook is malformed; download it again from Jupyter")


def _well_formed(cell: object) -> bool:
    """A cell as Jupyter writes it: a type, and source as text or a list of lines."""
    if not isinstance(cell, dict) or not isinstance(cell.get("cell_type", ""), str):
        return False
    source = cell.get("source", "")
    return isinstance(source, str) or (isinstance(source, list) and all(isinstance(line, str) for line in source))
