"""The dataplane Worker: route-only changes run inline when nothing is queued, everything
else (and everything behind a queued job) on the worker thread, in order."""

from __future__ import annotations

import threading
from ipaddress import IPv6Address, IPv6Network
from typing import Any

from twisted.internet.defer import Deferred

from pmiprouter.core.actions import ApplyDataplane
from pmiprouter.dataplane.interface import MnRouteSpec, Role, TunnelMode, TunnelSpec
from pmiprouter.dataplane.memory import MemoryDataplane
from pmiprouter.runtime.dataplane_worker import Worker

T_A = TunnelSpec(IPv6Address('2001:db8:1::2'), IPv6Address('2001:db8:1::1'), TunnelMode.IP6_ANY)
T_B = TunnelSpec(IPv6Address('2001:db8:1::2'), IPv6Address('2001:db8:1::3'), TunnelMode.IP6_ANY)


def route(tunnel: TunnelSpec) -> MnRouteSpec:
    return MnRouteSpec(Role.LMA, tunnel, hnps=(IPv6Network('2001:db8:aa::/64'),), label='mn1')


class ThreadNoting(MemoryDataplane):
    def __init__(self) -> None:
        super().__init__()
        self.threads: list[str] = []

    def ensure_mn_routes(self, spec: MnRouteSpec) -> None:
        self.threads.append(threading.current_thread().name)
        super().ensure_mn_routes(spec)


class FakeReactor:
    """Enough of a reactor for deferToThreadPool: results come back through callFromThread."""

    def __init__(self) -> None:
        self.calls: list[Any] = []
        self.lock = threading.Lock()

    def callFromThread(self, function: Any, *args: Any, **kwargs: Any) -> None:
        with self.lock:
            self.calls.append((function, args, kwargs))

    def run_pending(self, timeout: float = 5.0) -> None:
        import time
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                calls, self.calls = self.calls, []
            for function, args, kwargs in calls:
                function(*args, **kwargs)
            if calls:
                return
            time.sleep(0.005)


def test_light_changes_run_inline_and_heavy_ones_on_the_thread() -> None:
    dataplane = ThreadNoting()
    dataplane.ensure_tunnel(T_A)
    dataplane.ensure_tunnel(T_B)
    reactor = FakeReactor()
    worker = Worker(reactor, dataplane)
    try:
        assert worker.light(ApplyDataplane(1, ensure_tunnels=(T_A,), ensure_routes=(route(T_A),)))
        assert not worker.light(ApplyDataplane(2, remove_tunnels=(T_B,)))
        unknown = TunnelSpec(IPv6Address('2001:db8:1::2'), IPv6Address('2001:db8:1::9'), TunnelMode.IP6_ANY)
        assert not worker.light(ApplyDataplane(3, ensure_tunnels=(unknown,)))

        done = worker.apply(ApplyDataplane(1, ensure_routes=(route(T_A),)))
        assert done.called and worker.inline_changes == 1  # fired before apply returned
        assert dataplane.threads == [threading.current_thread().name]

        results: list[object] = []
        queued = worker.apply(ApplyDataplane(4, ensure_tunnels=(unknown,), ensure_routes=(route(unknown),)))
        queued.addBoth(results.append)
        assert worker.queued == 1
        # While that job is queued, even a light change waits behind it (order is kept).
        behind: Deferred[None] = worker.apply(ApplyDataplane(5, ensure_routes=(route(T_B),)))
        assert not behind.called and worker.inline_changes == 1
        for _ in range(2):
            reactor.run_pending()
        assert results == [None] and behind.called and worker.queued == 0
        assert len(dataplane.threads) == 3 and threading.current_thread().name not in dataplane.threads[1:]
        assert dataplane.snapshot().mn_routes == {route(T_B)}
    finally:
        worker.pool.stop()


def test_an_inline_failure_is_a_failed_deferred() -> None:
    dataplane = MemoryDataplane()
    dataplane.ensure_tunnel(T_A)
    worker = Worker(FakeReactor(), dataplane)
    try:
        dataplane.world.links.clear()  # the tunnel device vanished: adding its route fails
        failures: list[Any] = []
        worker.apply(ApplyDataplane(1, ensure_routes=(route(T_A),))).addErrback(failures.append)
        assert len(failures) == 1 and 'missing device' in failures[0].getErrorMessage()
    finally:
        worker.pool.stop()
