"""What the service's background loops share: their threads and stop/wake signals, and the claim loop."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")
log = logging.getLogger(__name__)


class Background:
    """Daemon threads that loop until `stop`; `wake` cuts an idle loop's wait short."""

    def __init__(self) -> None:
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._threads: list[threading.Thread] = []

    def _spawn(self, target: Callable[[], None], name: str) -> None:
        thread = threading.Thread(target=target, name=name, daemon=True)
        thread.start()
        self._threads.append(thread)

    def wake(self) -> None:
        """Look for work now instead of at the next poll."""
        self._wake.set()

    def stop(self, timeout: float) -> None:
        """Ask the loops to finish what they hold and wait up to `timeout` for each thread."""
        self._stop.set()
        self._wake.set()
        for thread in self._threads:
            thread.join(timeout)


def claim_loop(
    stop: threading.Event,
    wake: threading.Event,
    poll_seconds: float,
    claim: Callable[[], T | None],
    handle: Callable[[T], None],
    what: str,
) -> None:
    """Claim and handle items until `stop` is set; when idle, wait for `wake` or the poll interval.

    A failure is logged and the loop goes on: the item's lease runs out and it is
    claimed again (by this process or another), so nothing is lost.
    """
    while not stop.is_set():
        try:
            item = claim()
        except Exception:
            log.exception("could not claim a %s", what)
            item = None
        if item is None:
            wake.wait(poll_seconds)
            wake.clear()
            continue
        try:
            handle(item)
        except Exception:
            log.exception("%s %s could not be recorded", what, getattr(item, "id", "?"))
