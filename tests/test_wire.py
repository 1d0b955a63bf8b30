"""The boundary: bundles go in as plain arrays, frames come out validated."""

import base64
import io
import json

import numpy as np

from grader.runner import _build_arg
from grader.wire import Call, decode_array, decode_result, encode_bundle, frame_line, _Array


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
