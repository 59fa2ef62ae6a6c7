"""The packet pump thread: handlers run on it, failures are contained, changes are handed over, stop is clean.

These use a real thread; they wait on events with a timeout (a hang fails the test), never sleep.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator

import pytest

from pmiprouter.dataplane.pump import Pump

WAIT = 10.0


@pytest.fixture
def pump() -> Iterator[Pump]:
    """A started pump, stopped afterwards."""
    p = Pump('test-pump')
    p.start()
    yield p
    p.stop()


@pytest.fixture
def pipe() -> Iterator[tuple[int, int]]:
    """A non-blocking pipe: (read end, write end)."""
    r, w = os.pipe2(os.O_NONBLOCK)
    yield r, w
    for fd in (r, w):
        try:
            os.close(fd)
        except OSError:
            pass  # closed by the test on purpose


def test_handler_runs_on_the_pump_thread(pump: Pump, pipe: tuple[int, int]) -> None:
    """A readable descriptor's handler is called, on the pump's own thread."""
    seen = threading.Event()
    threads: list[str] = []

    def drain() -> None:
        os.read(pipe[0], 100)
        threads.append(threading.current_thread().name)
        seen.set()

    pump.call(lambda: pump.add(pipe[0], drain))
    os.write(pipe[1], b'x')
    assert seen.wait(WAIT)
    assert threads == ['test-pump']


def test_failing_handler_does_not_stop_the_others(pump: Pump, pipe: tuple[int, int]) -> None:
    """An exception in one handler is counted; the loop keeps serving every descriptor."""
    r2, w2 = os.pipe2(os.O_NONBLOCK)
    good = threading.Event()

    def bad() -> None:
        os.read(pipe[0], 100)
        raise ValueError('malformed packet')

    def fine() -> None:
        os.read(r2, 100)
        good.set()

    try:
        pump.call(lambda: (pump.add(pipe[0], bad), pump.add(r2, fine)))
        os.write(pipe[1], b'x')
        os.write(pipe[1], b'y')
        os.write(w2, b'z')
        assert good.wait(WAIT)
        done = threading.Event()
        pump.call(done.set)  # runs after the batch that served the descriptors
        assert done.wait(WAIT)
        assert pump.failures >= 1
    finally:
        os.close(r2)
        os.close(w2)


def test_remove_and_close_on_the_pump_thread(pump: Pump, pipe: tuple[int, int]) -> None:
    """A descriptor removed and closed through call() is no longer watched."""
    closed = threading.Event()
    pump.call(lambda: pump.add(pipe[0], lambda: os.read(pipe[0], 100)))

    def remove_and_close() -> None:
        pump.remove(pipe[0])
        os.close(pipe[0])
        closed.set()

    pump.call(remove_and_close)
    assert closed.wait(WAIT)
    assert pipe[0] not in pump.watched()


def test_stop_joins_runs_pending_calls_and_is_idempotent(pipe: tuple[int, int]) -> None:
    """stop() ends the thread, runs what was queued, and may be called twice."""
    p = Pump('test-pump-stop')
    p.start()
    ran: list[str] = []
    p.call(lambda: ran.append('queued'))
    p.stop()
    assert not any(t.name == 'test-pump-stop' for t in threading.enumerate())
    assert ran == ['queued']
    p.stop()
    p.call(lambda: ran.append('after stop'))  # runs inline once the thread is gone
    assert ran == ['queued', 'after stop']


def test_call_without_thread_runs_inline() -> None:
    """Before start() (no forwarding thread yet) a call runs at once on the caller's thread."""
    p = Pump('test-pump-idle')
    ran: list[str] = []
    p.call(lambda: ran.append(threading.current_thread().name))
    p.stop()
    assert ran == [threading.current_thread().name]


def test_starting_shortens_the_switch_interval_never_lengthens_it() -> None:
    """The pump and the reactor share the GIL: a waiting thread gets it within SWITCH_INTERVAL_S."""
    import sys

    from pmiprouter.dataplane.pump import SWITCH_INTERVAL_S

    before = sys.getswitchinterval()
    try:
        for start, expected in ((0.005, SWITCH_INTERVAL_S), (SWITCH_INTERVAL_S / 2, SWITCH_INTERVAL_S / 2)):
            sys.setswitchinterval(start)
            pump = Pump()
            pump.start()
            pump.stop()
            assert sys.getswitchinterval() == pytest.approx(expected)
    finally:
        sys.setswitchinterval(before)
