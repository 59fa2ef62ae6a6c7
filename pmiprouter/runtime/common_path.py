"""The LMA's first look at a Mobility Header: the usual PBU read from its bytes (ADR 0012).

A new session asked for by the usual PBU is the bulk of an LMA's work when MNs attach, and its
renewals when they stay. The MH port offers each datagram here before decoding it; a common PBU
(fast/common_pbu.py) to one of the LMA's addresses becomes a `CommonPbuReceived` event that the
driver feeds to the engine like any other (its sends, timers, logs and debug taps included).
Anything else returns False and the port decodes it as usual.
"""

from __future__ import annotations

from ipaddress import IPv6Address

from pmiprouter.fast.by_identity import ByIdentity
from pmiprouter.fast.common_pbu import read_common_pbu
from pmiprouter.runtime.driver import EngineDriver


class CommonPbuOffer:
    """`__call__(wire, src, dst)`: True when the datagram was a common PBU for us, fed to the driver."""

    def __init__(self, driver: EngineDriver, addresses: frozenset[object]) -> None:
        self.driver = driver  # fed through the attribute: debug taps wrap the driver's feed
        # A datagram to another address is not ours (as RoleService.accepts). The port hands on
        # one object per address, so the answer is kept by identity.
        self.ours = ByIdentity[object, bool](lambda address: address in addresses, 64)
        self.taken = 0

    def __call__(self, wire: bytes, src: IPv6Address, dst: IPv6Address) -> bool:
        if not self.ours(dst):
            return False
        event = read_common_pbu(wire, src, dst)
        if event is None:
            return False
        self.taken += 1
        self.driver.feed(event)
        return True
