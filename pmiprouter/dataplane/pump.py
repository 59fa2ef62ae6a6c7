"""The packet pump: one thread that owns the data-plane descriptors and polls them in a tight loop.

Why not the Twisted reactor: the reactor spends several microseconds of Python per readable
event (log context, ``doRead`` dispatch, its own bookkeeping), which is as much as forwarding
a packet costs, and every packet of the data plane would also queue behind the control plane's
timers and signalling. Here the loop is ``epoll.poll`` then one call per ready descriptor.
See docs/adr/0008-dataplane-pump.md.

Thread contract: descriptors are added, removed and closed only on the pump thread, so a drain
never runs on a closed (or reused) descriptor. Other threads hand such changes over with
:meth:`Pump.call`, which queues the function and wakes the loop through a pipe. Forwarding
tables need no hand-over: the control side swaps ``Forwarder.tables`` in one assignment.
"""

from __future__ import annotations

import collections
import logging
import os
import select
import sys
import threading
import time
from typing import Callable

log = logging.getLogger(__name__)

#: Seconds between two logged failures of one descriptor's handler.
LOG_INTERVAL = 5.0

#: The interpreter's thread switch interval once a pump runs (CPython's default: 5 ms). A
#: thread waiting for the GIL gets it when the holder blocks in a system call, or else when
#: this interval has passed. The pump and the reactor share the GIL: at 5 ms, a reactor busy
#: in Python right after a registration (the MAG's RA, DHCP and routes of the MN) held up
#: the MN's first forwarded packets by up to 5 ms (seen in the lab: 3.4 ms), and a forwarding
#: burst can delay signalling as long. A shorter slice bounds both waits; the cost is a few
#: more switches per second when both threads are busy at once.
SWITCH_INTERVAL_S = 0.0005


class Pump:
    """A thread running ready handlers of registered descriptors; see the module docstring."""

    def __init__(self, name: str = 'pmip-dataplane') -> None:
        self.name = name
        self._epoll = select.epoll()
        self._handlers: dict[int, Callable[[], None]] = {}
        self._calls: collections.deque[Callable[[], None]] = collections.deque()
        self._wake_r, self._wake_w = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
        self._epoll.register(self._wake_r, select.EPOLLIN)
        self._stopping = False
        self._last_log: dict[int, float] = {}
        self._thread: threading.Thread | None = None
        self.failures = 0

    # -- any thread ---------------------------------------------------------------------------

    def start(self) -> None:
        """Start the thread (daemon: a process that never calls :meth:`stop` can still exit).

        Also shortens the process's thread switch interval (see SWITCH_INTERVAL_S), never
        lengthens it.
        """
        if sys.getswitchinterval() > SWITCH_INTERVAL_S:
            sys.setswitchinterval(SWITCH_INTERVAL_S)
        self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)
        self._thread.start()

    def call(self, function: Callable[[], None]) -> None:
        """Run ``function`` on the pump thread, after the current batch (now, if not running)."""
        if self._thread is None or not self._thread.is_alive():
            function()
            return
        self._calls.append(function)
        self._wake()

    def stop(self, timeout: float = 5.0) -> None:
        """Stop the loop, run what was queued, join the thread and release the epoll and pipe."""
        if self._epoll.closed:
            return
        self._stopping = True
        thread = self._thread
        if thread is not None and thread.is_alive() and thread is not threading.current_thread():
            self._wake()
            thread.join(timeout)
            if thread.is_alive():
                log.error('%s did not stop within %.1f s', self.name, timeout)
                return
        self._run_calls()
        self._epoll.close()
        os.close(self._wake_r)
        os.close(self._wake_w)

    def _wake(self) -> None:
        try:
            os.write(self._wake_w, b'\0')
        except BlockingIOError:
            pass  # the pipe is full of wake-ups already: the loop will wake anyway

    # -- pump thread (or any thread once the loop has stopped) --------------------------------

    def add(self, fd: int, handler: Callable[[], None]) -> None:
        """Call ``handler`` whenever ``fd`` is readable."""
        if fd in self._handlers:
            self._epoll.modify(fd, select.EPOLLIN)
        else:
            self._epoll.register(fd, select.EPOLLIN)
        self._handlers[fd] = handler

    def remove(self, fd: int) -> None:
        """Stop watching ``fd`` (before it is closed)."""
        if self._handlers.pop(fd, None) is not None and not self._epoll.closed:
            self._epoll.unregister(fd)
        self._last_log.pop(fd, None)

    def watched(self) -> frozenset[int]:
        """The descriptors being watched."""
        return frozenset(self._handlers)

    def _run(self) -> None:
        poll = self._epoll.poll
        handlers = self._handlers
        wake = self._wake_r
        while not self._stopping:
            try:
                events = poll()
            except InterruptedError:
                continue
            for fd, _mask in events:
                if fd == wake:
                    self._drain_wake()
                    continue
                handler = handlers.get(fd)
                if handler is None:
                    continue
                try:
                    handler()
                except Exception:  # noqa: BLE001 - one bad packet or fd must not stop forwarding
                    self._failed(fd)
            if self._calls:
                self._run_calls()

    def _drain_wake(self) -> None:
        try:
            while os.read(self._wake_r, 512):
                pass
        except BlockingIOError:
            return

    def _run_calls(self) -> None:
        while self._calls:
            function = self._calls.popleft()
            try:
                function()
            except Exception:  # noqa: BLE001 - a failed change must not kill the pump
                self.failures += 1
                log.exception('%s: queued call failed', self.name)

    def _failed(self, fd: int) -> None:
        """Count a handler failure and log it, at most once per LOG_INTERVAL per descriptor."""
        self.failures += 1
        now = time.monotonic()
        if now - self._last_log.get(fd, -LOG_INTERVAL) >= LOG_INTERVAL:
            self._last_log[fd] = now
            log.exception('%s: handler of fd %d failed', self.name, fd)
