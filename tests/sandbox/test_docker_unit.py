"""Docker backend pieces that need no daemon: the container settings, the image tag, the stream demuxer, the socket exchange."""

from __future__ import annotations

import os
import socket
import struct
import threading
import time
from pathlib import Path

import pytest

from grader.sandbox.base import Limits
from grader.sandbox.docker import (
    DIAGNOSTICS_BYTES,
    ENVIRONMENT,
    RUNNER_COMMAND,
    _Demux,
    _exchange,
    _owner_gone,
    container_config,
    create_body,
    image_tag,
    owner,
)
from grader.sandbox.errors import ImageMissing


def _frame(stream: int, payload: bytes) -> bytes:
    return struct.pack(">BxxxL", stream, len(payload)) + payload


LIMITS = Limits(memory_bytes=300 * 1024 * 1024, pids=48, tmpfs_bytes=8 * 1024 * 1024)


def _config() -> dict:
    return container_config("grader-sandbox:test", RUNNER_COMMAND, LIMITS)


def _host() -> dict:
    return _config()["host_config"]


def test_container_has_no_network() -> None:
    assert _host()["NetworkMode"] == "none"


def test_container_drops_every_capability_and_adds_none() -> None:
    host = _host()
    assert host["CapDrop"] == ["ALL"] and not host.get("CapAdd") and not host.get("Privileged")


def test_container_root_file_system_is_read_only() -> None:
    assert _host()["ReadonlyRootfs"] is True


def test_container_cannot_gain_privileges() -> None:
    assert "no-new-privileges" in _host()["SecurityOpt"]


def test_container_runs_as_a_non_root_user() -> None:
    user, _, group = _config()["user"].partition(":")
    assert user.isdigit() and int(user) != 0 and group.isdigit() and int(group) != 0


def test_container_memory_has_no_swap_beyond_it() -> None:
    host = _host()
    assert host["Memory"] == host["MemorySwap"] == LIMITS.memory_bytes


def test_container_processes_are_limited() -> None:
    assert _host()["PidsLimit"] == LIMITS.pids


def test_container_only_writable_place_is_a_small_noexec_tmpfs() -> None:
    tmpfs = _host()["Tmpfs"]
    assert list(tmpfs) == ["/tmp"]
    options = tmpfs["/tmp"].split(",")
    assert {"noexec", "nosuid", "nodev", f"size={LIMITS.tmpfs_bytes}"} <= set(options)


def test_container_mounts_nothing_from_the_host() -> None:
    host = _host()
    assert not any(host.get(key) for key in ("Binds", "Mounts", "VolumesFrom", "Devices"))
    assert "volumes" not in _config()


def test_container_environment_is_fixed_not_the_hosts(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GRADER_HOST_SECRET", "must not reach the sandbox")
    allowed = {"OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS", "PYTHONDONTWRITEBYTECODE", "HOME", "LANG", "PATH"}
    assert _config()["environment"] == ENVIRONMENT and set(ENVIRONMENT) <= allowed
    assert not any("GRADER_HOST_SECRET" in str(value) for value in _config().values())


def test_container_writes_no_host_logs() -> None:
    assert _host()["LogConfig"]["Type"] == "none"


def test_container_has_no_ipc_namespace_to_share() -> None:
    assert _host()["IpcMode"] == "none"


def _tree(root: Path, dockerfile: str = "FROM scratch\n", runner: str = "print(1)\n") -> Path:
    (root / "grader").mkdir(parents=True, exist_ok=True)
    (root / "Dockerfile").write_text(dockerfile)
    (root / "grader" / "runner.py").write_text(runner)
    return root


def test_image_tag_follows_every_build_input(tmp_path: Path) -> None:
    base = image_tag(_tree(tmp_path / "a"))
    assert base.startswith("grader-sandbox:") and base == image_tag(_tree(tmp_path / "b"))
    assert image_tag(_tree(tmp_path / "c", dockerfile="FROM busybox\n")) != base
    assert image_tag(_tree(tmp_path / "d", runner="print(2)\n")) != base


def test_image_tag_without_runner_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "Dockerfile").write_text("FROM scratch\n")
    with pytest.raises(ImageMissing, match="runner.py"):
        image_tag(tmp_path)


def test_demux_handles_frames_split_anywhere() -> None:
    demux = _Demux(stdout_cap=100)
    data = _frame(1, b"hello ") + _frame(2, b"oops") + _frame(1, b"world")
    for i in range(len(data)):
        demux.feed(data[i : i + 1])
    assert bytes(demux.streams.stdout) == b"hello world" and bytes(demux.streams.stderr_tail) == b"oops"
    assert not demux.streams.stdout_truncated


def test_demux_caps_stdout_exactly_and_keeps_the_tail_of_stderr() -> None:
    demux = _Demux(stdout_cap=10)
    demux.feed(_frame(1, b"0123456789") + _frame(2, b"a" * DIAGNOSTICS_BYTES + b"END"))
    assert not demux.streams.stdout_truncated
    demux.feed(_frame(1, b"!"))
    assert demux.streams.stdout_truncated and bytes(demux.streams.stdout) == b"0123456789"
    assert len(demux.streams.stderr_tail) == DIAGNOSTICS_BYTES and demux.streams.stderr_tail.endswith(b"END")


def test_owner_label_tells_live_from_dead() -> None:
    assert not _owner_gone(owner())
    host = socket.gethostname()
    assert _owner_gone(f"{host}:{os.getpid()}:not-my-start-time")
    assert not _owner_gone(f"another-host-{host}:1:0")


def _fake_daemon(sock: socket.socket, reply: bytes, close: bool, received: list[bytes]) -> None:
    """Read the bundle to EOF, answer with `reply`, then hang up (or not)."""
    chunks = []
    while chunk := sock.recv(65536):
        chunks.append(chunk)
    received.append(b"".join(chunks))
    sock.sendall(reply)
    if close:
        sock.close()


def _exchange_with(reply: bytes, *, close: bool = True, cap: int = 1 << 20, wall: float = 5.0):
    ours, theirs = socket.socketpair()
    received: list[bytes] = []
    daemon = threading.Thread(target=_fake_daemon, args=(theirs, reply, close, received), daemon=True)
    daemon.start()
    started = time.monotonic()
    streams = _exchange(ours, b"B" * 3_000_000, started + wall, cap)
    ours.close()
    return streams, received, time.monotonic() - started


def test_exchange_sends_the_bundle_then_eof_and_reads_to_the_end() -> None:
    streams, received, _ = _exchange_with(_frame(1, b"out") + _frame(2, b"err"))
    assert received == [b"B" * 3_000_000]
    assert streams.ended and bytes(streams.stdout) == b"out" and bytes(streams.stderr_tail) == b"err"


def test_exchange_stops_at_the_deadline() -> None:
    streams, _, elapsed = _exchange_with(_frame(1, b"partial"), close=False, wall=0.5)
    assert streams.timed_out and not streams.ended and bytes(streams.stdout) == b"partial"
    assert 0.5 <= elapsed < 2.0


def test_exchange_stops_reading_once_stdout_overflows() -> None:
    streams, _, elapsed = _exchange_with(_frame(1, b"x" * 5000), close=False, cap=1000)
    assert streams.stdout_truncated and len(streams.stdout) == 1000 and elapsed < 2.0


def test_create_body_is_what_the_docker_sdk_would_send() -> None:
    """The early start posts `create_body` itself; it must be the body the SDK builds from the same settings."""
    from docker.types import ContainerConfig

    config = _config()
    sdk_body = {key: value for key, value in ContainerConfig("1.41", **config).items() if value is not None}
    assert create_body(config) == sdk_body
