"""A Unix-socket proxy to the Docker daemon that a test can cut and restore: a real outage for the grader.

The grader reaches the daemon through the proxy (DOCKER_HOST=proxy.url). `cut()` closes the
listener and every open connection, as a dying daemon does (attach streams and long polls end,
new connections are refused); `restore()` listens again. The daemon itself keeps running, so
other users of it are not disturbed; containers started before the cut keep running there.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

DOCKER_SOCKET = "/var/run/docker.sock"
_CHUNK = 64 * 1024


class DockerProxy:
    """Forwards connections on `path` to the daemon's socket, in a thread of its own."""

    def __init__(self, path: Path, target: str = DOCKER_SOCKET) -> None:
        self.path = path
        self._target = target
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="docker-proxy", daemon=True)
        self._server: asyncio.AbstractServer | None = None
        self._open: set[asyncio.StreamWriter] = set()
        self._cut_at: bytes | None = None
        self.connections = 0
        """Connections accepted since start: shows that the grader really went through the proxy."""

    @property
    def url(self) -> str:
        return f"unix://{self.path}"

    def start(self) -> DockerProxy:
        self._thread.start()
        self.restore()
        return self

    def cut(self) -> None:
        """Stop listening and drop every open connection, as a dying daemon does."""
        self._call(self._cut())

    def restore(self) -> None:
        """Listen again (a daemon back up)."""
        self._call(self._listen())

    def cut_when_answering(self, request: bytes) -> None:
        """Cut as soon as the daemon answers the next request containing `request` (e.g. b"/containers/create"):
        the daemon did the work, the grader never hears of it, as when the daemon dies at that moment."""
        self._cut_at = request

    def stop(self) -> None:
        self.cut()
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)

    def _call(self, coroutine) -> None:
        asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(10)

    async def _listen(self) -> None:
        if self._server is None:
            self._server = await asyncio.start_unix_server(self._accept, path=str(self.path))

    async def _cut(self) -> None:
        if self._server is not None:
            self._server.close()
            self._server = None
            self.path.unlink(missing_ok=True)
        for writer in list(self._open):
            writer.transport.abort()
        self._open.clear()

    async def _accept(self, client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            daemon_reader, daemon_writer = await asyncio.open_unix_connection(self._target)
        except OSError:
            client_writer.transport.abort()
            return
        pair = {client_writer, daemon_writer}
        self._open |= pair
        asked = asyncio.Event()

        def to_daemon(data: bytes) -> bool:
            if self._cut_at is not None and self._cut_at in data:
                self._cut_at = None
                asked.set()
            return True

        def to_client(data: bytes) -> bool:
            if asked.is_set():
                asyncio.ensure_future(self._cut())
                return False
            return True

        try:
            await asyncio.gather(_pipe(client_reader, daemon_writer, to_daemon),
                                 _pipe(daemon_reader, client_writer, to_client))
        finally:
            for writer in pair:
                writer.transport.abort()
            self._open -= pair


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, forward: Callable[[bytes], bool]) -> None:
    """Copy what `forward` lets through until EOF, then half-close: the sandbox's stdin ends when the
    grader shuts its side."""
    with contextlib.suppress(ConnectionError, OSError):
        while data := await reader.read(_CHUNK):
            if not forward(data):
                return
            writer.write(data)
            await writer.drain()
        if writer.can_write_eof():
            writer.write_eof()


@contextlib.contextmanager
def docker_proxy(path: Path) -> Iterator[DockerProxy]:
    """A started proxy on `path`, stopped afterwards."""
    proxy = DockerProxy(path).start()
    try:
        yield proxy
    finally:
        proxy.stop()
