"""The batch on the Docker sandbox: the same reports as the local process backend, no container left."""

from __future__ import annotations

from pathlib import Path

import pytest

from grader.batch.run import grade_batch
from grader.sandbox.docker import LABEL, OWNER_LABEL
from tests.batch.conftest import BROKEN, correct, mistaken, write_tree

pytestmark = [pytest.mark.slow, pytest.mark.docker]


def test_docker_batch_grades_like_the_process_backend_and_leaves_no_container(
    tmp_path, docker_client, sandbox_image,
):
    source = write_tree(tmp_path / "in", {"alice.py": correct(), "bob.py": correct(), "carol.py": mistaken(),
                                          "dave.py": BROKEN, "erin/solution.py": correct("erin")})
    in_docker = grade_batch(source, tmp_path / "docker", jobs=2, backend="docker")
    local = grade_batch(source, tmp_path / "process", jobs=2, backend="process")
    assert {student: report.backend for student, report in in_docker.reports.items()} == dict.fromkeys(
        local.reports, "docker")
    assert {student: (report.status, report.score) for student, report in in_docker.reports.items()} == {
        student: (report.status, report.score) for student, report in local.reports.items()}
    assert in_docker.graded == 4
    # Other tests may be running sandboxes now; none may belong to a process that is gone (our workers).
    orphans = [container["Id"][:12] for container in docker_client.containers(all=True, filters={"label": LABEL})
               if not Path(f"/proc/{container['Labels'][OWNER_LABEL].split(':')[1]}").exists()]
    assert orphans == []
