"""`grade FILE`'s early start against the real daemon: the run is kept only for the engine's own bundle."""

from __future__ import annotations

import json
import subprocess
import sys

import docker
import pytest

from grader import bundle_cache
from grader.engine import grade
from grader.sandbox import docker as docker_backend
from grader.sandbox.base import Limits
from grader.sandbox.docker_early import start_early
from grader.submission import Submission
from tests.conftest import CORRECT, ROOT

pytestmark = [pytest.mark.docker, pytest.mark.slow, pytest.mark.usefixtures("no_leftover_containers", "sandbox_image")]

SUBMISSION = Submission.from_path(CORRECT / "template_with_seed.py")


@pytest.fixture(autouse=True)
def _cache_home(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))


@pytest.fixture
def fresh_runs(monkeypatch) -> list[bytes]:
    """The bundles run in a fresh container of the SDK backend (the early run was not kept)."""
    bundles: list[bytes] = []
    original = docker_backend.DockerBackend.run

    def run(self, bundle, limits):
        bundles.append(bundle)
        return original(self, bundle, limits)

    monkeypatch.setattr(docker_backend.DockerBackend, "run", run)
    return bundles


def _grade_early(submission: Submission = SUBMISSION, limits: Limits = Limits()):
    early = start_early(submission.kind, submission.content, limits)
    assert early is not None
    try:
        return grade(submission, backend=early)
    finally:
        early.close()


def test_without_a_cache_the_started_container_gets_the_engines_bundle_and_the_cache_is_written(fresh_runs) -> None:
    report = _grade_early()
    assert report.score == report.max_score and report.backend == "docker", report.message
    assert fresh_runs == [] and bundle_cache.load("py", Limits()) is not None


def test_with_a_cache_the_bundle_sent_at_start_is_kept(fresh_runs) -> None:
    _grade_early()
    report = _grade_early()
    assert report.score == report.max_score, report.message
    assert fresh_runs == []


def test_a_stale_cache_is_not_trusted_the_engines_bundle_runs_and_is_cached(fresh_runs) -> None:
    _grade_early()
    path = bundle_cache.cache_path("py", Limits())
    stale = bundle_cache._members(path.read_bytes(), bundle_cache.CASE_MEMBERS)
    stale["__inputs__.npy"] = stale["__inputs__.npy"][:-8] + bytes(8)  # one input value changed
    path.write_bytes(bundle_cache._zip(stale))
    report = _grade_early()
    assert report.score == report.max_score, report.message
    assert len(fresh_runs) == 1 and bundle_cache.same_bundle(
        bundle_cache.add_submission(path.read_bytes(), SUBMISSION.content), fresh_runs[0])


def test_a_corrupt_cache_is_ignored_and_rewritten(fresh_runs) -> None:
    path = bundle_cache.cache_path("py", Limits())
    path.parent.mkdir(parents=True)
    path.write_bytes(b"PK\x03\x04 not really a zip")
    report = _grade_early()
    assert report.score == report.max_score and fresh_runs == []
    assert bundle_cache.load("py", Limits()) is not None


def test_other_limits_than_the_started_containers_run_afresh(fresh_runs) -> None:
    early = start_early(SUBMISSION.kind, SUBMISSION.content, Limits(wall_seconds=30))
    try:
        report = grade(SUBMISSION, backend=early, timeout=25)
    finally:
        early.close()
    assert report.score == report.max_score and len(fresh_runs) == 1


def test_a_started_container_that_is_not_used_is_removed(docker_client: docker.APIClient) -> None:
    early = start_early(SUBMISSION.kind, SUBMISSION.content, Limits())
    early.wait_started()
    assert docker_client.inspect_container(early.container)["State"]["Running"]
    early.close()
    with pytest.raises(docker.errors.NotFound):
        docker_client.inspect_container(early.container)


def test_the_early_container_has_the_sandbox_settings(docker_client: docker.APIClient) -> None:
    early = start_early(SUBMISSION.kind, SUBMISSION.content, Limits(memory_bytes=300 * 1024 * 1024, pids=40))
    early.wait_started()
    try:
        config = docker_client.inspect_container(early.container)
    finally:
        early.close()
    host = config["HostConfig"]
    assert host["NetworkMode"] == "none" and host["ReadonlyRootfs"] is True and host["CapDrop"] == ["ALL"]
    assert host["Memory"] == host["MemorySwap"] == 300 * 1024 * 1024 and host["PidsLimit"] == 40
    assert config["Config"]["User"] == "10001:10001" and host["IpcMode"] == "none"


_WATCHED = ("click", "numpy", "pydantic", "pytest", "docker", "requests")
_CLI_WATCHING_START = f"""
import json, sys
import grader.sandbox.docker_early as early
original = early.EarlyRun.begin
def begin(self, image):
    print("LOADED AT START " + json.dumps([m for m in {_WATCHED!r} if m in sys.modules]), file=sys.stderr)
    return original(self, image)
early.EarlyRun.begin = begin
import atexit
atexit.register(lambda: print("LOADED AT EXIT " + json.dumps([m for m in ("docker", "requests") if m in sys.modules]),
                              file=sys.stderr))
from grader.launch import run
run()
"""


def test_grade_command_starts_the_container_before_loading_the_grading_code(tmp_path, docker_client) -> None:
    from grader.sandbox.docker_config import LABEL, OWNER_LABEL

    for _ in range(2):  # the second run has the case part cached
        command = subprocess.Popen(
            [sys.executable, "-c", _CLI_WATCHING_START, str(CORRECT / "template_with_seed.py"),
             "--report", str(tmp_path / "r.json")],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT,
        )
        stdout, stderr = command.communicate(timeout=120)
        completed = subprocess.CompletedProcess(command.args, command.returncode, stdout, stderr)
        assert completed.returncode == 0, completed.stderr
        assert "80 / 80" in completed.stdout
        owned = docker_client.containers(all=True, filters={"label": LABEL})
        assert [c for c in owned if c["Labels"].get(OWNER_LABEL, "").split(":")[1:2] == [str(command.pid)]] == []
        line = next(line for line in completed.stderr.splitlines() if line.startswith("LOADED AT START "))
        assert json.loads(line.removeprefix("LOADED AT START ")) == []
        line = next(line for line in completed.stderr.splitlines() if line.startswith("LOADED AT EXIT "))
        assert json.loads(line.removeprefix("LOADED AT EXIT ")) == []  # the Docker SDK is never needed
    assert bundle_cache.load("py", Limits()) is not None


def test_a_container_started_before_parsing_is_removed_when_the_command_grades_elsewhere(tmp_path, docker_client):
    from click.testing import CliRunner

    from grader.cli import main

    early = start_early(SUBMISSION.kind, SUBMISSION.content, Limits())
    result = CliRunner().invoke(main, [str(CORRECT / "template_with_seed.py"), "--unsafe-no-sandbox",
                                       "--report", str(tmp_path / "r.json")], obj=early)
    assert result.exit_code == 0, result.output
    assert json.loads((tmp_path / "r.json").read_text())["backend"] == "process"
    with pytest.raises(docker.errors.NotFound):
        docker_client.inspect_container(early.container)


def test_an_endless_run_is_stopped_at_the_deadline_and_its_container_removed(fresh_runs) -> None:
    source = "".join(f"def {name}(*args, **kwargs):\n    while True:\n        pass\n" for name in (
        "compute_cost_with_regularization", "backward_propagation_with_regularization",
        "forward_propagation_with_dropout", "backward_propagation_with_dropout"))
    endless = Submission(name="endless.py", content=source.encode())
    early = start_early(endless.kind, endless.content, Limits(wall_seconds=3))
    try:
        report = grade(endless, backend=early, timeout=3)
    finally:
        early.close()
    assert report.status == "timeout" and report.score == 0 and fresh_runs == [], report.message


def test_a_bundle_larger_than_the_socket_takes_at_start_is_sent_in_full(fresh_runs) -> None:
    padded = Submission(name="padded.py", content=SUBMISSION.content + b"#" * (1024 * 1024) + b"\n")
    _grade_early(padded)
    early = start_early(padded.kind, padded.content, Limits())
    early.wait_started()
    assert 0 < early._sent < len(early._speculated)
    try:
        report = grade(padded, backend=early)
    finally:
        early.close()
    assert report.score == report.max_score and fresh_runs == [], report.message


def test_containers_of_dead_graders_are_reaped_after_an_early_run(sandbox_image, docker_client) -> None:
    import socket as socket_module

    from grader.sandbox.docker_config import LABEL, OWNER_LABEL

    dead_owner = f"{socket_module.gethostname()}:999999999:0"
    stale = docker_client.create_container(
        sandbox_image, ["true"], labels={LABEL: "1", OWNER_LABEL: dead_owner}, network_disabled=True
    )["Id"]
    try:
        _grade_early()
        with pytest.raises(docker.errors.NotFound):
            docker_client.inspect_container(stale)
    finally:
        try:
            docker_client.remove_container(stale, force=True)
        except docker.errors.NotFound:
            pass


def test_a_failed_start_grades_in_a_fresh_container(fresh_runs, monkeypatch) -> None:
    def start(self, name):
        raise OSError("the daemon went away")

    monkeypatch.setattr("grader.sandbox.engine_api.Engine.start", start)
    report = _grade_early()
    assert report.score == report.max_score and len(fresh_runs) == 1, report.message
