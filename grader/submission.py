"""A handed-in file: its name and the bytes graded, and the checks made before anything runs.

`Submission.from_upload(name, stream)` holds the reading rules of every intake (`grade`,
`grade batch`, the service, the LTI hand-in page): a `.py` file is read up to its size limit,
a notebook up to `MAX_NOTEBOOK_BYTES` and reduced to its code cells (grader.notebook) before
the code size limit applies. The sha256 is of those bytes, so a notebook re-run with new
outputs is the same submission.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import os
import stat
from pathlib import Path
from typing import BinaryIO

from grader import notebook
from grader.notebook import MAX_NOTEBOOK_BYTES, NotebookError

MAX_BYTES = 2 * 1024 * 1024
"""Largest `.py` file, and most code a notebook's code cells may hold together."""
_CHUNK = 1024 * 1024
KINDS = {".py": "py", ".ipynb": "ipynb"}


_SYMLINK = "the file is a symbolic link; hand in the file itself, not a link to it"
_SPECIAL = "the file is not a regular file (a device, pipe or folder); hand in your .py file or notebook"


class Rejected(Exception):
    """The file is refused before it reaches the sandbox; the message is for the student."""


@dataclasses.dataclass(frozen=True)
class Submission:
    name: str
    content: bytes
    """The bytes graded: the file, or for a notebook its code cells only (`notebook.strip`)."""
    refused: str = ""
    """Why the file was refused while reading it (symlink, device, pipe, unreadable notebook); `check` raises it."""

    @classmethod
    def from_upload(cls, name: str, stream: BinaryIO) -> "Submission":
        """Read a handed-in file from `stream`, never more than its limit allows.

        A notebook is read up to MAX_NOTEBOOK_BYTES and kept without its outputs and
        metadata; one that cannot be read is refused with the reason.
        """
        if _kind(name) != "ipynb":
            return cls(name=name, content=_read_at_most(stream, MAX_BYTES))
        try:
            return cls(name=name, content=notebook.strip(_read_at_most(stream, MAX_NOTEBOOK_BYTES)))
        except NotebookError as exc:
            return cls(name=name, content=b"", refused=str(exc))

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
            return cls.from_upload(path.name, handle)

    @functools.cached_property
    def sha256(self) -> str:
        """Of the bytes graded; a refused file's includes the reason, so two refusals differ when their reasons do."""
        return hashlib.sha256(self.refused.encode() + self.content).hexdigest()

    @property
    def kind(self) -> str:
        return _kind(self.name)

    def check(self) -> None:
        """Refuse what cannot be a Python submission, with a message saying why."""
        if self.refused:
            raise Rejected(self.refused)
        if self.kind == "ipynb":
            _check_notebook(self.content)
            return
        if len(self.content) > MAX_BYTES:
            raise Rejected(f"the file is larger than {MAX_BYTES // (1024 * 1024)} MB; hand in only your code")
        if not self.content.strip():
            raise Rejected("the file is empty")
        if b"\x00" in self.content:
            raise Rejected("the file is binary, not Python source; hand in your .py file or notebook")
        try:
            self.content.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise Rejected(f"the file is not UTF-8 text (byte {exc.start} cannot be read); save it as UTF-8") from exc
        suffix = Path(self.name).suffix.lower()
        if suffix and suffix not in KINDS:
            raise Rejected(f"'{suffix}' files are not accepted; hand in a .py file or a .ipynb notebook")


def _kind(name: str) -> str:
    return KINDS.get(Path(name).suffix.lower(), "py")


def _check_notebook(content: bytes) -> None:
    """Refuse a notebook that cannot be read, holds no code, or holds more code than a `.py` file may."""
    try:
        cells = notebook.code_cells(content)
    except NotebookError as exc:
        raise Rejected(str(exc)) from exc
    if not any(code.strip() for code in cells if code is not None):
        raise Rejected("the notebook has no code in its code cells")
    if notebook.code_size(cells) > MAX_BYTES:
        raise Rejected(
            f"the notebook's code cells hold more than {MAX_BYTES // (1024 * 1024)} MB of code "
            "(outputs do not count); remove data pasted into cells and hand in only your code"
        )


def _read_at_most(stream: BinaryIO, limit: int) -> bytes:
    """Up to `limit` + 1 bytes of `stream`, read in chunks: one byte over the limit is enough to refuse."""
    chunks = []
    size = 0
    while size <= limit:
        chunk = stream.read(min(_CHUNK, limit + 1 - size))
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
    return b"".join(chunks)
