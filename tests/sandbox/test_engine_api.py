"""The Engine API client of the early start, against a stand-in daemon on a Unix socket (no Docker needed)."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from grader.sandbox.engine_api import Engine, EngineError, socket_path


@pytest.fixture
def daemon(tmp_path: Path) -> Iterator[tuple[Engine, list[bytes], list[bytes]]]:
    """A one-request-at-a-time server: answers the queued responses in order, records each request."""
    path = str(tmp_path / "d.sock")
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(path)
    server.listen()
    answers: list[bytes] = []
    requests: list[bytes] = []

    def serve() -> None:
        while True:
            try:
                conn, _ = server.accept()
            except OSError:
                return
            with conn:
                data = b""
                while b"\r\n\r\n" not in data:
                    data += conn.recv(65536)
                head, _, body = data.partition(b"\r\n\r\n")
                length = int(next((line.split(b":")[1] for line in head.split(b"\r\n")
                                   if line.lower().startswith(b"content-length")), b"0"))
                while len(body) < length:
                    body += conn.recv(65536)
                requests.append(head + b"\r\n\r\n" + body)
                conn.sendall(answers.pop(0))

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield Engine(path, timeout=5), answers, requests
    server.close()


def test_a_chunked_answer_is_joined(daemon) -> None:
    engine, answers, _ = daemon
    chunks = [b'{"Sta', b'tusCode": 137}\n']
    body = b"".join(b"%x\r\n%s\r\n" % (len(chunk), chunk) for chunk in chunks) + b"0\r\n\r\n"
    answers.append(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + body)
    assert engine.wait("c", timeout=5) == 137


def test_create_sends_the_body_and_the_name(daemon) -> None:
    engine, answers, requests = daemon
    answers.append(b"HTTP/1.1 201 Created\r\nContent-Length: 12\r\n\r\n{\"Id\": \"x\"}\n")
    engine.create("grader-sandbox-1", {"Image": "img"})
    assert requests[0].startswith(b"POST /containers/create?name=grader-sandbox-1 HTTP/1.1\r\n")
    assert requests[0].endswith(b'{"Image": "img"}')


def test_an_error_status_is_an_engine_error(daemon) -> None:
    engine, answers, _ = daemon
    answers.append(b"HTTP/1.1 404 Not Found\r\nContent-Length: 20\r\n\r\n{\"message\": \"no im\"}")
    with pytest.raises(EngineError, match="404"):
        engine.create("c", {"Image": "missing"})


def test_an_answer_that_is_not_http_is_an_engine_error(daemon) -> None:
    engine, answers, _ = daemon
    answers.append(b"garbage")
    with pytest.raises(EngineError):
        engine.start("c")


def test_a_removed_or_already_removing_container_counts_as_gone(daemon) -> None:
    engine, answers, _ = daemon
    answers.extend([b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n",
                    b"HTTP/1.1 409 Conflict\r\nContent-Length: 0\r\n\r\n",
                    b"HTTP/1.1 500 Error\r\nContent-Length: 0\r\n\r\n"])
    assert engine.remove("c") and engine.remove("c") and not engine.remove("c")


def test_docker_host_other_than_a_unix_socket_is_left_to_the_sdk(monkeypatch) -> None:
    monkeypatch.setenv("DOCKER_HOST", "tcp://127.0.0.1:2375")
    assert socket_path() is None
    monkeypatch.setenv("DOCKER_HOST", "unix:///run/user/1000/docker.sock")
    assert socket_path() == "/run/user/1000/docker.sock"
    monkeypatch.delenv("DOCKER_HOST")
    assert socket_path() == "/var/run/docker.sock"
