"""The few Docker Engine API calls of one sandbox run, over the local Unix socket, standard library only.

`grade FILE` starts its container with these before the Docker SDK (about 125 ms of imports,
requests and urllib3 included) would even be loaded (grader.sandbox.docker_early). Every
other path uses the SDK (grader.sandbox.docker). One connection per request, closed by the
daemon after its answer, so a response is whatever arrives before end of file.
"""

from __future__ import annotations

import json
import os
import socket
import urllib.parse

DEFAULT_SOCKET = "/var/run/docker.sock"
_HEADER_END = b"\r\n\r\n"
_MAX_RESPONSE = 4 * 1024 * 1024


class EngineError(Exception):
    """The daemon answered with an unexpected status, or with something that is not HTTP."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"Docker Engine API answered {status}: {message[:200]}")
        self.status = status


def socket_path() -> str | None:
    """The daemon's Unix socket, or None when DOCKER_HOST names another transport (left to the SDK)."""
    host = os.environ.get("DOCKER_HOST", "")
    if not host:
        return DEFAULT_SOCKET
    if host.startswith("unix://"):
        return host.removeprefix("unix://")
    return None


class Engine:
    """The daemon at a Unix socket path."""

    def __init__(self, path: str, timeout: float = 10.0) -> None:
        self.path = path
        self.timeout = timeout

    def _connect(self, timeout: float | None) -> socket.socket:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(timeout)
        try:
            sock.connect(self.path)
        except OSError:
            sock.close()
            raise
        return sock

    def request(self, method: str, path: str, body: object = None, timeout: float | None = None) -> tuple[int, bytes]:
        """Send one request and return the status and the (de-chunked) body; socket.timeout when slower."""
        payload = b"" if body is None else json.dumps(body).encode()
        head = (f"{method} {path} HTTP/1.1\r\nHost: docker\r\nConnection: close\r\n"
                f"Content-Type: application/json\r\nContent-Length: {len(payload)}\r\n\r\n")
        with self._connect(self.timeout if timeout is None else timeout) as sock:
            sock.sendall(head.encode() + payload)
            response = bytearray()
            while len(response) <= _MAX_RESPONSE:
                chunk = sock.recv(65536)
                if not chunk:
                    break
                response += chunk
        return _parse(bytes(response))

    def create(self, name: str, body: dict[str, object]) -> None:
        status, answer = self.request("POST", f"/containers/create?name={name}", body)
        if status != 201:
            raise EngineError(status, answer.decode("utf-8", "replace"))

    def attach(self, name: str) -> socket.socket:
        """The container's stdin, stdout and stderr as one raw stream (attach before start: nothing is lost)."""
        sock = self._connect(self.timeout)
        try:
            sock.sendall(
                f"POST /containers/{name}/attach?stdin=1&stdout=1&stderr=1&stream=1 HTTP/1.1\r\n"
                "Host: docker\r\nConnection: Upgrade\r\nUpgrade: tcp\r\nContent-Length: 0\r\n\r\n".encode()
            )
            head = bytearray()
            while _HEADER_END not in head:
                chunk = sock.recv(1)  # one byte at a time: no stream byte may be read past the headers
                if not chunk or len(head) > 8192:
                    raise EngineError(0, "the attach answer ended before its headers did")
                head += chunk
            status = _status(bytes(head))
            if status not in (101, 200):
                raise EngineError(status, head.decode("latin-1"))
        except BaseException:
            sock.close()
            raise
        return sock

    def start(self, name: str) -> None:
        status, answer = self.request("POST", f"/containers/{name}/start")
        if status not in (204, 304):
            raise EngineError(status, answer.decode("utf-8", "replace"))

    def wait(self, name: str, timeout: float) -> int | None:
        """The exit code, or None if the container is still running after `timeout` seconds."""
        try:
            status, answer = self.request("POST", f"/containers/{name}/wait", timeout=timeout)
        except socket.timeout:
            return None
        if status != 200:
            raise EngineError(status, answer.decode("utf-8", "replace"))
        return int(json.loads(answer)["StatusCode"])

    def oom_killed(self, name: str) -> bool:
        status, answer = self.request("GET", f"/containers/{name}/json")
        if status != 200:
            raise EngineError(status, answer.decode("utf-8", "replace"))
        return bool(json.loads(answer)["State"]["OOMKilled"])

    def containers(self, label: str) -> list[dict]:
        """Every container (running or not) carrying `label`, as the daemon lists them."""
        filters = urllib.parse.quote(json.dumps({"label": [label]}))
        status, answer = self.request("GET", f"/containers/json?all=1&filters={filters}")
        if status != 200:
            raise EngineError(status, answer.decode("utf-8", "replace"))
        return json.loads(answer)

    def remove(self, name: str) -> bool:
        """Kill (if running) and remove; True once it is gone (409: another remover got there first)."""
        try:
            status, _ = self.request("DELETE", f"/containers/{name}?force=1")
        except OSError:
            return False
        return status in (204, 404, 409)


def _status(head: bytes) -> int:
    try:
        return int(head.split(b" ", 2)[1])
    except (IndexError, ValueError):
        raise EngineError(0, "the answer is not HTTP") from None


def _parse(response: bytes) -> tuple[int, bytes]:
    head, found, body = response.partition(_HEADER_END)
    if not found:
        raise EngineError(0, "the answer ended before its headers did")
    headers = head.lower()
    if b"\r\ntransfer-encoding: chunked" in headers:
        body = _dechunk(body)
    return _status(head), body


def _dechunk(body: bytes) -> bytes:
    chunks = []
    while True:
        size_line, found, rest = body.partition(b"\r\n")
        if not found:
            raise EngineError(0, "a chunked answer was cut short")
        try:
            size = int(size_line.split(b";")[0], 16)
        except ValueError:
            raise EngineError(0, "a chunked answer has a bad chunk size") from None
        if size == 0:
            return b"".join(chunks)
        chunks.append(rest[:size])
        body = rest[size + 2 :]
