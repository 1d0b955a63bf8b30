"""Progress: the tally's arithmetic, and plain lines instead of a bar when not on a terminal."""

from __future__ import annotations

import io

from rich.console import Console

from grader.batch.progress import LogProgress, RichProgress, Tally, progress_for


def test_rate_and_eta_follow_from_done_and_elapsed_time():
    tally = Tally(total=100, started=0.0)
    tally.record(30, failed=False)
    tally.record(10, failed=True)
    assert (tally.done, tally.failed, tally.remaining) == (40, 10, 60)
    assert tally.rate(now=60.0) == 40.0
    assert tally.eta(now=60.0) == 90.0


def test_no_eta_before_the_first_student_is_done():
    tally = Tally(total=5, started=0.0)
    assert tally.eta(now=10.0) is None
    assert "ETA -" in tally.line(now=10.0)


def test_line_names_done_failed_remaining_rate_eta_and_what_was_not_graded():
    tally = Tally(total=10, resumed=3, copied=2, missing=1, started=0.0)
    tally.record(4, failed=True)
    assert tally.line(now=120.0) == ("4/10 graded, 4 failed, 6 remaining, 2/min, ETA 3:00 "
                                     "(3 already graded, 2 identical to another, 1 missing)")


def test_conflicts_are_counted_apart_from_missing_students():
    tally = Tally(total=4, missing=1, conflicts=2, started=0.0)
    assert tally.line(now=1.0).endswith("(1 missing, 2 in conflict)")


def test_not_on_a_terminal_progress_is_plain_log_lines():
    stream = io.StringIO()
    display = progress_for(Console(file=stream, force_terminal=False))
    assert isinstance(display, LogProgress)
    tally = Tally(total=2)
    display.start(tally)
    tally.record(2, failed=False)
    display.finish(tally)
    lines = stream.getvalue().splitlines()
    assert lines[0].startswith("batch: 0/2 graded")
    assert lines[-1].startswith("batch finished: 2/2 graded, 0 failed, 0 remaining")
    assert "\x1b" not in stream.getvalue()


def test_log_lines_are_rate_limited_between_start_and_finish():
    stream = io.StringIO()
    display = LogProgress(stream, interval=3600)
    tally = Tally(total=50)
    display.start(tally)
    for _ in range(50):
        tally.record(1, failed=False)
        display.update(tally)
    display.finish(tally)
    assert len(stream.getvalue().splitlines()) == 2


def test_on_a_terminal_progress_is_a_live_bar():
    assert isinstance(progress_for(Console(file=io.StringIO(), force_terminal=True)), RichProgress)


def test_a_note_is_one_plain_line_in_logs():
    stream = io.StringIO()
    LogProgress(stream, interval=3600).note("still waiting for the sandbox: 0:10 of 5:00")
    assert stream.getvalue() == "batch: still waiting for the sandbox: 0:10 of 5:00\n"
