"""Runs data-plane changes off the reactor thread, one at a time, in order (design.md).

One worker thread owns the backend (pyroute2 sockets are not to be shared across threads,
and netlink calls block); results return to the reactor thread as Deferreds. `Inline` does
the same work synchronously, for the memory backend and for tests driven by task.Clock.

A burst's changes (the registrations of one read from the MH socket) go as one batch: one job
on the thread, one result back, instead of a queue hand-over and a reactor wake-up each.
"""

from __future__ import annotations

import time
from typing import Protocol

from twisted.internet.defer import Deferred, fail, succeed
from twisted.internet.threads import deferToThreadPool
from twisted.logger import Logger
from twisted.python.threadpool import ThreadPool

from pmiprouter.core.actions import ApplyDataplane
from pmiprouter.dataplane.interface import Dataplane


def apply_changes(dataplane: Dataplane, change: ApplyDataplane) -> None:
    """Tunnels first, then routes (replaced in place: an atomic move at handover), then removals."""
    for tunnel in change.ensure_tunnels:
        dataplane.ensure_tunnel(tunnel)
    for route in change.ensure_routes:
        dataplane.ensure_mn_routes(route)
    for route in change.remove_routes:
        dataplane.remove_mn_routes(route)
    for tunnel in change.remove_tunnels:
        dataplane.remove_tunnel(tunnel)


Outcome = dict[int, str]  # why the change at each index failed (usually empty: all applied)


def apply_batch(dataplane: Dataplane, changes: list[ApplyDataplane]) -> Outcome:
    """Apply each change in order; one that fails does not stop the others (each has its own ticket).
    A backend that talks to the kernel gets the routes and rules of them all as one transaction."""
    failed: Outcome = {}
    if not getattr(dataplane, 'sends_batches', False) or len(changes) == 1:
        for index, change in enumerate(changes):
            try:
                apply_changes(dataplane, change)
            except Exception as exc:  # reported to the engine as DataplaneFailed for this ticket
                failed[index] = _reason(exc)
        return failed
    with dataplane.batched() as held:  # type: ignore[attr-defined]
        for index, change in enumerate(changes):
            held.change = index
            try:
                apply_changes(dataplane, change)
            except Exception as exc:
                failed[index] = _reason(exc)
    for index, error in held.failures.items():
        failed.setdefault(index, _reason(error))
    return failed


def _reason(exc: BaseException) -> str:
    return f'{type(exc).__name__}: {exc}'


class DataplaneExecutor(Protocol):
    def apply(self, change: ApplyDataplane) -> Deferred[None]: ...

    def apply_batch(self, changes: list[ApplyDataplane]) -> Deferred[Outcome]: ...

    def stop(self) -> None: ...


class Inline:
    """Apply on the calling thread (memory backend, tests)."""

    def __init__(self, dataplane: Dataplane) -> None:
        self.dataplane = dataplane

    def apply(self, change: ApplyDataplane) -> Deferred[None]:
        try:
            apply_changes(self.dataplane, change)
        except Exception as exc:  # reported to the engine as DataplaneFailed
            return fail(exc)
        return succeed(None)

    def apply_batch(self, changes: list[ApplyDataplane]) -> Deferred[Outcome]:
        return succeed(apply_batch(self.dataplane, changes))

    def stop(self) -> None:
        self.dataplane.close()


class Worker:
    """Apply on one dedicated thread (kernel and userspace backends), or inline when it is cheap.

    A change that only moves routes and rules between tunnels the backend already holds does no
    blocking call but one netlink round trip (rtnl_batch, ~0.3 ms) and never touches pyroute2;
    handing it to the thread would cost more than the work (a queue, a GIL hand-over, a wake-up
    of the reactor), and the LMA's PBA waits for it. Such a change runs on the reactor thread
    when nothing is queued on the worker, so changes still apply one at a time and in order.
    """

    log = Logger()
    timing = False  # log where each change's time goes (the daemon's debug level: set_log_level)

    def __init__(self, reactor: object, dataplane: Dataplane) -> None:
        self.reactor = reactor
        self.dataplane = dataplane
        self.pool = ThreadPool(minthreads=1, maxthreads=1, name='dataplane')
        self.pool.start()
        self.queued = 0  # jobs handed to the thread and not finished (reactor thread only)
        self.inline_changes = 0

    def light(self, change: ApplyDataplane) -> bool:
        """True when `change` needs no device created or deleted (routes and rules only)."""
        holds = getattr(self.dataplane, 'holds_tunnel', None)
        return holds is not None and not change.remove_tunnels and all(holds(t) for t in change.ensure_tunnels)

    def apply(self, change: ApplyDataplane) -> Deferred[None]:
        if self.queued == 0 and self.light(change):
            return self._apply_inline(change)
        queued = time.perf_counter()
        times: list[float] = []

        def timed() -> None:
            times.append(time.perf_counter())
            apply_changes(self.dataplane, change)
            times.append(time.perf_counter())

        def trace(result: object) -> object:
            # Where a change's time goes: waiting for the thread, the work, the way back.
            if len(times) == 2:
                done = time.perf_counter()
                self._later('dataplane-change ticket={ticket} wait_ms={wait:.2f} work_ms={work:.2f} back_ms={back:.2f}',
                            ticket=change.ticket, wait=(times[0] - queued) * 1e3, work=(times[1] - times[0]) * 1e3,
                            back=(done - times[1]) * 1e3)
            return result

        return self._on_thread(timed).addBoth(trace)  # type: ignore[return-value]

    def apply_batch(self, changes: list[ApplyDataplane]) -> Deferred[Outcome]:
        """A burst's changes: on this thread when all are light and nothing is queued, else one job."""
        light = self.light
        if self.queued == 0 and all(light(change) for change in changes):
            self.inline_changes += len(changes)
            return succeed(apply_batch(self.dataplane, changes))
        return self._on_thread(apply_batch, self.dataplane, changes)  # type: ignore[return-value]

    def _apply_inline(self, change: ApplyDataplane) -> Deferred[None]:
        start = time.perf_counter()
        try:
            apply_changes(self.dataplane, change)
        except Exception as exc:  # reported to the engine as DataplaneFailed
            return fail(exc)
        finally:
            self.inline_changes += 1
            self._later('dataplane-change ticket={ticket} inline work_ms={work:.2f}', ticket=change.ticket,
                        work=(time.perf_counter() - start) * 1e3)
        return succeed(None)

    def _later(self, text: str, **fields: object) -> None:
        """Log after the change's result has been acted on (the PBA waits for it, not for the log);
        below the debug level, nothing: a delayed call and a log event per registration cost more
        than the change itself."""
        if not self.timing:
            return
        call_later = getattr(self.reactor, 'callLater', None)
        if call_later is not None:
            call_later(0, self.log.debug, text, **fields)
        else:
            self.log.debug(text, **fields)

    def call(self, function: object, *args: object) -> Deferred[object]:
        """Run any other backend call (snapshot, reconcile) on the worker thread."""
        return self._on_thread(function, *args)

    def _on_thread(self, function: object, *args: object) -> Deferred[object]:
        self.queued += 1

        def finished(result: object) -> object:
            self.queued -= 1
            return result

        deferred = deferToThreadPool(self.reactor, self.pool, function, *args)  # type: ignore[arg-type]
        return deferred.addBoth(finished)

    def stop(self) -> None:
        self.pool.stop()
        self.dataplane.close()
