"""What the LMA and MAG services share: MH sockets, the engine driver and the data plane.

Sockets open in `privilegedStartService` (root or CAP_NET_RAW/CAP_NET_ADMIN), the data
plane and driver start in `startService`, and `stopService` removes every tunnel and route
the role installed, so SIGTERM leaves the box as it found it.
"""

from __future__ import annotations

from ipaddress import IPv4Address, IPv6Address
from typing import Any

from twisted.application.service import Service
from twisted.internet.defer import Deferred
from twisted.internet.interfaces import IListeningPort
from twisted.logger import Logger

from pmiprouter.dataplane import factory
from pmiprouter.dataplane.interface import Dataplane, DataplaneState
from pmiprouter.mh.framing import PMIP6_CNTL_PORT
from pmiprouter.runtime.dataplane_worker import DataplaneExecutor, Inline, Worker
from pmiprouter.runtime.driver import Engine, EngineDriver
from pmiprouter.runtime import receive_buffer
from pmiprouter.runtime.mhport import MHPort
from pmiprouter.runtime.udpport import MHOverUDP


class RoleService(Service):
    """One LMA or MAG: subclasses give the engine, their addresses and `accepts(event)`."""

    log = Logger()
    engine: Engine

    def __init__(self, reactor: Any, addresses: set[IPv6Address | IPv4Address], dataplane_kind: str) -> None:
        self.reactor = reactor
        self.addresses = addresses
        self.dataplane_kind = dataplane_kind
        self.mhport: MHPort | None = None
        self.udp: dict[IPv4Address, MHOverUDP] = {}
        self.listening: list[IListeningPort] = []
        self.driver: EngineDriver | None = None
        self.executor: DataplaneExecutor | None = None
        self.trace = False  # set by the daemon at --log-level debug
        self._kernel_drops_cleared = 0  # the MH socket's drop counter at the last `clear ... stats`
        self._forwarding_cleared: dict[str, int] = {}  # the forwarder's counters then

    def accepts(self, event: Any) -> bool:
        """Whether an event from the (possibly shared) MH sockets is for this role."""
        return getattr(event, 'dst', None) in self.addresses

    def privilegedStartService(self) -> None:
        self.mhport = MHPort(self.reactor, self.deliver)
        for address in sorted(a for a in self.addresses if isinstance(a, IPv4Address)):
            self.udp[address] = MHOverUDP(address, self.deliver)
            port = self.reactor.listenUDP(PMIP6_CNTL_PORT, self.udp[address], interface=str(address))
            # The same bursts as the MH socket; Twisted reads with recvfrom, so no drop counter here.
            receive_buffer.prepare(port.socket, f'UDP {PMIP6_CNTL_PORT} socket on {address}', count_drops=False)
            self.listening.append(port)
        super().privilegedStartService()

    def make_dataplane(self) -> Dataplane:
        options = {'reactor': self.reactor} if self.dataplane_kind in ('auto', 'userspace') else {}
        dataplane = factory.make_dataplane(self.dataplane_kind, **options)
        kind, reason = factory.LAST_CHOICE
        self.log.info('data plane: {kind} ({reason})', kind=kind, reason=reason)
        return dataplane

    def start_driver(self, dataplane: Dataplane, extra: Any = None) -> EngineDriver:
        self.executor = Inline(dataplane) if self.dataplane_kind == 'memory' else Worker(self.reactor, dataplane)
        self.driver = EngineDriver(self.engine, self.reactor, self.executor, self.mhport, dict(self.udp), extra=extra)  # type: ignore[arg-type]
        self.driver.trace = self.trace
        assert self.mhport is not None
        self.mhport.bursts = self.driver  # a burst's data-plane changes are applied together
        self.mhport.start()
        return self.driver

    def kernel_drops(self) -> dict[str, int]:
        """Datagrams the kernel dropped at our sockets (receive buffer full) since the last `clear ... stats`."""
        return {'mh-socket': (self._mh_drops() - self._kernel_drops_cleared) % (1 << 32)}  # the kernel's is a u32

    def clear_kernel_drops(self) -> None:
        """Zero what `kernel_drops` shows (the kernel keeps counting; this is the new zero)."""
        self._kernel_drops_cleared = self._mh_drops()

    def forwarding(self) -> dict[str, int]:
        """The user-space forwarder's packet counters since the last `clear ... stats` (none for
        a data plane that does not forward in the daemon)."""
        cleared = self._forwarding_cleared
        return {name: count - cleared.get(name, 0) for name, count in sorted(self._forwarder_counts().items())}

    def clear_forwarding(self) -> None:
        """Zero what `forwarding` shows (the forwarder keeps counting; this is the new zero)."""
        self._forwarding_cleared = self._forwarder_counts()

    def _forwarder_counts(self) -> dict[str, int]:
        counters = getattr(self.executor.dataplane, 'counters', None) if self.executor is not None else None
        return dict(counters()) if counters is not None else {}

    def _mh_drops(self) -> int:
        return self.mhport.drops.count if self.mhport is not None else 0

    def deliver(self, event: Any) -> None:
        if self.driver is not None and self.accepts(event):
            self.driver.feed(event)

    def stopService(self) -> Deferred[None] | None:
        super().stopService()
        for port in self.listening:
            port.stopListening()
        if self.mhport is not None:
            self.mhport.stop()
        if self.driver is not None:
            self.driver.stop()
        return self.clean_up() if self.executor is not None else None

    def clean_up(self) -> Deferred[None] | None:
        """Remove every tunnel and route we installed (reconcile to nothing), then release the backend."""
        executor = self.executor
        assert executor is not None
        dataplane = executor.dataplane  # type: ignore[attr-defined]
        if isinstance(executor, Worker):
            deferred = executor.call(dataplane.reconcile, DataplaneState())
            deferred.addErrback(lambda failure: self.log.failure('clean-up failed', failure))
            deferred.addBoth(lambda _: executor.stop())
            return deferred  # type: ignore[return-value]
        dataplane.reconcile(DataplaneState())
        executor.stop()
        return None
