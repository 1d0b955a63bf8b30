"""Properties of the boundary that parses sandbox output: whatever comes back, nothing breaks.

`decode_result` and `decode_array` read bytes an attacker controls completely. For any
bytes, size, nesting, dtype string or shape they return a result (with problems noted)
and never raise, and they never unpickle, import or evaluate anything.
"""

from __future__ import annotations

import base64
import io
import json
import pickle
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from grader import wire
from grader.wire import FRAME_PREFIX, ALLOWED_DTYPES, SandboxResult, _Array, decode_array, decode_result
from tests.wire_frames import frame_line

CALLS = 20
MARKER = Path("/tmp/grader-wire-property-marker")
# No example database: the tests must not leave files in the working tree.
SETTINGS = settings(max_examples=150, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])


class _Boom:
    """A pickle payload that creates MARKER when unpickled."""

    def __reduce__(self):
        return (Path.touch, (MARKER,))


def _assert_clean(result: SandboxResult) -> None:
    assert isinstance(result, SandboxResult)
    assert all(0 <= index < CALLS for index in result.calls)
    for call in result.calls.values():
        for value in call.outputs.values():
            assert isinstance(value, str) or (
                type(value) is np.ndarray and value.dtype in [np.dtype(d) for d in ALLOWED_DTYPES.values()]
            )
    if result.complete:
        assert set(result.calls) == set(range(CALLS))


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=30),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4),
    max_leaves=30,
)

frames = st.fixed_dictionaries(
    {},
    optional={
        "event": st.sampled_from(["loaded", "call", "done", "other"]) | st.text(max_size=10),
        "index": st.integers(-5, 10**30),
        "status": st.sampled_from(["returned", "exception", "timeout", "memory", "missing", "passed"]),
        "message": st.text(max_size=50),
        "errors": st.lists(st.text(max_size=20), max_size=3),
        "skipped": st.lists(st.text(max_size=20), max_size=3),
        "stdout": st.text(max_size=50),
        "stdout_bytes": st.integers(-5, 10**20),
        "seconds": st.floats(allow_nan=True, allow_infinity=True),
        "mutated": st.lists(st.text(max_size=10), max_size=3),
        "outputs": st.dictionaries(st.text(max_size=10), json_values, max_size=4),
    },
)


@SETTINGS
@given(st.binary(max_size=4096))
def test_any_bytes_decode_cleanly(data):
    _assert_clean(decode_result(data, calls=CALLS))


@SETTINGS
@given(st.lists(st.binary(max_size=512), max_size=20))
def test_any_bytes_after_the_frame_prefix_decode_cleanly(payloads):
    stdout = b"\n".join(FRAME_PREFIX + payload for payload in payloads)
    _assert_clean(decode_result(stdout, calls=CALLS))


@SETTINGS
@given(st.lists(frames, max_size=25))
def test_any_frame_shaped_json_decodes_cleanly(items):
    _assert_clean(decode_result(b"".join(frame_line(item) for item in items), calls=CALLS))


@SETTINGS
@given(st.text(max_size=40), st.lists(st.integers(-3, 10**12), max_size=12), st.binary(max_size=256))
def test_any_dtype_and_shape_give_an_array_or_a_reason(dtype, shape, data):
    try:
        raw = _Array(shape=shape, dtype=dtype, data=base64.b64encode(data).decode())
    except ValueError:
        return  # refused by validation already: the frame is dropped as malformed
    value = decode_array(raw, max_elements=10**6)
    assert isinstance(value, str) or (type(value) is np.ndarray and list(value.shape) == shape)


@SETTINGS
@given(st.sampled_from(sorted(ALLOWED_DTYPES)), st.lists(st.integers(0, 6), max_size=4))
def test_well_formed_arrays_round_trip(dtype, shape):
    array = (np.arange(int(np.prod(shape))) % 3).astype(ALLOWED_DTYPES[dtype]).reshape(shape)
    raw = _Array(shape=shape, dtype=dtype, data=base64.b64encode(array.tobytes()).decode())
    np.testing.assert_array_equal(decode_array(raw, max_elements=10**6), array)


@pytest.mark.parametrize("depth", [10, 1000, 100_000])
def test_deeply_nested_frames_are_malformed_not_fatal(depth):
    nested = b"[" * depth + b"]" * depth
    stdout = FRAME_PREFIX + b'{"event": "call", "index": 0, "status": "returned", "outputs": {"x": ' + nested + b"}}\n"
    result = decode_result(stdout, calls=CALLS)
    assert 0 not in result.calls and result.problems


def test_a_huge_frame_is_read_without_trouble():
    payload = {"event": "done", "stdout": "x" * (32 * 1024 * 1024), "stdout_bytes": 1}
    result = decode_result(frame_line(payload), calls=0)
    assert result.complete and len(result.stdout) < 64 * 1024


def test_a_frame_missing_for_one_call_makes_the_run_incomplete():
    stdout = frame_line({"event": "loaded", "errors": [], "skipped": []}) + b"".join(
        frame_line({"event": "call", "index": index, "status": "missing"}) for index in range(CALLS) if index != 7
    ) + frame_line({"event": "done", "stdout": "", "stdout_bytes": 0})
    result = decode_result(stdout, calls=CALLS)
    assert not result.complete and any("7" in problem for problem in result.problems)


def _pickled_payloads() -> list[bytes]:
    boom = pickle.dumps(_Boom())
    npy = io.BytesIO()
    np.save(npy, np.array([_Boom()], dtype=object), allow_pickle=True)
    npz = io.BytesIO()
    np.savez(npz, a=np.array([_Boom()], dtype=object))
    return [boom, npy.getvalue(), npz.getvalue()]


@pytest.mark.parametrize("payload", _pickled_payloads(), ids=["pickle", "npy-object", "npz-object"])
def test_pickles_in_any_position_are_never_loaded(payload):
    MARKER.unlink(missing_ok=True)
    encoded = base64.b64encode(payload).decode()
    attempts = [
        {"shape": [len(payload)], "dtype": dtype, "data": encoded} for dtype in ("|O", "O", "<f8", "|V8", "|u1")
    ]
    stdout = payload + b"\n" + FRAME_PREFIX + payload + b"\n" + b"".join(
        frame_line({"event": "call", "index": index, "status": "returned", "outputs": {"out": attempt}})
        for index, attempt in enumerate(attempts)
    )
    result = decode_result(stdout, calls=CALLS)
    for attempt in attempts:
        decode_array(_Array(**attempt), max_elements=10**9)
    assert not MARKER.exists()
    assert all(isinstance(value, str) or value.dtype != object for call in result.calls.values()
               for value in call.outputs.values())


def test_the_pickle_payload_would_create_the_marker_if_loaded():
    """Guards the test above: its payload is live, so "no marker" means "not unpickled"."""
    MARKER.unlink(missing_ok=True)
    pickle.loads(_pickled_payloads()[0])
    assert MARKER.exists()
    MARKER.unlink()


def test_expected_frames_carry_only_json_scalars():
    """The runner's frames are JSON: no field of a call frame holds anything but plain data."""
    line = frame_line({"event": "call", "index": 0, "status": "returned", "outputs": {}})
    assert json.loads(line[len(FRAME_PREFIX):]) == {"event": "call", "index": 0, "status": "returned", "outputs": {}}


def _structure(value) -> int:
    """Commas and opening brackets a JSON text of `value` has outside its strings."""
    if isinstance(value, (list, dict)):
        items = value.values() if isinstance(value, dict) else value
        return max(len(value) - 1, 0) + 1 + sum(_structure(item) for item in items)
    return 0


tricky_text = st.text(alphabet='"\\,[{]}: aé\U0001f600\n', max_size=12)
tricky_json = st.recursive(
    st.none() | st.integers() | tricky_text,
    lambda children: st.lists(children, max_size=5) | st.dictionaries(tricky_text, children, max_size=5),
    max_leaves=40,
)


def _dumps(value, indent, ascii_only) -> bytes:
    return json.dumps(value, indent=indent, ensure_ascii=ascii_only).encode()


@SETTINGS
@given(tricky_json, st.sampled_from([None, 0, 2]), st.booleans())
def test_strings_are_found_exactly_however_they_and_the_spaces_look(value, indent, ascii_only):
    structure = wire._STRING.sub(b"", wire._unescaped(_dumps(value, indent, ascii_only)))
    assert wire._structure_count(structure) == _structure(value)


@SETTINGS
@given(tricky_json, st.sampled_from([None, 0, 2]), st.booleans())
@example({str(key): ",,,," for key in range(8)}, None, True)  # 32 quotes: as many as 8 values can have
@example({str(key): ",,,," for key in range(9)}, None, True)
@example([",,,,"] * 8, 1, True)
def test_too_many_values_holds_exactly_at_the_limit(value, indent, ascii_only):
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(wire, "MAX_FRAME_VALUES", 8)
        assert wire._too_many_values(_dumps(value, indent, ascii_only)) == (_structure(value) > 8)
