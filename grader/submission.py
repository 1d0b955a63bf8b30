"""A handed-in file: its name and bytes, and the checks made before anything runs."""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
from pathlib import Path

MAX_BYTES = 2 * 1024 * 1024
KINDS = {".py": "py", ".ipynb": "ipynb"}


class Rejected(Exception):
    """The file is refused before it reaches the sandbox; the message is for the student."""


@dataclasses.dataclass(frozen=True)
class Submission:
    name: str
    content: bytes

    @classmethod
    def from_path(cls, path: Path | str) -> "Submission":
        path = Path(path)
        with open(path, "rb") as handle:
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
