"""The LMA's common PBUs, handled from their bytes (core/common_pbu.py).

A new session asked for by the usual PBU (see common_pbu.py) is the bulk of an LMA's work when
MNs attach, and its renewals (the same PBU, a later sequence number) when they stay. The MH port
offers each datagram here first: `read_common_pbu` recognises the shape and the engine opens the
session or renews the binding (`LocalMobilityAnchor.register_common`: its own checks, entry and
counters). A renewal is the lifetime timer and the PBA. With a data plane that applies changes on the calling thread (the memory
backend) the route goes in at once and the PBA leaves as bytes, with no message, event or
action object in between. With a worker thread (kernel, user space) the change goes to it like
any other and the PBA, already as bytes, waits for DataplaneApplied in the engine. Everything
else goes to the codec and `EngineDriver.feed` as before: the port falls through when this
returns False.
"""

from __future__ import annotations

from ipaddress import IPv6Address

from twisted.logger import Logger

from pmiprouter.fast.by_identity import ByIdentity
from pmiprouter.core.common_pbu import CommonPbu, read_common_pbu
from pmiprouter.core.lma import LIFETIME, LocalMobilityAnchor
from pmiprouter.core.lma_common import CommonRenewal, CommonReply
from pmiprouter.dataplane.interface import Dataplane
from pmiprouter.runtime.driver import EngineDriver


class CommonPath:
    """`__call__(wire, src, dst)`: True when the datagram was a common PBU and is fully handled."""

    log = Logger()

    def __init__(
        self, lma: LocalMobilityAnchor, driver: EngineDriver, dataplane: Dataplane | None, addresses: frozenset[object]
    ) -> None:
        self.lma = lma
        self.driver = driver
        self.dataplane = dataplane  # None: changes go through the driver's executor (a worker thread)
        # The LMA's own addresses: a datagram to another one is not ours (as RoleService.accepts).
        # The port hands on one object per address, so the answer is kept by identity.
        self.ours = ByIdentity[object, bool](lambda address: address in addresses, 64)
        self.handled = 0  # new sessions
        self.renewed = 0

    def __call__(self, wire: bytes, src: IPv6Address, dst: IPv6Address) -> bool:
        driver = self.driver
        if driver.trace or not self.ours(dst):
            return False
        pbu = read_common_pbu(wire)
        if pbu is None:
            return False
        try:
            return self._register(pbu, wire, src, dst)
        except Exception:  # as EngineDriver.feed: counted and logged, never into the reactor
            driver.counters['engine-errors'] += 1
            self.log.failure('engine failed on a common PBU')
            return True

    def _register(self, pbu: CommonPbu, wire: bytes, src: IPv6Address, dst: IPv6Address) -> bool:
        lma, driver = self.lma, self.driver
        now = driver.clock.seconds()
        session = lma.register_common(pbu, src, dst, now)
        if session is None:
            return False
        if isinstance(session, CommonRenewal):  # as the engine's actions: the timer, then the PBA
            driver.timers.start((LIFETIME, session.entry.binding_id), session.entry.expires_at)
            driver.send_wire(src, dst, session.pba)
            self.renewed += 1
            return True
        entry = session.entry
        driver.timers.start((LIFETIME, entry.binding_id), entry.expires_at)
        dataplane = self.dataplane
        if dataplane is None:  # a worker thread installs it; the PBA follows DataplaneApplied
            driver.execute(lma.common_programming(session, CommonReply(pbu, wire, src, dst)))
        else:
            try:
                for tunnel in session.tunnels:
                    dataplane.ensure_tunnel(tunnel)
                dataplane.ensure_mn_routes(session.route)
            except Exception as exc:
                reason = f'{type(exc).__name__}: {exc}'
                for action in lma.common_failed(session, CommonReply(pbu, wire, src, dst), reason, now):
                    driver.execute(action)
            else:
                driver.send_wire(src, dst, lma.common_applied(session, pbu, now))
        if driver.logs('info'):
            driver.emit(lma.session_created(entry))
        self.handled += 1
        return True
