"""What crosses the sandbox boundary: the input bundle in, plain-data frames out.

In: one uncompressed `.npz` (the plan as JSON bytes, the submission's bytes, every
input array's bytes in one blob). Out: lines `FRAME_PREFIX + JSON` written by the
runner. Everything coming out is untrusted: frames are size-capped, validated field
by field, and arrays are rebuilt from raw bytes with a whitelisted dtype. Nothing is
unpickled, evaluated or imported.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import io
import json
import math
from typing import Annotated, Any, Literal, Union

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError


FRAME_PREFIX = b"\x1egrader-frame "
ALLOWED_DTYPES = {"|b1": np.bool_, "<f8": np.float64, "<i8": np.int64}
MAX_DIMS = 8
MAX_TEXT = 2000


# ---------------------------------------------------------------- in


@dataclasses.dataclass(frozen=True)
class Call:
    """One function call the runner must make (no case id, visibility or expected value)."""

    function: str
    args: tuple[Any, ...]
    arg_names: tuple[str, ...]
    seed: int
    outputs: dict[str, tuple[str | int, ...]]


class _Packer:
    """Packs every input array into one byte blob; an array's spec says where its bytes are.

    One npz member per array would cost the runner a header parse per array (hundreds per
    submission); one blob costs it a slice each.
    """

    def __init__(self) -> None:
        self.chunks: list[bytes] = []
        self.size = 0

    def spec(self, value: Any) -> dict[str, Any]:
        if isinstance(value, np.ndarray):
            data = np.ascontiguousarray(value).tobytes()
            spec = {"dtype": value.dtype.str, "shape": list(value.shape), "offset": self.size}
            self.chunks.append(data)
            self.size += len(data)
            return {"array": spec}
        if isinstance(value, tuple):
            return {"tuple": [self.spec(item) for item in value]}
        if isinstance(value, dict):
            return {"dict": {key: self.spec(item) for key, item in value.items()}}
        return {"value": value}

    def blob(self) -> np.ndarray:
        return np.frombuffer(b"".join(self.chunks), dtype=np.uint8)


def encode_bundle(
    *,
    source: bytes,
    kind: str,
    calls: list[Call],
    support_modules: dict[str, str],
    stub_modules: tuple[str, ...],
    preamble: str,
    call_seconds: float,
    load_seconds: float,
    output_limit: int,
    stdout_limit: int,
) -> bytes:
    """The single blob written to the runner's stdin."""
    packer = _Packer()
    plan = {
        "kind": kind,
        "support_modules": support_modules,
        "stub_modules": list(stub_modules),
        "preamble": preamble,
        "call_seconds": call_seconds,
        "load_seconds": load_seconds,
        "output_limit": output_limit,
        "stdout_limit": stdout_limit,
        "calls": [
            {
                "function": call.function,
                "args": [packer.spec(arg) for arg in call.args],
                "arg_names": list(call.arg_names),
                "seed": call.seed,
                "outputs": {name: list(path) for name, path in call.outputs.items()},
            }
            for call in calls
        ],
    }
    buffer = io.BytesIO()
    np.savez(
        buffer,
        __plan__=np.frombuffer(json.dumps(plan).encode(), dtype=np.uint8),
        __submission__=np.frombuffer(source, dtype=np.uint8),
        __inputs__=packer.blob(),
    )
    return buffer.getvalue()


# ---------------------------------------------------------------- out


class _Frame(BaseModel):
    model_config = ConfigDict(extra="ignore", strict=True)


class _Array(_Frame):
    shape: list[Annotated[int, Field(ge=0, le=10**7)]] = Field(max_length=MAX_DIMS)
    dtype: str
    data: str


class _OutputError(_Frame):
    error: Annotated[str, Field(max_length=MAX_TEXT)]
    shape: list[Annotated[int, Field(ge=0)]] | None = Field(default=None, max_length=MAX_DIMS)


class _Loaded(_Frame):
    event: Literal["loaded"]
    errors: list[Annotated[str, Field(max_length=MAX_TEXT)]] = Field(max_length=200)
    skipped: list[Annotated[str, Field(max_length=100)]] = Field(max_length=10000)
    unreadable: bool = False


class _CallFrame(_Frame):
    event: Literal["call"]
    index: Annotated[int, Field(ge=0)]
    status: Literal["returned", "exception", "timeout", "memory", "missing"]
    message: Annotated[str, Field(max_length=MAX_TEXT)] = ""
    seconds: float = 0.0
    outputs: dict[str, Union[_Array, _OutputError]] = Field(default_factory=dict, max_length=100)
    mutated: list[Annotated[str, Field(max_length=100)]] = Field(default_factory=list, max_length=100)


class _Done(_Frame):
    event: Literal["done"]
    stdout: str
    stdout_bytes: Annotated[int, Field(ge=0)]


_FRAME = TypeAdapter(Annotated[Union[_Loaded, _CallFrame, _Done], Field(discriminator="event")])


@dataclasses.dataclass
class CallResult:
    """What one call produced: an array per output, or a message saying why there is none."""

    status: str
    message: str = ""
    outputs: dict[str, np.ndarray | str] = dataclasses.field(default_factory=dict)
    mutated: list[str] = dataclasses.field(default_factory=list)
    seconds: float = 0.0


@dataclasses.dataclass
class SandboxResult:
    """Everything usable that came back from one sandboxed run."""

    loaded: bool = False
    load_errors: list[str] = dataclasses.field(default_factory=list)
    skipped: list[str] = dataclasses.field(default_factory=list)
    unreadable: bool = False
    calls: dict[int, CallResult] = dataclasses.field(default_factory=dict)
    stdout: str = ""
    stdout_bytes: int = 0
    complete: bool = False
    """The runner finished and every call reported."""
    problems: list[str] = dataclasses.field(default_factory=list)
    """Frames that were malformed or out of place; never shown as the student's fault alone."""


def decode_array(raw: _Array, max_elements: int) -> np.ndarray | str:
    """An array from the runner's {shape, dtype, data}, or why it is unusable."""
    dtype = ALLOWED_DTYPES.get(raw.dtype)
    if dtype is None:
        return f"has an unsupported type ({raw.dtype[:20]})"
    count = math.prod(raw.shape)
    if count > max_elements:
        return f"is too large ({count} entries)"
    try:
        data = base64.b64decode(raw.data, validate=True)
    except (binascii.Error, ValueError):
        return "could not be read"
    if len(data) != count * np.dtype(dtype).itemsize:
        return "could not be read (its size does not match its shape)"
    return np.frombuffer(data, dtype=dtype).reshape(raw.shape).copy()


def decode_result(stdout: bytes, *, calls: int, max_elements: int = 10**6) -> SandboxResult:
    """Parse the runner's frames; anything malformed is noted and ignored, never executed."""
    result = SandboxResult()
    for line in stdout.split(b"\n"):
        if not line.startswith(FRAME_PREFIX):
            continue
        try:
            frame = _FRAME.validate_json(line[len(FRAME_PREFIX):])
        except (ValidationError, ValueError, RecursionError) as exc:
            result.problems.append(f"malformed frame ({type(exc).__name__})")
            continue
        if isinstance(frame, _Loaded):
            if not result.loaded:
                result.loaded = True
                result.load_errors = list(frame.errors)
                result.skipped = list(frame.skipped)
                result.unreadable = frame.unreadable
        elif isinstance(frame, _CallFrame):
            if frame.index >= calls or frame.index in result.calls:
                result.problems.append(f"unexpected frame for call {frame.index}")
                continue
            result.calls[frame.index] = CallResult(
                status=frame.status,
                message=frame.message,
                outputs={
                    name: decode_array(value, max_elements) if isinstance(value, _Array) else value.error
                    for name, value in frame.outputs.items()
                },
                mutated=list(frame.mutated),
                seconds=frame.seconds,
            )
        elif not result.complete:
            result.complete = True
            result.stdout = frame.stdout[:MAX_TEXT * 8]
            result.stdout_bytes = frame.stdout_bytes
    unreported = [index for index in range(calls) if index not in result.calls]
    if result.complete and unreported:
        # A run is complete only if every call reported: a dropped frame is never a silent pass.
        result.complete = False
        result.problems.append(f"no usable frame for call(s) {unreported[:10]}")
    return result


def frame_line(frame: dict[str, Any]) -> bytes:
    """One frame as the runner writes it (used by tests that play the runner's part)."""
    return FRAME_PREFIX + json.dumps(frame).encode() + b"\n"
