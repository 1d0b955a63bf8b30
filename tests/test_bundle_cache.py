"""The cached case part of the input bundle: what it holds, how the submission is added, when it is refused."""

from __future__ import annotations

import io
import json

import numpy as np
import pytest

from grader import bundle_cache
from grader.checks import plan_calls
from grader.sandbox.base import Limits
from grader.wire import Call, encode_bundle

LIMITS = Limits()


def _bundle(source: bytes = b"x = 1\n", call_seconds: float = 1) -> bytes:
    return encode_bundle(
        source=source, kind="py",
        calls=[Call("f", (np.ones((2, 2)), {"W": np.zeros(3)}, 0.5), ("a", "b", "c"), 3, {"out": ()})],
        support_modules={}, stub_modules=(), preamble="", call_seconds=call_seconds, load_seconds=1,
        output_limit=1000, stdout_limit=1000,
    )


@pytest.fixture(autouse=True)
def _cache_home(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))


def test_a_stored_case_part_with_the_submission_added_is_the_engines_bundle():
    bundle_cache.store(_bundle(b"first = 1\n"), "py", LIMITS)
    spliced = bundle_cache.add_submission(bundle_cache.load("py", LIMITS), b"second = 2\n")
    assert bundle_cache.same_bundle(spliced, _bundle(b"second = 2\n"))


def test_the_added_submission_reads_back_with_numpy_without_pickles():
    spliced = bundle_cache.add_submission(_case_part(), "é = 'ü'\n".encode())
    loaded = np.load(io.BytesIO(spliced), allow_pickle=False)
    assert bytes(loaded["__submission__"]) == "é = 'ü'\n".encode()
    assert json.loads(bytes(loaded["__plan__"]))["calls"][0]["function"] == "f"


def _case_part() -> bytes:
    bundle_cache.store(_bundle(), "py", LIMITS)
    return bundle_cache.load("py", LIMITS)


@pytest.mark.parametrize("size", [0, 1, 53, 54, 4096, 10**6])
def test_the_added_submission_is_the_npy_numpy_writes(size):
    source = bytes(range(256)) * (size // 256) + bytes(size % 256)
    buffer = io.BytesIO()
    np.save(buffer, np.frombuffer(source, dtype=np.uint8))
    assert bundle_cache._npy_payload(bundle_cache._npy_bytes(source)) == source
    assert bundle_cache._npy_payload(buffer.getvalue()) == source
    assert np.load(io.BytesIO(bundle_cache._npy_bytes(source))).tobytes() == source


def test_another_submission_or_another_plan_is_not_the_same_bundle():
    spliced = bundle_cache.add_submission(_case_part(), b"x = 1\n")
    assert bundle_cache.same_bundle(spliced, _bundle(b"x = 1\n"))
    assert not bundle_cache.same_bundle(spliced, _bundle(b"x = 2\n"))
    assert not bundle_cache.same_bundle(spliced, _bundle(b"x = 1\n", call_seconds=2))


def test_the_cache_is_keyed_by_kind_and_limits():
    bundle_cache.store(_bundle(), "py", LIMITS)
    assert bundle_cache.load("py", LIMITS) is not None
    assert bundle_cache.load("ipynb", LIMITS) is None
    assert bundle_cache.load("py", Limits(wall_seconds=7)) is None


@pytest.mark.parametrize("content", [b"", b"not a zip", b"PK\x03\x04broken"])
def test_a_corrupt_cache_file_is_ignored(content):
    path = bundle_cache.cache_path("py", LIMITS)
    path.parent.mkdir(parents=True)
    path.write_bytes(content)
    assert bundle_cache.load("py", LIMITS) is None


def test_a_cache_file_with_other_members_is_ignored():
    path = bundle_cache.cache_path("py", LIMITS)
    path.parent.mkdir(parents=True)
    path.write_bytes(_bundle())  # a whole bundle, submission included, is not a case part
    assert bundle_cache.load("py", LIMITS) is None


def test_the_cache_holds_no_submission_case_names_points_or_expected_values(assignment):
    calls = plan_calls(assignment)
    bundle = encode_bundle(
        source=b"SECRET_SUBMISSION_MARKER = 1\n", kind="py", calls=calls, support_modules=assignment.support_modules,
        stub_modules=assignment.stub_modules, preamble=assignment.preamble, call_seconds=5, load_seconds=5,
        output_limit=1000, stdout_limit=1000,
    )
    bundle_cache.store(bundle, "py", LIMITS)
    cached = bundle_cache.cache_path("py", LIMITS).read_bytes()
    assert b"SECRET_SUBMISSION_MARKER" not in cached and b"points" not in cached
    for case in assignment.cases:
        assert f'"{case.id}"'.encode() not in cached
        for outputs in assignment.data[case.id].expected.values():
            for value in outputs.values():
                array = np.ascontiguousarray(value, dtype=np.float64)
                assert array.size < 4 or array.tobytes() not in cached, case.id
