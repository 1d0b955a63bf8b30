"""The case part of the input bundle, kept on disk so `grade FILE` can start its run before loading numpy.

An input bundle (grader.wire.encode_bundle) is a zip of three `.npy` members: the plan, the
submission and the input arrays. The plan and the inputs depend on the test cases, the
grader, the submission's kind and the limits, not on the submission: that case part is cached
here, keyed by kind and limits, and the submission is added to it with the standard library.
The cache holds only what the sandbox is given anyway (never expected outputs, case names or
points), and it is never trusted: the early start keeps a run only when its bundle is
member for member the one the engine built (`same_bundle`), and rewrites the cache otherwise.
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
import json
import os
import zipfile
from pathlib import Path

from grader.atomic import write_bytes
from grader.sandbox.base import Limits

SUBMISSION_MEMBER = "__submission__.npy"
CASE_MEMBERS = frozenset({"__plan__.npy", "__inputs__.npy"})
MAX_CACHED_BYTES = 64 * 1024 * 1024
"""A cache file larger than this is not read (the regularization cases take about 40 kB)."""
_NPY_MAGIC = b"\x93NUMPY"


def cache_dir() -> Path:
    """$XDG_CACHE_HOME/grader, or ~/.cache/grader."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "grader"


def cache_path(kind: str, limits: Limits) -> Path:
    key = hashlib.sha256(json.dumps([kind, dataclasses.astuple(limits)]).encode()).hexdigest()[:32]
    return cache_dir() / f"case-bundle-{key}.zip"


def load(kind: str, limits: Limits) -> bytes | None:
    """The cached case part for `kind` and `limits`, or None when absent, unreadable or malformed."""
    try:
        with open(cache_path(kind, limits), "rb") as handle:
            data = handle.read(MAX_CACHED_BYTES + 1)
    except OSError:
        return None
    if len(data) > MAX_CACHED_BYTES or _members(data, CASE_MEMBERS) is None:
        return None
    return data


def store(bundle: bytes, kind: str, limits: Limits) -> None:
    """Cache the case part of an engine-built `bundle`; a cache that cannot be written is only slower."""
    members = _members(bundle, CASE_MEMBERS | {SUBMISSION_MEMBER})
    if members is None:
        return
    del members[SUBMISSION_MEMBER]
    try:
        write_bytes(cache_path(kind, limits), _zip(members))
    except OSError:
        pass


def add_submission(case_part: bytes, source: bytes) -> bytes:
    """The whole bundle: the cached case part and the submission's bytes as a uint8 `.npy` member."""
    members = _members(case_part, CASE_MEMBERS)
    if members is None:
        raise ValueError("not a case part of an input bundle")
    return _zip({**members, SUBMISSION_MEMBER: _npy_bytes(source)})


def same_bundle(sent: bytes, built: bytes) -> bool:
    """Whether two bundles give the runner the same plan, inputs and submission (zip metadata aside)."""
    names = CASE_MEMBERS | {SUBMISSION_MEMBER}
    ours, theirs = _members(sent, names), _members(built, names)
    if ours is None or theirs is None:
        return False
    ours[SUBMISSION_MEMBER], theirs[SUBMISSION_MEMBER] = (
        _npy_payload(ours[SUBMISSION_MEMBER]), _npy_payload(theirs[SUBMISSION_MEMBER])
    )
    return ours == theirs and ours[SUBMISSION_MEMBER] is not None


def _members(data: bytes, names: frozenset[str] | set[str]) -> dict[str, bytes] | None:
    """The members of a zip, if they are exactly `names`; None for anything else."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            if sorted(archive.namelist()) != sorted(names):
                return None
            return {name: archive.read(name) for name in names}
    except (zipfile.BadZipFile, OSError, ValueError, EOFError):
        return None


def _zip(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def _npy_bytes(data: bytes) -> bytes:
    """`data` as a 1-D uint8 array in `.npy` format 1.0, the header padded to 64 bytes as numpy pads it."""
    header = f"{{'descr': '|u1', 'fortran_order': False, 'shape': ({len(data)},), }}"
    padding = -(len(_NPY_MAGIC) + 2 + 2 + len(header) + 1) % 64
    header_bytes = (header + " " * padding + "\n").encode("latin-1")
    return _NPY_MAGIC + b"\x01\x00" + len(header_bytes).to_bytes(2, "little") + header_bytes + data


def _npy_payload(npy: bytes) -> bytes | None:
    """The data of a 1-D uint8 `.npy` (format 1.0); None for any other array."""
    if npy[:8] != _NPY_MAGIC + b"\x01\x00" or len(npy) < 10:
        return None
    size = int.from_bytes(npy[8:10], "little")
    header = npy[10 : 10 + size].decode("latin-1")
    payload = npy[10 + size :]
    if "'descr': '|u1'" not in header or "'fortran_order': False" not in header:
        return None
    if f"'shape': ({len(payload)},)" not in header:
        return None
    return payload
