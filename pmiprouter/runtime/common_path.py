"""The LMA's common PBUs, handled from their bytes (core/common_pbu.py) when the data plane is synchronous.

A new session asked for by the usual PBU (see common_pbu.py) is the bulk of an LMA's work when
MNs attach. The MH port offers each datagram here first: `read_common_pbu` recognises the shape,
the engine opens the session (`LocalMobilityAnchor.register_common`: its own checks, entry and
counters), the route goes in at once and the PBA leaves as bytes, with no message, event or
action object in between. Everything else, and anything this cannot finish the engine's way,
goes to the codec and `EngineDriver.feed` as before: the caller falls through when this
returns False.

Only with a data plane that applies changes on the calling thread (the memory backend): with a
worker thread the PBA waits for the change to come back, which is the engine's path.
"""

from __future__ import annotations

from ipaddress import IPv6Address

from twisted.logger import Logger

from pmiprouter.by_identity import ByIdentity
from pmiprouter.core.common_pbu import CommonPbu, read_common_pbu
from pmiprouter.core.events import MessageReceived, Transport
from pmiprouter.core.lma import LIFETIME, LocalMobilityAnchor
from pmiprouter.core.request import ProxyRegistration
from pmiprouter.dataplane.interface import Dataplane
from pmiprouter.mh.codec import decode
from pmiprouter.runtime.driver import EngineDriver


class CommonPath:
    """`__call__(wire, src, dst)`: True when the datagram was a common PBU and is fully handled."""

    log = Logger()

    def __init__(self, lma: LocalMobilityAnchor, driver: EngineDriver, dataplane: Dataplane, addresses: frozenset[object]) -> None:
        self.lma = lma
        self.driver = driver
        self.dataplane = dataplane
        # The LMA's own addresses: a datagram to another one is not ours (as RoleService.accepts).
        # The port hands on one object per address, so the answer is kept by identity.
        self.ours = ByIdentity[object, bool](lambda address: address in addresses, 64)
        self.handled = 0

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
        entry = session.entry
        driver.timers.start((LIFETIME, entry.binding_id), entry.expires_at)
        try:
            for tunnel in session.tunnels:
                self.dataplane.ensure_tunnel(tunnel)
            self.dataplane.ensure_mn_routes(session.route)
        except Exception as exc:
            request = ProxyRegistration.parse(MessageReceived(src, dst, decode(wire), Transport.IPV6))
            for action in lma.common_failed(session, request, f'{type(exc).__name__}: {exc}', now):
                driver.execute(action)
        else:
            driver.send_wire(src, dst, lma.common_applied(session, pbu, now))
        if driver.logs('info'):
            driver.emit(lma.session_created(entry))
        self.handled += 1
        return True
