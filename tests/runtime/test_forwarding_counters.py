"""A role shows its user-space forwarder's packet counters, and `clear ... stats` zeroes them."""

from __future__ import annotations

from collections import Counter

from twisted.internet.task import Clock

from pmiprouter.dataplane.memory import MemoryDataplane
from pmiprouter.runtime.dataplane_worker import Inline
from pmiprouter.runtime.role import RoleService


class Forwarding(MemoryDataplane):
    """A data plane with the user-space backend's `counters()`."""

    def __init__(self) -> None:
        super().__init__()
        self.counts: Counter[str] = Counter()

    def counters(self) -> Counter[str]:
        return Counter(self.counts)


def test_counters_since_the_last_clear() -> None:
    role = RoleService(Clock(), set(), 'userspace')
    assert role.forwarding() == {}  # no data plane yet
    dataplane = Forwarding()
    role.executor = Inline(dataplane)
    dataplane.counts.update(encap_tx=10, encap_no_tunnel=2)
    assert role.forwarding() == {'encap_no_tunnel': 2, 'encap_tx': 10}
    role.clear_forwarding()
    dataplane.counts.update(encap_tx=3)
    assert role.forwarding() == {'encap_no_tunnel': 0, 'encap_tx': 3}


def test_a_data_plane_without_a_forwarder_shows_none() -> None:
    role = RoleService(Clock(), set(), 'memory')
    role.executor = Inline(MemoryDataplane())
    assert role.forwarding() == {}
