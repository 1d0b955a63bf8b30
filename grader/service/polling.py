"""The claim loop shared by grading workers and the delivery sender."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")
log = logging.getLogger(__name__)


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
