"""An LMA's pools behind one device: one route per pool, whatever the number of its MNs (ADR 0017)."""

from __future__ import annotations

from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network

from hypothesis import given, settings
from hypothesis import strategies as st

from pmiprouter.dataplane.interface import MnRouteSpec, RouteEntry, TunnelMode, TunnelSpec
from pmiprouter.dataplane.memory import MemoryDataplane, MemoryWorld
from pmiprouter.dataplane.naming import LMA_TABLE, TUN_IFNAME, is_our_table
from pmiprouter.dataplane.plan import Pools

LOCAL = IPv6Address('2001:db8:1::1')
TUNNELS = [TunnelSpec(LOCAL, IPv6Address(f'2001:db8:1::{i + 2:x}'), TunnelMode.IP6_ANY) for i in range(2)]
POOL6, POOL4 = IPv6Network('2001:db8:a0::/44'), IPv4Network('10.1.0.0/16')


class SharedTun(MemoryDataplane):
    """The memory model with every tunnel on the one TUN device, as the user-space backend has it."""

    def _create_tunnel(self, spec: TunnelSpec, name: str) -> str:
        return TUN_IFNAME

    def _pool_device(self) -> str:
        return TUN_IFNAME


def routes(world: MemoryWorld) -> set[RouteEntry]:
    return {route for route in world.routes.values() if is_our_table(route.table)}


def backend() -> tuple[SharedTun, MemoryWorld]:
    world = MemoryWorld()
    world.add_link(TUN_IFNAME, 'tun')
    dp = SharedTun(world)
    for tunnel in TUNNELS:
        dp.ensure_tunnel(tunnel)
    return dp, world


def hnp(i: int) -> IPv6Network:
    return IPv6Network((int(POOL6.network_address) + (i << 64), 64))


def cut(bits: int, value: int, length: int) -> tuple[int, int]:
    """A network's (value, length): ``value`` with the host bits cleared."""
    return value & ~((1 << (bits - length)) - 1), length


# Few distinct leading bits, so that pools often hold the prefix.
values = st.integers(0, 7).flatmap(lambda top: st.integers(0, 2**20).map(lambda low: top << 125 | low << 100))
networks = st.one_of(
    st.builds(lambda v, n: IPv6Network(cut(128, v, n)), values, st.integers(0, 128)),
    st.builds(lambda v, n: IPv4Network(cut(32, v >> 96, n)), values, st.integers(0, 32)),
)


@settings(deadline=None, max_examples=300)
@given(pools=st.lists(networks, max_size=4), prefix=networks)
def test_route_of_finds_the_longest_pool_holding_the_prefix(pools: list[IPv6Network | IPv4Network],
                                                          prefix: IPv6Network | IPv4Network) -> None:
    """Against ipaddress's own subnet_of: the longest pool that holds the prefix whole, or none."""
    holding = [pool for pool in pools if pool.version == prefix.version and prefix.subnet_of(pool)]  # type: ignore[arg-type]
    route = Pools(tuple(pools), TUN_IFNAME).route_of(prefix)
    if not holding:
        assert route is None
    else:
        assert route is not None and route.dst in holding and route.dst.prefixlen == max(p.prefixlen for p in holding)
        assert (route.table, route.dev) == (LMA_TABLE, TUN_IFNAME)
    assert Pools(tuple(pools)).route_of(prefix) is None  # no device: no pool routes


def test_a_thousand_mns_one_route_per_pool() -> None:
    """MNs in the pools add no route; a prefix outside them gets its own; the pool's route goes
    with its last MN; handovers between the tunnels change no kernel object."""
    dp, world = backend()
    dp.anchor_pools((POOL6, POOL4))
    specs = [MnRouteSpec.lma(TUNNELS[i % 2], (hnp(i),), IPv4Address(int(POOL4.network_address) + i + 1))
             for i in range(1000)]
    for spec in specs:
        dp.ensure_mn_routes(spec)
    pool_routes = {RouteEntry(LMA_TABLE, POOL6, TUN_IFNAME), RouteEntry(LMA_TABLE, POOL4, TUN_IFNAME)}
    assert routes(world) == pool_routes
    assert len(world.rules) == 2  # the role table's, one per family
    outsider = MnRouteSpec.lma(TUNNELS[0], (IPv6Network('2001:db8:ff::/64'),))
    dp.ensure_mn_routes(outsider)
    assert routes(world) == pool_routes | {RouteEntry(LMA_TABLE, outsider.hnps[0], TUN_IFNAME)}
    dp.remove_mn_routes(outsider)
    moved = [MnRouteSpec.lma(TUNNELS[1 - i % 2], spec.hnps, spec.ipv4_hoa) for i, spec in enumerate(specs)]
    for spec in moved:  # every MN hands over to the other MAG
        dp.ensure_mn_routes(spec)
    assert routes(world) == pool_routes and set(dp.snapshot().mn_routes) == set(moved)
    for spec in moved[:-1]:
        dp.remove_mn_routes(spec)
    assert routes(world) == pool_routes  # the last MN still needs both
    dp.remove_mn_routes(moved[-1])
    assert routes(world) == set() and not world.rules


def test_pools_changed_while_mns_are_held() -> None:
    """A new pool list serves the registrations that follow; an MN installed under the old one
    keeps its pool's route until it leaves (a configuration change is safe at any time)."""
    dp, world = backend()
    dp.anchor_pools((POOL6,))
    early = MnRouteSpec.lma(TUNNELS[0], (hnp(1),))
    dp.ensure_mn_routes(early)
    dp.anchor_pools(())
    late = MnRouteSpec.lma(TUNNELS[0], (hnp(2),))
    dp.ensure_mn_routes(late)
    assert routes(world) == {RouteEntry(LMA_TABLE, POOL6, TUN_IFNAME), RouteEntry(LMA_TABLE, hnp(2), TUN_IFNAME)}
    dp.remove_mn_routes(early)
    assert routes(world) == {RouteEntry(LMA_TABLE, hnp(2), TUN_IFNAME)}


def test_a_backend_with_a_device_per_tunnel_routes_each_mn() -> None:
    """The kernel backend's model (a device per MAG) cannot route a pool to one device: it keeps
    a route per MN, whatever pools it is told about."""
    world = MemoryWorld()
    dp = MemoryDataplane(world)
    dp.ensure_tunnel(TUNNELS[0])
    dp.anchor_pools((POOL6,))
    for i in range(3):
        dp.ensure_mn_routes(MnRouteSpec.lma(TUNNELS[0], (hnp(i),)))
    assert {route.dst for route in routes(world)} == {hnp(0), hnp(1), hnp(2)}
