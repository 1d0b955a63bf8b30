"""Fixtures: the stand-in LMS and the service under uvicorn in a subprocess, both on 127.0.0.1."""

from __future__ import annotations

import base64
import dataclasses
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from grader.service.store import NewSubmission, Store
from tests.service.lms_standin import StandInLms, signed_post
from tests.service.lti_platform import StandInPlatform

REPO = Path(__file__).resolve().parents[2]
CLIENT_SECRET = "whsec_" + base64.b64encode(b"client-secret-of-the-lms-32bytes").decode()
CALLBACK_SECRET = "whsec_" + base64.b64encode(b"our-own-callback-secret-32-bytes").decode()
API_TOKEN = "api-token-for-tests"
"""The `lms` client's token: reads that client's jobs only."""
ADMIN_TOKEN = "admin-token-for-tests"
OTHER_CLIENT_SECRET = "whsec_" + base64.b64encode(b"client-secret-of-another-lms-32b").decode()
OTHER_CALLBACK_SECRET = "whsec_" + base64.b64encode(b"callback-secret-for-other-lms-32").decode()
OTHER_API_TOKEN = "api-token-of-the-other-client"
LTI_CLIENT_ID = "grader-tool-client"


@dataclasses.dataclass
class Service:
    """One service process we started; stopped only through its own PID."""

    url: str
    process: subprocess.Popen[bytes]
    database: Path
    log: Path
    http: httpx.Client

    def submit(self, payload: dict[str, Any], secret: str = CLIENT_SECRET, **kwargs: Any) -> httpx.Response:
        body = json.dumps(payload).encode()
        return signed_post(self.http, f"{self.url}/v1/submissions", body, secret, **kwargs)

    def get_status(self, job_id: str, token: str) -> httpx.Response:
        return self.http.get(f"{self.url}/v1/submissions/{job_id}", headers={"authorization": f"Bearer {token}"})

    def status(self, job_id: str) -> dict[str, Any]:
        response = self.get_status(job_id, ADMIN_TOKEN)
        response.raise_for_status()
        return response.json()

    def wait_for(self, job_id: str, predicate: Callable[[dict[str, Any]], bool], seconds: float = 30) -> dict[str, Any]:
        deadline = time.monotonic() + seconds
        while True:
            status = self.status(job_id)
            if predicate(status):
                return status
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out waiting on {job_id}: {status}")
            time.sleep(0.05)

    def kill(self) -> None:
        """kill -9, as a crash would."""
        os.kill(self.process.pid, signal.SIGKILL)
        self.process.wait(10)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                os.kill(self.process.pid, signal.SIGKILL)
                self.process.wait(10)
        self.http.close()


def new_submission(webhook_id: str = "msg_1", *, request_sha256: str = "aa", client: str = "lms") -> NewSubmission:
    """A submission as the intake stores it: two lines of source, a callback, no LTI."""
    return NewSubmission(
        client=client, webhook_id=webhook_id, request_sha256=request_sha256, assignment="a", student_id="s",
        filename="f.py", content=b"x = 1\ny = 2\n", content_sha256="cc", callback_url="http://127.0.0.1:9/cb",
        lti=None,
    )


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    """A fresh service database."""
    opened = Store(tmp_path / "db.sqlite")
    yield opened
    opened.close()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
def lti_key(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """Our tool's RSA key: the private PEM file for the service, the public PEM for the LMS."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    path = tmp_path_factory.mktemp("lti") / "tool.pem"
    path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    public = key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    return path, public.decode()


@pytest.fixture
def lms(lti_key: tuple[Path, str]) -> Iterator[StandInLms]:
    stand_in = StandInLms(callback_secret=CALLBACK_SECRET, client_id=LTI_CLIENT_ID, public_key_pem=lti_key[1]).start()
    yield stand_in
    stand_in.stop()
    assert stand_in.errors == [], "the stand-in LMS found problems in what the service sent"


@pytest.fixture
def other_lms(lti_key: tuple[Path, str]) -> Iterator[StandInLms]:
    """A second LMS, the receiver of a second client ("other") with its own secrets."""
    stand_in = StandInLms(callback_secret=OTHER_CALLBACK_SECRET, client_id=LTI_CLIENT_ID, public_key_pem=lti_key[1])
    yield stand_in.start()
    stand_in.stop()


def two_clients(lms: StandInLms, other_lms: StandInLms) -> str:
    """GRADER_CLIENTS for `lms` and `other`, each with its own secrets and token.

    Both may call back to both LMSs (think two courses on one LMS host), so only the callback
    secrets keep them apart.
    """
    origins = [lms.url, other_lms.url]
    return json.dumps({
        "lms": {"secret": CLIENT_SECRET, "callback_secret": CALLBACK_SECRET, "api_tokens": [API_TOKEN],
                "callback_origins": origins},
        "other": {"secret": OTHER_CLIENT_SECRET, "callback_secret": OTHER_CALLBACK_SECRET,
                  "api_tokens": [OTHER_API_TOKEN], "callback_origins": origins},
    })


@pytest.fixture
def start_service(
    tmp_path: Path, lms: StandInLms, lti_key: tuple[Path, str]
) -> Iterator[Callable[..., Service]]:
    """Start the service (as many times as a test needs, e.g. after a kill) with test settings."""
    started: list[Service] = []

    def start(database: Path | None = None, **settings: Any) -> Service:
        env = service_env(database or tmp_path / "service.db", {
            "lms": {
                "secret": CLIENT_SECRET,
                "callback_secret": CALLBACK_SECRET,
                "api_tokens": [API_TOKEN],
                "callback_origins": [lms.url],
                "lti": {"client_id": LTI_CLIENT_ID, "token_url": lms.token_url, "private_key_file": str(lti_key[0]),
                        "origins": [lms.url]},
            }
        })
        env |= {key.upper() if key.startswith(("GRADER_", "STANDIN_")) else f"GRADER_{key.upper()}": str(value)
                for key, value in settings.items()}
        return spawn_service(env, tmp_path, started)

    yield start
    for service in started:
        service.stop()


def service_env(database: Path, clients: dict[str, Any]) -> dict[str, str]:
    """The environment of a service on a free port of 127.0.0.1 that grades with the stand-in, quickly retrying."""
    return {
        **os.environ,
        "PYTHONPATH": str(REPO),
        "GRADER_HOST": "127.0.0.1",
        "GRADER_PORT": str(free_port()),
        "GRADER_DATABASE": str(database),
        "GRADER_LOG_LEVEL": "warning",
        "GRADER_CLIENTS": json.dumps(clients),
        "GRADER_ADMIN_TOKENS": json.dumps([ADMIN_TOKEN]),
        "GRADER_GRADE_FUNCTION": "tests.service.stand_in_grading:grade",
        "GRADER_GRADE_BACKEND": "process",
        "GRADER_UNSAFE_NO_SANDBOX": "1",
        "GRADER_POLL_INTERVAL_SECONDS": "0.05",
        "GRADER_DELIVERY_BACKOFF_BASE_SECONDS": "0.2",
        "GRADER_DELIVERY_BACKOFF_CAP_SECONDS": "2",
        "GRADER_DELIVERY_MAX_ATTEMPTS": "4",
        "GRADER_DELIVERY_TIMEOUT_SECONDS": "5",
    }


def spawn_service(env: dict[str, str], directory: Path, started: list[Service]) -> Service:
    """Run `python -m grader.service` with `env` (GRADER_PORT, GRADER_DATABASE, ...) until it answers /healthz."""
    port = env["GRADER_PORT"]
    log = directory / f"service-{port}.log"
    with open(log, "wb") as log_file:
        process = subprocess.Popen(
            [sys.executable, "-m", "grader.service"], cwd=REPO, env=env, stdout=log_file, stderr=subprocess.STDOUT
        )
    service = Service(f"http://127.0.0.1:{port}", process, Path(env["GRADER_DATABASE"]), log, httpx.Client(timeout=30))
    started.append(service)
    deadline = time.monotonic() + 30
    while True:
        if process.poll() is not None:
            raise RuntimeError(f"service exited with {process.returncode}:\n{log.read_text()}")
        try:
            if service.http.get(f"{service.url}/healthz").status_code == 200:
                return service
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError(f"service did not start:\n{log.read_text()}")
        time.sleep(0.1)


def submission(lms: StandInLms, *, lines: int = 3, lti: bool = False, callback: bool = True, **extra: Any) -> dict[str, Any]:
    """A JSON submission as the stand-in LMS sends it."""
    payload: dict[str, Any] = {
        "assignment": "regularization",
        "student_id": "student-1",
        "filename": "submission.py",
        "source": "x = 1\n" * lines,
    }
    if callback:
        payload["callback_url"] = f"{lms.url}/callback"
    if lti:
        payload["lti"] = {"lineitem_url": f"{lms.url}/lineitems/7?type=quiz", "user_id": "lti-user-1"}
    return payload | extra


OTHER_LTI_CLIENT_ID = "grader-tool-at-the-other-platform"
REGISTRATION_INVITE = "invite-of-the-other-platform-0123456789abcdef"


@pytest.fixture
def platform() -> Iterator[StandInPlatform]:
    """A stand-in LTI platform, registered (see `start_lti_service`) as client `lms`."""
    stand_in = StandInPlatform(client_id=LTI_CLIENT_ID).start()
    yield stand_in
    stand_in.stop()
    assert stand_in.errors == [], "the stand-in platform found problems in what the tool sent"


@pytest.fixture
def other_platform() -> Iterator[StandInPlatform]:
    """A second platform, registered as client `other`."""
    stand_in = StandInPlatform(client_id=OTHER_LTI_CLIENT_ID).start()
    yield stand_in
    stand_in.stop()


@pytest.fixture
def start_lti_service(
    start_service: Callable[..., Service], platform: StandInPlatform, other_platform: StandInPlatform,
    lti_key: tuple[Path, str],
) -> Callable[..., Service]:
    """Start the service as the LTI tool of `platform` (client `lms`) and `other_platform` (client `other`)."""

    def start(**settings: Any) -> Service:
        service = start_service(clients=json.dumps(lti_clients(platform, other_platform, lti_key[0])), **settings)
        platform.tool_url = other_platform.tool_url = service.url
        return service

    return start


def lti_clients(platform: StandInPlatform, other_platform: StandInPlatform, key_file: Path) -> dict[str, Any]:
    """GRADER_CLIENTS with `platform` as client `lms` and `other_platform` as client `other`, which is
    also invited to register the tool dynamically (with REGISTRATION_INVITE)."""
    return {
        "lms": {"secret": CLIENT_SECRET, "callback_secret": CALLBACK_SECRET, "api_tokens": [API_TOKEN],
                "lti": platform.registration(str(key_file))},
        "other": {"secret": OTHER_CLIENT_SECRET, "callback_secret": OTHER_CALLBACK_SECRET,
                  "api_tokens": [OTHER_API_TOKEN], "lti": other_platform.registration(str(key_file)),
                  "lti_registration": {"token": REGISTRATION_INVITE, "origins": [other_platform.url],
                                       "private_key_file": str(key_file)}},
    }


@pytest.fixture(scope="module")
def lti_stand_ins(tmp_path_factory, lti_key) -> Iterator[tuple[Service, StandInPlatform, StandInPlatform]]:
    """One service per test module (starting one takes seconds): the tool of `platform` (client `lms`)
    and `other_platform` (client `other`), as (service, platform, other_platform)."""
    platform = StandInPlatform(client_id=LTI_CLIENT_ID).start()
    other_platform = StandInPlatform(client_id=OTHER_LTI_CLIENT_ID).start()
    directory = tmp_path_factory.mktemp("lti-tool")
    started: list[Service] = []
    try:
        env = service_env(directory / "service.db", lti_clients(platform, other_platform, lti_key[0]))
        service = spawn_service(env, directory, started)
        platform.tool_url = other_platform.tool_url = service.url
        yield service, platform, other_platform
    finally:
        for service in started:
            service.stop()
        platform.stop()
        other_platform.stop()
