"""Runs data-plane changes off the reactor thread, one at a time, in order (design.md).

One worker thread owns the backend (pyroute2 sockets are not to be shared across threads,
and netlink calls block); results return to the reactor thread as Deferreds. `Inline` does
the same work synchronously, for the memory backend and for tests driven by task.Clock.
"""

from __future__ import annotations

from typing import Protocol

from twisted.internet.defer import Deferred, fail, succeed
from twisted.internet.threads import deferToThreadPool
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


class DataplaneExecutor(Protocol):
    def apply(self, change: ApplyDataplane) -> Deferred[None]: ...

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

    def stop(self) -> None:
        self.dataplane.close()


class Worker:
    """Apply on one dedicated thread (kernel and userspace backends)."""

    def __init__(self, reactor: object, dataplane: Dataplane) -> None:
        self.reactor = reactor
        self.dataplane = dataplane
        self.pool = ThreadPool(minthreads=1, maxthreads=1, name='dataplane')
        self.pool.start()

    def apply(self, change: ApplyDataplane) -> Deferred[None]:
        return deferToThreadPool(self.reactor, self.pool, apply_changes, self.dataplane, change)  # type: ignore[arg-type]

    def call(self, function: object, *args: object) -> Deferred[object]:
        """Run any other backend call (snapshot, reconcile) on the worker thread."""
        return deferToThreadPool(self.reactor, self.pool, function, *args)  # type: ignore[arg-type]

    def stop(self) -> None:
        self.pool.stop()
        self.dataplane.close()
