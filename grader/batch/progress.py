"""Live progress of a batch: a rich progress bar on a terminal, periodic plain lines in CI logs.

`Tally` is the state (pure counting, rate and ETA); the two displays only render it.
"""

from __future__ import annotations

import dataclasses
import sys
import time
from typing import Protocol, TextIO

from rich.console import Console
from rich.progress import BarColumn, Progress, TaskID, TextColumn, TimeElapsedColumn

LOG_INTERVAL_SECONDS = 10.0


@dataclasses.dataclass
class Tally:
    """How far a batch is: students to grade in this run, done, failed, and what was not graded."""

    total: int
    """Students whose submission is graded in this run (not resumed, not copied)."""
    resumed: int = 0
    """Students whose report from an earlier run is still valid."""
    copied: int = 0
    """Students whose identical file was graded for someone else (this run or before)."""
    missing: int = 0
    """Students with nothing handed in."""
    conflicts: int = 0
    """Students whose id several uploaders' files claim: none of them is graded."""
    done: int = 0
    failed: int = 0
    """Done students whose report status is not `graded` (error, timeout, rejected, ...)."""
    started: float = dataclasses.field(default_factory=time.monotonic)

    @property
    def remaining(self) -> int:
        return self.total - self.done

    def record(self, students: int, failed: bool) -> None:
        self.done += students
        self.failed += students if failed else 0

    def rate(self, now: float) -> float:
        """Students per minute since the start (0 before the first one is done)."""
        elapsed = now - self.started
        return 60.0 * self.done / elapsed if elapsed > 0 and self.done else 0.0

    def eta(self, now: float) -> float | None:
        """Seconds until done at the current rate; None while there is no rate yet."""
        rate = self.rate(now)
        return 60.0 * self.remaining / rate if rate else None

    def line(self, now: float) -> str:
        """One plain line: the whole state, for logs and the end of a run."""
        eta = self.eta(now)
        parts = [
            f"{self.done}/{self.total} graded",
            f"{self.failed} failed",
            f"{self.remaining} remaining",
            f"{self.rate(now):.0f}/min",
            f"ETA {_clock(eta)}" if eta is not None else "ETA -",
        ]
        extra = [f"{count} {label}" for count, label in (
            (self.resumed, "already graded"), (self.copied, "identical to another"), (self.missing, "missing"),
            (self.conflicts, "in conflict")) if count]
        return ", ".join(parts) + (f" ({', '.join(extra)})" if extra else "")


def _clock(seconds: float) -> str:
    minutes, secs = divmod(int(round(seconds)), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


class ProgressDisplay(Protocol):
    """Something that shows a Tally as it changes."""

    def start(self, tally: Tally) -> None: ...

    def update(self, tally: Tally) -> None: ...

    def note(self, message: str) -> None:
        """Show a one-off message (e.g. waiting for the sandbox) without disturbing the tally."""
        ...

    def finish(self, tally: Tally) -> None: ...


class LogProgress:
    """Plain lines at most every `interval` seconds, plus the first and the last (CI logs)."""

    def __init__(self, stream: TextIO | None = None, interval: float = LOG_INTERVAL_SECONDS) -> None:
        self.stream = stream or sys.stderr
        self.interval = interval
        self._last = 0.0

    def _print(self, tally: Tally, prefix: str) -> None:
        self._last = time.monotonic()
        print(f"{prefix}{tally.line(self._last)}", file=self.stream, flush=True)

    def start(self, tally: Tally) -> None:
        self._print(tally, "batch: ")

    def update(self, tally: Tally) -> None:
        if time.monotonic() - self._last >= self.interval:
            self._print(tally, "batch: ")

    def note(self, message: str) -> None:
        print(f"batch: {message}", file=self.stream, flush=True)

    def finish(self, tally: Tally) -> None:
        self._print(tally, "batch finished: " if tally.remaining == 0 else "batch stopped: ")


class RichProgress:
    """A live bar with done/failed/remaining, rate and ETA, on an interactive terminal."""

    def __init__(self, console: Console) -> None:
        self._progress = Progress(
            TextColumn("[bold]grading"),
            BarColumn(),
            TextColumn("{task.completed}/{task.total}"),
            TextColumn("[red]{task.fields[failed]} failed[/]"),
            TextColumn("{task.fields[remaining]} left"),
            TextColumn("{task.fields[rate]}"),
            TextColumn("ETA {task.fields[eta]}"),
            TimeElapsedColumn(),
            console=console,
            transient=False,
        )
        self._task: TaskID | None = None

    def _fields(self, tally: Tally) -> dict[str, object]:
        now = time.monotonic()
        eta = tally.eta(now)
        return {"failed": tally.failed, "remaining": tally.remaining, "rate": f"{tally.rate(now):.0f}/min",
                "eta": _clock(eta) if eta is not None else "-"}

    def start(self, tally: Tally) -> None:
        self._progress.start()
        self._task = self._progress.add_task("grading", total=tally.total, completed=tally.done, **self._fields(tally))

    def update(self, tally: Tally) -> None:
        assert self._task is not None
        self._progress.update(self._task, completed=tally.done, **self._fields(tally))

    def note(self, message: str) -> None:
        self._progress.console.print(message, highlight=False)

    def finish(self, tally: Tally) -> None:
        self.update(tally)
        self._progress.stop()
        self._progress.console.print(tally.line(time.monotonic()), highlight=False)


def progress_for(console: Console) -> ProgressDisplay:
    """The rich bar when `console` is a terminal, plain periodic lines otherwise."""
    if console.is_terminal:
        return RichProgress(console)
    return LogProgress(console.file)
