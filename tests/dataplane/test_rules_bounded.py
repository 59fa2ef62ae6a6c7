"""Policy rules do not grow with the number of MNs: the LMA's are one per address family, whatever
the number of bindings, tunnels and handovers (ADR 0014), each MN a route in the role table; a MAG
behind the user-space TUN has a few per address family and access link, each MN a route too."""

from __future__ import annotations

from ipaddress import IPv4Address, IPv6Address, IPv6Network

from collections.abc import Iterator

from hypothesis import given, settings
from hypothesis import strategies as st

from pmiprouter.dataplane.interface import MnRouteSpec, Role, TunnelMode, TunnelSpec
from pmiprouter.dataplane.memory import MemoryDataplane
from pmiprouter.dataplane.naming import LMA_TABLE, TUN_IFNAME
from tests.addresses import LMAA

MAGS = [IPv6Address(f'2001:db8:1::{i + 1:x}') for i in range(4)]
TUNNELS = [TunnelSpec(LMAA, mag, TunnelMode.IP6_ANY) for mag in MAGS]


@settings(deadline=None, max_examples=60)
@given(st.lists(st.tuples(st.integers(0, 3), st.integers(0, 199), st.booleans()), min_size=1, max_size=120))
def test_rules_stay_one_per_family_whatever_the_number_of_mns(moves: list[tuple[int, int, bool]]) -> None:
    """MNs attach, move between MAGs and leave (an IPv4 HoA now and then): never more rules than
    address families in use, every MN's prefix a route of its own, nothing left at the end."""
    dp = MemoryDataplane()
    for tunnel in TUNNELS:
        dp.ensure_tunnel(tunnel)
    specs: dict[int, MnRouteSpec] = {}
    for mag, mn, ipv4 in moves:
        hnp = IPv6Network((0x20010DB8AAAA0000 + mn) << 64, 64)
        hoa = IPv4Address(0x0A010000 + mn) if ipv4 else None
        spec = MnRouteSpec.lma(TUNNELS[mag], (hnp,), hoa, f'mn{mn}')
        if mn in specs and specs[mn].ipv4_hoa != hoa:
            dp.remove_mn_routes(specs.pop(mn))  # another IPv4 grant: a new binding
        dp.ensure_mn_routes(spec)
        specs[mn] = spec
        snapshot = dp.snapshot()
        families = {4 if spec.ipv4_hoa is not None else 6 for spec in specs.values()} | {6}
        assert len(snapshot.rules) == len(families)
        assert all(rule.table == LMA_TABLE and rule.src is None and rule.dst is None for rule in snapshot.rules)
        assert len(snapshot.routes) == sum(1 + (spec.ipv4_hoa is not None) for spec in specs.values())
    for spec in specs.values():
        dp.remove_mn_routes(spec)
    assert not dp.snapshot().rules and not dp.snapshot().routes


class BehindTheTun(MemoryDataplane):
    """The memory model with every tunnel carried by the user-space backend's shared TUN."""

    def __init__(self) -> None:
        super().__init__()
        for ifname in (TUN_IFNAME, *ACCESS):
            self.world.add_link(ifname, 'veth')

    def _create_tunnel(self, spec: TunnelSpec, name: str) -> str:
        return TUN_IFNAME


ACCESS = ('acc0', 'acc1')


def mag_moves(dp: MemoryDataplane, moves: list[tuple[int, int, bool, int]]) -> Iterator[dict[int, MnRouteSpec]]:
    """MAG-side MNs attach (over LMA tunnel `lma`, with an IPv4 HoA or not, on access link
    `link`), each detaching first if it was attached; yields the attached specs after each move."""
    for tunnel in TUNNELS:
        dp.ensure_tunnel(tunnel)
    specs: dict[int, MnRouteSpec] = {}
    for lma, mn, ipv4, link in moves:
        hnp = IPv6Network((0x20010DB8AAAA0000 + mn) << 64, 64)
        spec = MnRouteSpec(Role.MAG, TUNNELS[lma], (hnp,), IPv4Address(0x0A010000 + mn) if ipv4 else None,
                           access_ifname=ACCESS[link])
        if mn in specs:
            dp.remove_mn_routes(specs.pop(mn))  # detached (from this MAG) before it attaches again
        dp.ensure_mn_routes(spec)
        specs[mn] = spec
        yield specs


@settings(deadline=None, max_examples=60)
@given(st.lists(st.tuples(st.integers(0, 3), st.integers(0, 199), st.booleans(), st.integers(0, 1)), min_size=1, max_size=120))
def test_mag_rules_behind_the_tun_do_not_grow_with_its_mns(moves: list[tuple[int, int, bool, int]]) -> None:
    """A user-space MAG's MNs attach to two access links, over four LMA tunnels, and leave: per
    address family one uplink rule per access link in use and two downlink rules, never a rule
    naming an MN; each MN's prefix is a route of its own to its access link."""
    dp = BehindTheTun()
    for specs in mag_moves(dp, moves):
        rules = dp.snapshot().rules
        families = {4 if s.ipv4_hoa is not None else 6 for s in specs.values()} | {6}
        links = {(s.access_ifname, fam) for s in specs.values() for fam in ({4, 6} if s.ipv4_hoa else {6})}
        assert len(rules) == len(links) + 2 * len(families)
        assert all(rule.src is None and rule.dst is None for rule in rules)
        assert len(dp.snapshot().routes) == sum(1 + (s.ipv4_hoa is not None) for s in specs.values()) + len(families)
    for spec in specs.values():
        dp.remove_mn_routes(spec)
    assert not dp.snapshot().rules and not dp.snapshot().routes


class DevicePerTunnel(MemoryDataplane):
    """The kernel backend's model: each tunnel a device of its own."""

    def __init__(self) -> None:
        super().__init__()
        for ifname in ACCESS:
            self.world.add_link(ifname, 'veth')


@settings(deadline=None, max_examples=60)
@given(st.lists(st.tuples(st.integers(0, 3), st.integers(0, 199), st.booleans(), st.integers(0, 1)), min_size=1, max_size=120))
def test_mag_rules_on_tunnel_devices_name_no_ipv6_prefix(moves: list[tuple[int, int, bool, int]]) -> None:
    """A kernel MAG's MNs over four LMA tunnels on two access links: per address family a
    downlink rule per tunnel device in use and one for the MAG's own packets, an IPv6 uplink rule
    per access link in use (the prefixes are source-specific routes), and one rule per IPv4 HoA
    (IPv4 has no source-specific routes)."""
    dp = DevicePerTunnel()
    for specs in mag_moves(dp, moves):
        rules = dp.snapshot().rules
        down = {(s.tunnel, fam) for s in specs.values() for fam in ({4, 6} if s.ipv4_hoa else {6})}
        local = {fam for s in specs.values() for fam in ({4, 6} if s.ipv4_hoa else {6})}
        up6 = {s.access_ifname for s in specs.values()}
        ipv4_mns = sum(s.ipv4_hoa is not None for s in specs.values())
        assert len(rules) == len(down) + len(local) + len(up6) + ipv4_mns
        assert not any(rule.src is not None and rule.src.version == 6 or rule.dst is not None for rule in rules)
    for spec in specs.values():
        dp.remove_mn_routes(spec)
    assert not dp.snapshot().rules and not dp.snapshot().routes
