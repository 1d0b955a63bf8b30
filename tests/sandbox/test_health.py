"""The sandbox gate: one log line per outage and per return, waiting bounded or until the sandbox answers."""

from __future__ import annotations

import logging
import threading

from grader.errors import SandboxOutage
from grader.sandbox.health import SandboxGate


class _Switch:
    def __init__(self) -> None:
        self.up = threading.Event()
        self.probes = 0

    def check(self) -> None:
        self.probes += 1
        if not self.up.is_set():
            raise SandboxOutage("the daemon does not answer")


def test_waiters_resume_when_a_probe_succeeds_and_each_change_is_logged_once(caplog):
    switch = _Switch()
    gate = SandboxGate(switch.check, first_pause=0.01, max_pause=0.05)
    caplog.set_level(logging.WARNING, logger="grader.sandbox.health")
    for _ in range(5):
        gate.outage(SandboxOutage("the daemon does not answer"))
    threading.Timer(0.3, switch.up.set).start()
    waiters = [threading.Thread(target=gate.wait_until_up) for _ in range(4)]
    for waiter in waiters:
        waiter.start()
    for waiter in waiters:
        waiter.join(5)
    assert not any(waiter.is_alive() for waiter in waiters)
    assert gate.state.up and gate.state.outages == 1
    messages = [record.getMessage() for record in caplog.records]
    assert len(messages) == 2
    assert messages[0].startswith("sandbox down: the daemon does not answer")
    assert messages[1].startswith("sandbox answers again after")


def test_probes_back_off_up_to_the_longest_pause():
    switch = _Switch()
    gate = SandboxGate(switch.check, first_pause=0.01, max_pause=0.1)
    gate.outage(SandboxOutage("down"))
    assert gate.wait_until_up(timeout=1.0) is False
    # 0.01, 0.02, 0.04, 0.08, then every 0.1 s: about 12 probes in a second, not hundreds.
    assert 5 <= switch.probes <= 15
    assert not gate.state.up


def test_a_stopped_waiter_returns_while_the_sandbox_is_down():
    gate = SandboxGate(_Switch().check, first_pause=0.01, max_pause=0.05)
    gate.outage(SandboxOutage("down"))
    stop = threading.Event()
    stop.set()
    assert gate.wait_until_up(stop=stop) is False


def test_a_failed_start_up_check_opens_the_gate():
    gate = SandboxGate(_Switch().check)
    assert gate.check_now() is False
    assert gate.state.outages == 1 and not gate.state.up


def test_a_probe_that_raises_something_else_backs_off_too():
    probes = []

    def check() -> None:
        probes.append(1)
        raise RuntimeError("the backend cannot start here")

    gate = SandboxGate(check, first_pause=0.01, max_pause=0.1)
    gate.outage(SandboxOutage("down"))
    assert gate.wait_until_up(timeout=1.0) is False
    assert 5 <= len(probes) <= 15
