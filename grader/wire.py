"""What crosses the sandbox boundary: the input bundle in, plain-data frames out.

In: one uncompressed `.npz` (the plan as JSON bytes, the submission's bytes, every
input array's bytes in one blob). Out: lines `FRAME_PREFIX + JSON` written by the
runner. Everything coming out is untrusted: frames are size-capped, validated field
by field, and arrays are rebuilt from raw bytes with a whitelisted dtype. Nothing is
unpickled, evaluated or imported. Reading is bounded too: a frame with more values than
the runner ever writes is refused unparsed, and after a few bad frames the rest of the
channel is dropped.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import io
import json
import math
import re
from collections.abc import Iterator
from typing import Annotated, Any, Literal, Union

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError


FRAME_PREFIX = b"\x1egrader-frame "
ALLOWED_DTYPES = {"|b1": np.bool_, "<f8": np.float64, "<i8": np.int64}
MAX_DIMS = 8
MAX_TEXT = 2000
MAX_NOTES = 200
MAX_OUTPUTS = 100
MAX_FRAME_VALUES = 2048
"""Most JSON values (array items, object members) one frame may hold: a frame at every limit of
the models below (100 outputs of 8 dimensions, 100 mutated names) holds about 1,300, the runner's
under 250. Counted before parsing: the parser builds every value of a frame before a length limit
can refuse it (a 12 MB frame of tiny outputs cost 5 s and 760 MB)."""
MAX_BAD_FRAMES = 16
"""Malformed or unexpected frames read before the rest of the channel is dropped; the runner writes none."""
FRAME_TEXT_BYTES = 2 * 1024 * 1024
"""Channel room an honest run needs besides its arrays: messages, load errors, captured stdout, all
JSON-escaped (a character can take 12 bytes)."""


def output_budget(channel_bytes: int) -> int:
    """Bytes of array data the runner may send so that an honest run fits a channel of `channel_bytes`.

    Arrays travel as base64, 4 bytes per 3; the rest of the channel is kept for the frames' text.
    """
    return max(0, channel_bytes - FRAME_TEXT_BYTES) * 3 // 4


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
    errors: list[Annotated[str, Field(max_length=MAX_TEXT)]] = Field(max_length=MAX_NOTES)
    skipped: list[Annotated[str, Field(max_length=100)]] = Field(max_length=MAX_NOTES)
    unreadable: bool = False


class _CallFrame(_Frame):
    event: Literal["call"]
    index: Annotated[int, Field(ge=0)]
    status: Literal["returned", "exception", "timeout", "memory", "missing"]
    message: Annotated[str, Field(max_length=MAX_TEXT)] = ""
    seconds: float = 0.0
    outputs: dict[str, Union[_Array, _OutputError]] = Field(default_factory=dict, max_length=MAX_OUTPUTS)
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
    flooded: bool = False
    """MAX_BAD_FRAMES bad frames came back, so the rest of the channel was not read."""


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


_LINE_START = b"\n" + FRAME_PREFIX
_STRING = re.compile(rb'"[^"]*"')


def _frame_bodies(stdout: bytes) -> Iterator[bytes]:
    """The JSON after FRAME_PREFIX on every line that starts with it.

    Found with `find`, never by splitting the channel into lines: eleven million newlines
    would be eleven million objects.
    """
    line = 0 if stdout.startswith(FRAME_PREFIX) else _next_frame_line(stdout, 0)
    while line is not None:
        body = line + len(FRAME_PREFIX)
        end = stdout.find(b"\n", body)
        end = len(stdout) if end == -1 else end
        yield stdout[body:end]
        line = _next_frame_line(stdout, end)


def _next_frame_line(stdout: bytes, start: int) -> int | None:
    found = stdout.find(_LINE_START, start)
    return None if found == -1 else found + 1


def _structure_count(text: bytes) -> int:
    return text.count(b",") + text.count(b"[") + text.count(b"{")


def _too_many_values(body: bytes) -> bool:
    """Whether `body` holds more than MAX_FRAME_VALUES values, decided in linear time without parsing.

    A container of k values has k - 1 commas and one opening bracket, so the commas and
    brackets outside strings bound the values. Those inside strings (messages, printed
    output) do not count: drop the escaped backslashes and quotes, then every string.
    """
    if _structure_count(body) <= MAX_FRAME_VALUES:
        return False
    unescaped = _unescaped(body)
    # Every string is a key or a value: more than 2 per value means too many values, and
    # keeps the string removal below to a bounded number of matches.
    if unescaped.count(b'"') > 4 * MAX_FRAME_VALUES + 2:
        return True
    return _structure_count(_STRING.sub(b"", unescaped)) > MAX_FRAME_VALUES


def _unescaped(body: bytes) -> bytes:
    """`body` without escaped backslashes and quotes: every quote left delimits a string (in valid JSON)."""
    # In a string a backslash run pairs up from its start, so escaped backslashes go first.
    return body.replace(b"\\\\", b"").replace(b'\\"', b"")


def _take_frame(result: SandboxResult, body: bytes, calls: int, max_elements: int) -> str:
    """Add one frame's content to `result`; return why the frame is bad, or "" when it was used."""
    if _too_many_values(body):
        return f"frame with more than {MAX_FRAME_VALUES} values"
    try:
        frame = _FRAME.validate_json(body)
    except (ValidationError, ValueError, RecursionError) as exc:
        return f"malformed frame ({type(exc).__name__})"
    if isinstance(frame, _Loaded):
        if result.loaded:
            return "a second loaded frame"
        result.loaded = True
        result.load_errors = list(frame.errors)
        result.skipped = list(frame.skipped)
        result.unreadable = frame.unreadable
    elif isinstance(frame, _CallFrame):
        if frame.index >= calls or frame.index in result.calls:
            return f"unexpected frame for call {frame.index}"
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
    else:
        if result.complete:
            return "a second done frame"
        result.complete = True
        result.stdout = frame.stdout[:MAX_TEXT * 8]
        result.stdout_bytes = frame.stdout_bytes
    return ""


def decode_result(stdout: bytes, *, calls: int, max_elements: int = 10**6) -> SandboxResult:
    """Parse the runner's frames; anything malformed is noted and ignored, never executed.

    The first frame per call wins. After MAX_BAD_FRAMES bad frames the run is marked
    flooded and the rest is not read; calls that reported before keep their results.
    """
    result = SandboxResult()
    for body in _frame_bodies(stdout):
        problem = _take_frame(result, body, calls, max_elements)
        if problem:
            result.problems.append(problem)
            if len(result.problems) == MAX_BAD_FRAMES:
                result.flooded = True
                break
    unreported = [index for index in range(calls) if index not in result.calls]
    if result.complete and unreported:
        # A run is complete only if every call reported: a dropped frame is never a silent pass.
        result.complete = False
        result.problems.append(f"no usable frame for call(s) {unreported[:10]}")
    return result
