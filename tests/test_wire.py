"""The boundary: bundles go in as plain arrays, frames come out validated."""

import base64
import io
import json

import numpy as np
import pytest

from grader.runner import _build_arg
from grader.sandbox import Limits
from grader.wire import (
    FRAME_PREFIX,
    MAX_BAD_FRAMES,
    MAX_FRAME_VALUES,
    MAX_TEXT,
    Call,
    _Array,
    decode_array,
    decode_result,
    encode_bundle,
    output_budget,
)
from tests.wire_frames import frame_line


def _bundle(**overrides):
    options = dict(
        source=b"x = 1\n", kind="py",
        calls=[Call("f", (np.ones((2, 2)), {"W": np.zeros(3)}, (np.eye(2),), 0.5), ("a", "b", "c", "d"), 3, {"out": ()})],
        support_modules={}, stub_modules=(), preamble="", call_seconds=1, load_seconds=1,
        output_limit=1000, stdout_limit=1000,
    )
    options.update(overrides)
    return encode_bundle(**options)


def test_bundle_is_an_npz_without_pickles_and_without_case_ids():
    bundle = np.load(io.BytesIO(_bundle()), allow_pickle=False)
    plan = json.loads(bytes(bundle["__plan__"]))
    assert plan["calls"][0]["args"][1] == {"dict": {"W": {"array": {"dtype": "<f8", "shape": [3], "offset": 32}}}}
    assert plan["calls"][0]["args"][3] == {"value": 0.5}
    assert bytes(bundle["__submission__"]) == b"x = 1\n"
    assert sorted(bundle.files) == ["__inputs__", "__plan__", "__submission__"]
    assert "id" not in plan["calls"][0] and "expected" not in json.dumps(plan)


def test_every_input_array_is_rebuilt_from_the_inputs_blob():
    arrays = (np.arange(6.0).reshape(2, 3).T, np.array([[True, False]]), np.zeros((0, 4)), np.int64(7) * np.ones((1, 1), dtype=np.int64))
    bundle = np.load(io.BytesIO(_bundle(calls=[Call("f", arrays, ("a", "b", "c", "d"), 3, {"out": ()})])), allow_pickle=False)
    plan = json.loads(bytes(bundle["__plan__"]))
    inputs = bundle["__inputs__"].tobytes()
    rebuilt = [_build_arg(spec, inputs) for spec in plan["calls"][0]["args"]]
    for got, sent in zip(rebuilt, arrays):
        assert got.dtype == sent.dtype and got.flags.writeable
        np.testing.assert_array_equal(got, sent)


def _array_frame(array):
    return {"shape": list(array.shape), "dtype": array.dtype.str, "data": base64.b64encode(array.tobytes()).decode()}


def test_call_frames_become_arrays():
    stdout = (
        frame_line({"event": "loaded", "errors": [], "skipped": []})
        + frame_line({"event": "call", "index": 0, "status": "returned", "outputs": {"out": _array_frame(np.eye(2))}})
        + frame_line({"event": "done", "stdout": "hi", "stdout_bytes": 2})
    )
    result = decode_result(stdout, calls=1)
    assert result.loaded and result.complete
    np.testing.assert_array_equal(result.calls[0].outputs["out"], np.eye(2))


def test_first_frame_per_call_wins_and_extra_frames_are_noted():
    first = frame_line({"event": "call", "index": 0, "status": "missing", "message": "f is not defined"})
    second = frame_line({"event": "call", "index": 0, "status": "returned", "outputs": {}})
    result = decode_result(first + second + frame_line({"event": "call", "index": 7, "status": "missing"}), calls=1)
    assert result.calls[0].status == "missing"
    assert len(result.problems) == 2


def test_unknown_dtypes_and_lying_sizes_are_refused():
    assert "unsupported type" in decode_array(_Array(shape=[1], dtype="|O", data=""), 10)
    lying = _Array(shape=[3], dtype="<f8", data=base64.b64encode(b"\0" * 8).decode())
    assert "does not match" in decode_array(lying, 10)
    assert "too large" in decode_array(_Array(shape=[10**6, 10**6], dtype="<f8", data=""), 10**6)


def test_lines_without_the_frame_prefix_are_ignored():
    result = decode_result(b'{"event": "done"}\nrandom noise\n', calls=1)
    assert not result.loaded and not result.complete and not result.problems


# ---------------------------------------------------------------- a flooded channel


def _loaded():
    return frame_line({"event": "loaded", "errors": [], "skipped": []})


def _missing(index):
    return frame_line({"event": "call", "index": index, "status": "missing", "message": "f is not defined"})


def test_reading_stops_after_max_bad_frames_and_marks_the_run_flooded():
    bad = FRAME_PREFIX + b"{\n"
    stdout = _loaded() + _missing(0) + bad * (MAX_BAD_FRAMES - 1) + _missing(1) + bad + _missing(2)
    result = decode_result(stdout, calls=3)
    assert result.flooded and not result.complete
    assert sorted(result.calls) == [0, 1]
    assert len(result.problems) == MAX_BAD_FRAMES


def test_fewer_bad_frames_than_the_limit_leave_the_run_intact():
    stdout = _loaded() + (FRAME_PREFIX + b"{\n") * (MAX_BAD_FRAMES - 1) + _missing(0)
    result = decode_result(stdout + frame_line({"event": "done", "stdout": "", "stdout_bytes": 0}), calls=1)
    assert result.complete and not result.flooded


def test_unplanned_repeated_and_second_loaded_or_done_frames_all_count_as_bad():
    done = frame_line({"event": "done", "stdout": "", "stdout_bytes": 0})
    extras = [_missing(0), _missing(5), _loaded(), done]
    stdout = _loaded() + _missing(0) + done + b"".join(extras * (MAX_BAD_FRAMES // len(extras)))
    result = decode_result(stdout, calls=1)
    assert result.flooded


def test_a_frame_with_too_many_values_is_refused_before_it_is_parsed():
    outputs = ",".join(f'"o{number}": {{"error": "x"}}' for number in range(MAX_FRAME_VALUES))
    stdout = FRAME_PREFIX + b'{"event": "call", "index": 0, "status": "returned", "outputs": {' + outputs.encode() + b"}}\n"
    result = decode_result(stdout, calls=1)
    assert 0 not in result.calls and result.problems == [f"frame with more than {MAX_FRAME_VALUES} values"]


def test_punctuation_inside_strings_is_not_counted_as_values():
    text = 'ValueError: shapes (5,3) and [3,{2}] \\"do not", align\\\\' * 40
    loaded = frame_line({"event": "loaded", "errors": [text[:MAX_TEXT]] * 100, "skipped": ["cell 3, line 4"] * 100})
    done = frame_line({"event": "done", "stdout": "[0, 1, {2}], " * 1300, "stdout_bytes": 16900})
    result = decode_result(loaded + _missing(0) + done, calls=1)
    assert result.complete and result.problems == [] and len(result.load_errors) == 100


def test_frames_are_found_without_splitting_the_channel_into_lines():
    stdout = b"\n" * 1000 + _loaded() + b"noise" + FRAME_PREFIX + b"not at a line start\n" + _missing(0)
    result = decode_result(stdout, calls=1)
    assert result.loaded and 0 in result.calls and result.problems == []


def _largest_honest_channel(calls: int, channel_bytes: int) -> bytes:
    """Every frame at its largest: all output bytes in arrays, every text as long and escaped as it can be."""
    text = "\U0001f600" * 630  # one character, 12 bytes of JSON: the runner's longest message
    array = np.zeros(output_budget(channel_bytes) // 8)
    loaded = frame_line({"event": "loaded", "errors": [text] * 100, "skipped": ["cell 99, line 9999"] * 100})
    first = frame_line({"event": "call", "index": 0, "status": "returned", "outputs": {"out": _array_frame(array)}})
    others = b"".join(
        frame_line({"event": "call", "index": index, "status": "exception", "message": text}) for index in range(1, calls)
    )
    done = frame_line({"event": "done", "stdout": "\ufffd" * 16 * 1024, "stdout_bytes": 10**9})
    return loaded + first + others + done


def test_the_channel_cap_fits_the_largest_honest_run_and_little_more():
    cap = Limits().stdout_bytes
    honest = _largest_honest_channel(20, cap)
    assert len(honest) <= cap <= 1.25 * len(honest)
    assert decode_result(honest, calls=20).complete


def _decoded_output(dtype: str, data: bytes, shape: list[int]):
    frame = {"event": "call", "index": 0, "status": "returned",
             "outputs": {"out": {"shape": shape, "dtype": dtype, "data": base64.b64encode(data).decode()}}}
    return decode_result(frame_line(frame), calls=1).calls[0].outputs["out"]


@pytest.mark.parametrize("dtype", ["|u1", "<f4", ">f8", "<U8", "|V8", "|O", "O", "<c16", "<M8[s]", ">i8"])
def test_dtypes_outside_the_wire_format_are_refused(dtype):
    value = _decoded_output(dtype, b"\0" * 8, [1])
    assert isinstance(value, str) and "unsupported type" in value


@pytest.mark.parametrize("dtype, data, expected", [
    ("<f8", np.array([1.5]).tobytes(), np.array([1.5])),
    ("<i8", np.array([-3]).tobytes(), np.array([-3])),
    ("|b1", b"\x01", np.array([True])),
], ids=["<f8", "<i8", "|b1"])
def test_the_wire_dtypes_are_accepted(dtype, data, expected):
    value = _decoded_output(dtype, data, [1])
    assert type(value) is np.ndarray and value.dtype == expected.dtype
    np.testing.assert_array_equal(value, expected)
