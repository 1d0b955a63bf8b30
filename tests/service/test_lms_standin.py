"""The stand-in LMS judges what it fully receives, and only that."""

from __future__ import annotations

import socket
import time
import urllib.parse

import httpx

from tests.service.lms_standin import StandInLms


def _raw_post(lms: StandInLms, headers: dict[str, str], body: bytes) -> None:
    """Send a request and close the connection, as a sender killed after writing `body` would."""
    address = urllib.parse.urlsplit(lms.url)
    with socket.create_connection((address.hostname, address.port), timeout=5) as conn:
        head = "".join(f"{key}: {value}\r\n" for key, value in headers.items())
        conn.sendall(f"POST /callback HTTP/1.1\r\nhost: lms\r\n{head}\r\n".encode() + body)
        conn.shutdown(socket.SHUT_WR)
        conn.recv(1024)  # wait for the server to answer or close


def test_a_request_cut_short_by_its_dying_sender_is_dropped_not_judged(lti_key):
    lms = StandInLms(callback_secret="whsec_" + "A" * 44, client_id="tool", public_key_pem=lti_key[1]).start()
    try:
        headers = {"webhook-id": "msg_cut", "webhook-timestamp": str(int(time.time())),
                   "webhook-signature": "v1,bm90LWEtc2lnbmF0dXJl", "content-type": "application/json"}
        _raw_post(lms, {**headers, "content-length": "100"}, b'{"type": "grading.comp')
        assert lms.errors == []
        assert lms.callback_attempts == {}

        response = httpx.post(f"{lms.url}/callback", headers=headers, content=b'{"type": "grading.completed"}')
        assert response.status_code == 401
        assert lms.errors == ["callback msg_cut with a bad signature"], "a whole request is still judged"
    finally:
        lms.stop()
