"""A stand-in LMS on 127.0.0.1: signs submissions, verifies callbacks, plays LTI token and AGS endpoints.

It checks what a real platform would check, with its own implementation of the signature
scheme so a symmetric mistake in the service's signing cannot pass unnoticed.
"""

from __future__ import annotations

import base64
import collections
import dataclasses
import hashlib
import hmac
import json
import re
import threading
import time
import urllib.parse
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import jwt

SCORE_SCOPE = "https://purl.imsglobal.org/spec/lti-ags/scope/score"
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
_ISO_WITH_FRACTION = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d+(Z|[+-]\d{2}:\d{2})$")


def strict_loads(text: str | bytes) -> Any:
    """`json.loads` that refuses NaN and Infinity, as JavaScript's `JSON.parse` and Go do."""

    def refuse(token: str) -> Any:
        raise ValueError(f"{token} is not JSON")

    return json.loads(text, parse_constant=refuse)


def hmac_signature(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    """`v1,<base64>` computed independently of grader.service.signing."""
    key = base64.b64decode(secret.removeprefix("whsec_"))
    mac = hmac.new(key, msg_id.encode() + b"." + str(timestamp).encode() + b"." + body, hashlib.sha256)
    return "v1," + base64.b64encode(mac.digest()).decode()


def signed_post(
    http: httpx.Client,
    url: str,
    body: bytes,
    secret: str,
    *,
    content_type: str = "application/json",
    msg_id: str | None = None,
    timestamp: int | None = None,
) -> httpx.Response:
    """POST `body` the way the LMS does: with Standard Webhooks headers."""
    msg_id = msg_id or f"msg_{uuid.uuid4().hex}"
    timestamp = int(time.time()) if timestamp is None else timestamp
    headers = {
        "content-type": content_type,
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": hmac_signature(secret, msg_id, timestamp, body),
    }
    return http.post(url, content=body, headers=headers)


@dataclasses.dataclass
class Behaviour:
    """How the stand-in answers callbacks; tests change it."""

    fail_first: int = 0
    """Answer `fail_status` to the first N attempts of each webhook-id."""
    fail_status: int = 500
    retry_after: str | None = None
    always_status: int | None = None
    """Answer this to every correctly signed callback (e.g. 410, or 500 forever)."""
    gone: bool = False
    """Answer 410 to every callback, signed or not, as a receiver that was removed does."""
    error_body: bytes = b""
    """The body of every answer that is not a 2xx, e.g. text the service must not store."""
    token_expires_in: int = 3600


class StandInLms:
    """The LMS side of every integration test; `errors` lists everything it found wrong."""

    def __init__(self, *, callback_secret: str, client_id: str, public_key_pem: str) -> None:
        self.callback_secret = callback_secret
        self.client_id = client_id
        self.public_key_pem = public_key_pem
        self.behaviour = Behaviour()
        self.lock = threading.Lock()
        self.callbacks: dict[str, dict[str, Any]] = {}
        self.callback_attempts: collections.Counter[str] = collections.Counter()
        self.callback_attempt_times: dict[str, list[float]] = collections.defaultdict(list)
        self.duplicates = 0
        self.gone_answers = 0
        self.scores: dict[str, list[dict[str, Any]]] = collections.defaultdict(list)
        self.token_requests = 0
        self.paths: list[str] = []
        self.hosts: list[str] = []
        self.authorizations: list[str] = []
        """Every request's path, Host header and Authorization header (when sent), in order."""
        self.errors: list[str] = []
        self._tokens: dict[str, float] = {}
        self._jtis: set[str] = set()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self._server.daemon_threads = True
        self._server.lms = self  # type: ignore[attr-defined]
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def token_url(self) -> str:
        return f"{self.url}/token"

    def start(self) -> StandInLms:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def error(self, message: str) -> None:
        with self.lock:
            self.errors.append(message)

    # Handlers, called from the server's threads ---------------------------------------------

    def on_callback(self, headers: dict[str, str], body: bytes) -> tuple[int, dict[str, str]]:
        msg_id = headers.get("webhook-id", "")
        if self.behaviour.gone:
            with self.lock:
                self.gone_answers += 1
            return 410, {}
        raw_ts = headers.get("webhook-timestamp", "")
        offered = headers.get("webhook-signature", "").split()
        if not msg_id or not raw_ts.isdigit():
            self.error(f"callback without webhook-id/timestamp: {headers}")
            return 400, {}
        if abs(time.time() - int(raw_ts)) > 300:
            self.error(f"callback {msg_id} with a stale timestamp")
            return 401, {}
        expected = hmac_signature(self.callback_secret, msg_id, int(raw_ts), body)
        if not any(hmac.compare_digest(expected, sig) for sig in offered):
            self.error(f"callback {msg_id} with a bad signature")
            return 401, {}
        if headers.get("content-type") != "application/json":
            self.error(f"callback {msg_id} content type {headers.get('content-type')}")
        behaviour = self.behaviour
        with self.lock:
            self.callback_attempts[msg_id] += 1
            self.callback_attempt_times[msg_id].append(time.monotonic())
            attempt = self.callback_attempts[msg_id]
        if behaviour.always_status is not None:
            return behaviour.always_status, {}
        if attempt <= behaviour.fail_first:
            extra = {"retry-after": behaviour.retry_after} if behaviour.retry_after else {}
            return behaviour.fail_status, extra
        try:
            event = strict_loads(body)
        except ValueError as error:
            self.error(f"callback {msg_id} is not strict JSON: {error}")
            return 400, {}
        if event.get("type") not in ("grading.completed", "grading.held") or "data" not in event:
            self.error(f"callback {msg_id} is not a grading.completed or grading.held event")
        elif event["type"] == "grading.held" and "score" in event["data"]:
            self.error(f"held callback {msg_id} carries a score")
        with self.lock:
            if msg_id in self.callbacks:
                self.duplicates += 1
                if self.callbacks[msg_id] != event:
                    self.error(f"callback {msg_id} was resent with a different body")
            else:
                self.callbacks[msg_id] = event
        return 200, {}

    def on_token(self, headers: dict[str, str], body: bytes) -> tuple[int, dict[str, Any]]:
        form = dict(urllib.parse.parse_qsl(body.decode()))
        with self.lock:
            self.token_requests += 1
        problems = []
        if form.get("grant_type") != "client_credentials":
            problems.append("grant_type")
        if form.get("client_assertion_type") != ASSERTION_TYPE:
            problems.append("client_assertion_type")
        if form.get("scope") != SCORE_SCOPE:
            problems.append("scope")
        try:
            claims = jwt.decode(
                form.get("client_assertion", ""),
                self.public_key_pem,
                algorithms=["RS256"],
                audience=self.token_url,
                issuer=self.client_id,
                options={"require": ["exp", "iat", "jti", "iss", "sub", "aud"]},
            )
            if claims["sub"] != self.client_id:
                problems.append("sub")
            with self.lock:
                if claims["jti"] in self._jtis:
                    problems.append("jti reused")
                self._jtis.add(claims["jti"])
        except jwt.PyJWTError as error:
            problems.append(f"assertion: {error}")
        if problems:
            self.error(f"token request refused: {problems}")
            return 400, {"error": "invalid_client"}
        token = f"tok_{uuid.uuid4().hex}"
        with self.lock:
            self._tokens[token] = time.time() + self.behaviour.token_expires_in
        return 200, {
            "access_token": token, "token_type": "Bearer",
            "expires_in": self.behaviour.token_expires_in, "scope": SCORE_SCOPE,
        }

    def on_score(self, path: str, headers: dict[str, str], body: bytes) -> int:
        if headers.get("content-type") != "application/vnd.ims.lis.v1.score+json":
            self.error(f"score with content type {headers.get('content-type')}")
            return 415
        token = headers.get("authorization", "").removeprefix("Bearer ")
        with self.lock:
            expires = self._tokens.get(token)
        if expires is None or expires < time.time():
            self.error("score with an unknown or expired token")
            return 401
        try:
            score = strict_loads(body)
        except ValueError as error:
            self.error(f"score is not strict JSON: {error}")
            return 400
        problems = [field for field in ("userId", "activityProgress", "gradingProgress", "timestamp") if field not in score]
        if score.get("activityProgress") not in {"Initialized", "Started", "InProgress", "Submitted", "Completed"}:
            problems.append("activityProgress value")
        if score.get("gradingProgress") not in {"FullyGraded", "Pending", "PendingManual", "Failed", "NotReady"}:
            problems.append("gradingProgress value")
        if "scoreGiven" in score and not (isinstance(score.get("scoreMaximum"), (int, float)) and score["scoreMaximum"] > 0):
            problems.append("scoreMaximum")
        if not _ISO_WITH_FRACTION.match(str(score.get("timestamp", ""))):
            problems.append("timestamp precision")
        if problems:
            self.error(f"score refused: {problems} in {score}")
            return 400
        with self.lock:
            self.scores[path].append(score)
        return 200


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self) -> None:
        lms: StandInLms = self.server.lms  # type: ignore[attr-defined]
        length = int(self.headers.get("content-length", "0"))
        body = self.rfile.read(length)
        if len(body) < length:
            # The sender died mid-request (the crash tests kill it): like a real server, drop the
            # request unanswered instead of judging a truncated body's signature.
            self.close_connection = True
            return
        headers = {key.lower(): value for key, value in self.headers.items()}
        path = urllib.parse.urlsplit(self.path).path
        with lms.lock:
            lms.paths.append(path)
            lms.hosts.append(headers.get("host", ""))
            if "authorization" in headers:
                lms.authorizations.append(headers["authorization"])
        if path == "/callback":
            status, extra = lms.on_callback(headers, body)
            self._answer(status, b"" if 200 <= status < 300 else lms.behaviour.error_body, extra)
        elif path == "/redirect":
            self._answer(307, b"", {"location": f"{lms.url}/callback"})
        elif path == "/token":
            status, payload = lms.on_token(headers, body)
            self._answer(status, json.dumps(payload).encode(), {"content-type": "application/json"})
        elif path.startswith("/lineitems/") and path.endswith("/scores"):
            self._answer(lms.on_score(path, headers, body), b"", {})
        else:
            self._answer(404, b"", {})

    def _answer(self, status: int, body: bytes, headers: dict[str, str]) -> None:
        self.send_response(status)
        for key, value in headers.items():
            self.send_header(key, value)
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the tests assert on recorded state instead."""
