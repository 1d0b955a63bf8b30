"""Atomic writes replace regular files whole and never rename over special files."""

import os
import stat
import threading

from grader.atomic import write_text


def test_a_regular_file_is_replaced_whole(tmp_path):
    target = tmp_path / "report.json"
    target.write_text("old")
    write_text(target, "new")
    assert target.read_text() == "new"
    assert [path.name for path in tmp_path.iterdir()] == ["report.json"]


def test_a_pipe_is_written_to_not_replaced(tmp_path):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    received = []
    reader = threading.Thread(target=lambda: received.append(fifo.read_text()))
    reader.start()
    write_text(fifo, "report")
    reader.join(timeout=5)
    assert received == ["report"]
    assert stat.S_ISFIFO(fifo.stat().st_mode)
