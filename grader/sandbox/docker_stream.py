"""The attach socket of a sandbox container: the bundle in, stdout (capped) and the tail of stderr out.

Standard library only: the SDK backend and the early start of `grade FILE` both drive it.
"""

from __future__ import annotations

import math
import select
import socket
import struct
import time
from dataclasses import dataclass

from grader.sandbox.base import DIAGNOSTICS_BYTES, RawRun

_CHUNK = 64 * 1024
_FRAME_HEADER = struct.Struct(">BxxxL")
_STDOUT, _STDERR = 1, 2


@dataclass
class _Streams:
    """What came back on the attach socket."""

    stdout: bytearray
    stderr_tail: bytearray
    stdout_truncated: bool = False
    timed_out: bool = False
    ended: bool = False
    """The container closed its output (normally: it exited)."""

    def run(self, *, exit_code: int | None, memory_exceeded: bool, duration: float) -> RawRun:
        """The sandbox run these streams came from, as every backend reports it."""
        return RawRun(
            stdout=bytes(self.stdout),
            stdout_truncated=self.stdout_truncated,
            exit_code=exit_code,
            timed_out=self.timed_out,
            memory_exceeded=memory_exceeded,
            duration=duration,
            diagnostics=self.stderr_tail.decode("utf-8", "replace"),
        )


class _Demux:
    """Split Docker's multiplexed attach stream into a capped stdout and the tail of stderr."""

    def __init__(self, stdout_cap: int) -> None:
        self.streams = _Streams(bytearray(), bytearray())
        self._cap = stdout_cap
        self._pending = bytearray()

    def feed(self, data: bytes) -> None:
        """Consume raw socket bytes; sets `streams.stdout_truncated` once stdout passes the cap."""
        self._pending += data
        offset = 0
        while len(self._pending) - offset >= _FRAME_HEADER.size:
            stream, size = _FRAME_HEADER.unpack_from(self._pending, offset)
            end = offset + _FRAME_HEADER.size + size
            if end > len(self._pending):
                break
            self._route(stream, bytes(self._pending[offset + _FRAME_HEADER.size : end]))
            offset = end
        del self._pending[:offset]

    def _route(self, stream: int, payload: bytes) -> None:
        streams = self.streams
        if stream == _STDOUT:
            room = self._cap - len(streams.stdout)
            if room > 0:
                streams.stdout += payload[:room]
            if len(payload) > room:
                streams.stdout_truncated = True
        elif stream == _STDERR:
            streams.stderr_tail += payload
            del streams.stderr_tail[:-DIAGNOSTICS_BYTES]


def _exchange(sock: socket.socket, bundle: bytes, deadline: float, stdout_cap: int) -> _Streams:
    """Write the bundle (then EOF) and read the output, interleaved so neither side can block the other."""
    demux = _Demux(stdout_cap)
    streams = demux.streams
    to_send = memoryview(bundle)
    sock.setblocking(False)
    # poll, not select: a busy grading service can hold socket fds above select's 1024.
    poller = select.poll()
    poller.register(sock, select.POLLIN | select.POLLOUT)
    if not to_send:
        _shutdown_write(sock)
        poller.modify(sock, select.POLLIN)
    while not streams.stdout_truncated:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            streams.timed_out = True
            break
        ready = poller.poll(math.ceil(remaining * 1000))
        events = ready[0][1] if ready else 0
        if events & select.POLLOUT and to_send:
            try:
                to_send = to_send[sock.send(to_send[:_CHUNK]) :]
            except (BlockingIOError, InterruptedError):
                pass
            except OSError:
                # The runner closed stdin (or died): stop feeding, keep reading what it said.
                to_send = to_send[:0]
            if not to_send:
                _shutdown_write(sock)
                poller.modify(sock, select.POLLIN)
        if events & (select.POLLIN | select.POLLHUP | select.POLLERR):
            try:
                data = sock.recv(_CHUNK)
            except (BlockingIOError, InterruptedError):
                continue
            except OSError:
                data = b""
            if not data:
                streams.ended = True
                break
            demux.feed(data)
    return streams


def _shutdown_write(sock: socket.socket) -> None:
    """Half-close: the daemon closes the runner's stdin (StdinOnce), which then sees EOF."""
    try:
        sock.shutdown(socket.SHUT_WR)
    except OSError:
        pass


