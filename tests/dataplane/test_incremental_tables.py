"""The userspace backend's forwarding tables, changed in place per binding (not rebuilt).

PrefixTable's put/drop are checked on their own; then a sequence of binding changes on a
forwarding UserspaceDataplane (scratch namespace, root) must leave the tables exactly as a
rebuild from scratch of the same bindings gives them.
"""

from __future__ import annotations

from collections.abc import Iterator
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network, ip_network
from typing import Any

import pytest

from pmiprouter.dataplane.interface import MnRouteSpec, Role, TunnelMode, TunnelSpec
from pmiprouter.dataplane.naming import tunnel_ifname
from pmiprouter.dataplane.tables import PrefixTable
from tests.dataplane import nsutil
from tests.dataplane.conftest import IS_ROOT
from tests.dataplane.probing import tun_ok


def v6(text: str) -> bytes:
    return IPv6Address(text).packed


def v4(text: str) -> bytes:
    return IPv4Address(text).packed


def test_put_and_drop_change_lookups_in_place() -> None:
    table = PrefixTable([(ip_network('2001:db8:1::/64'), 'a')])
    table.put(ip_network('2001:db8:2::/64'), 'b')
    table.put(ip_network('10.0.0.5/32'), 'c')
    assert table.lookup6(v6('2001:db8:1::9'), 0) == 'a'
    assert table.lookup6(v6('2001:db8:2::9'), 0) == 'b'
    assert table.lookup4(v4('10.0.0.5'), 0) == 'c'
    table.put(ip_network('2001:db8:1::/64'), 'moved')
    assert table.lookup6(v6('2001:db8:1::9'), 0) == 'moved'
    table.drop(ip_network('2001:db8:2::/64'))
    table.drop(ip_network('2001:db8:2::/64'))  # absent: nothing happens
    assert table.lookup6(v6('2001:db8:2::9'), 0) is None
    table.drop(ip_network('10.0.0.5/32'))
    assert table.lookup4(v4('10.0.0.5'), 0) is None
    assert len(table) == 1 and table


def test_a_longer_prefix_appearing_and_going() -> None:
    """A /128 makes lookups read the whole address; when it goes, the /64 answers again."""
    table = PrefixTable([(ip_network('2001:db8:1::/64'), 'hnp')])
    table.put(ip_network('2001:db8:1::7/128'), 'host')
    assert table.lookup6(v6('2001:db8:1::7'), 0) == 'host'
    assert table.lookup6(v6('2001:db8:1::8'), 0) == 'hnp'
    table.drop(ip_network('2001:db8:1::7/128'))
    assert table.lookup6(v6('2001:db8:1::7'), 0) == 'hnp'
    table.drop(ip_network('2001:db8:1::/64'))
    assert not table and table.lookup6(v6('2001:db8:1::7'), 0) is None


MAG = IPv6Address('2001:db8:1::1')
LMA = IPv6Address('2001:db8:1::2')
T1 = TunnelSpec(LMA, IPv6Address('2001:db8:1::11'), TunnelMode.IP6_ANY)
T2 = TunnelSpec(LMA, IPv6Address('2001:db8:1::12'), TunnelMode.IP6_ANY)
T2_MTU = TunnelSpec(LMA, IPv6Address('2001:db8:1::12'), TunnelMode.IP6_ANY, mtu=1400)
KEYED = TunnelSpec(MAG, LMA, TunnelMode.GRE6, gre_key_in=7, gre_key_out=8)
UP = TunnelSpec(MAG, LMA, TunnelMode.IP6_ANY)
HNP1, HNP2 = IPv6Network('2001:db8:a1::/64'), IPv6Network('2001:db8:a2::/64')
HOA = IPv4Network('10.1.0.5/32')


def lma_mn(tunnel: TunnelSpec, *prefixes: Any) -> MnRouteSpec:
    hnps = tuple(p for p in prefixes if p.version == 6)
    ipv4 = next((p.network_address for p in prefixes if p.version == 4), None)
    return MnRouteSpec(Role.LMA, tunnel, hnps, ipv4)


def mag_mn(tunnel: TunnelSpec, hnp: IPv6Network, acc: str) -> MnRouteSpec:
    return MnRouteSpec(Role.MAG, tunnel, (hnp,), access_ifname=acc)


def describe(dp: Any) -> dict[str, Any]:
    """The forwarding tables as plain data (contexts by tunnel name)."""
    tables = dp.forwarder.tables

    def named(table: PrefixTable) -> dict[Any, str]:
        return {key: ctx.name for key, ctx in table.entries().items()}

    return {
        'lma': named(tables.lma), 'mag': named(tables.mag),
        'peers': {peer: ctx.name for peer, ctx in tables.peers.items()},
        'domains': sorted((named(lma), named(mag)) for lma, mag in tables.by_fd.values()),
        'checks': {ctx.name: (named(ctx.lma_prefixes), named(ctx.mag_prefixes), ctx.mtu) for ctx in tables.peers.values()},
    }


def same_as_rebuilt(dp: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    incremental = describe(dp)
    dp._rebuild()
    return incremental, describe(dp)


@pytest.fixture
def forwarding() -> Iterator[tuple[nsutil.NsThread, Any]]:
    if not IS_ROOT or not tun_ok():
        pytest.skip('needs root and TUN')
    from pmiprouter.dataplane.userspace import UserspaceDataplane

    ns = nsutil.unique('pmtinc')
    nsutil.netns_add(ns)
    thread = nsutil.NsThread(ns)
    dp = None
    try:
        for acc in ('acc0', 'acc1'):
            nsutil.ip('link', 'add', acc, 'type', 'veth', 'peer', 'name', f'{acc}p', ns=ns)
            nsutil.ip('link', 'set', acc, 'up', ns=ns)
        nsutil.ip('addr', 'add', f'{LMA}/64', 'dev', 'lo', 'nodad', ns=ns)
        nsutil.ip('addr', 'add', f'{MAG}/64', 'dev', 'lo', 'nodad', ns=ns)
        nsutil.ip('link', 'set', 'lo', 'up', ns=ns)
        dp = thread.call(UserspaceDataplane, object())  # any reactor: forwarding on (pump thread)
        yield thread, dp
    finally:
        if dp is not None:
            thread.call(dp.close)
        thread.close()
        nsutil.netns_del(ns)


@pytest.mark.needs_root
def test_every_change_leaves_the_tables_a_rebuild_would_build(forwarding: tuple[nsutil.NsThread, Any]) -> None:
    thread, dp = forwarding
    mn1_at_1, mn1_at_2 = lma_mn(T1, HNP1, HOA), lma_mn(T2, HNP1, HOA)
    steps = [
        lambda: dp.ensure_tunnel(T1),
        lambda: dp.ensure_tunnel(T2),
        lambda: dp.ensure_mn_routes(mn1_at_1),
        lambda: dp.ensure_mn_routes(lma_mn(T1, HNP2)),
        lambda: dp.ensure_mn_routes(mn1_at_2),  # a move: T1 keeps HNP2 only
        lambda: dp.ensure_mn_routes(mn1_at_1),  # and back
        lambda: dp.ensure_tunnel(UP),
        lambda: dp.ensure_mn_routes(mag_mn(UP, IPv6Network('2001:db8:b1::/64'), 'acc0')),
        # the same prefix on two access links at once: the second one going leaves the first
        lambda: dp.ensure_mn_routes(mag_mn(UP, IPv6Network('2001:db8:b1::/64'), 'acc1')),
        lambda: dp.remove_mn_routes(mag_mn(UP, IPv6Network('2001:db8:b1::/64'), 'acc1')),
        lambda: dp.ensure_tunnel(KEYED),
        lambda: dp.ensure_mn_routes(mag_mn(KEYED, IPv6Network('2001:db8:b2::/64'), 'acc1')),
        lambda: dp.ensure_tunnel(T2_MTU),  # a tunnel's spec changes: its contexts are rebuilt
        lambda: dp.remove_mn_routes(mag_mn(KEYED, IPv6Network('2001:db8:b2::/64'), 'acc1')),
        lambda: dp.remove_tunnel(KEYED),
        lambda: dp.remove_mn_routes(mn1_at_1),
        lambda: dp.reconcile(dp.snapshot()),
    ]
    seen_moves = []
    for number, step in enumerate(steps):
        thread.call(step)
        incremental, rebuilt = thread.call(same_as_rebuilt, dp)
        assert incremental == rebuilt, f'step {number}'
        seen_moves.append(incremental['lma'])
    hnp1_key = (6, 64, int(HNP1.network_address) >> 64)
    # The move really went through the tables (not only "equal to a rebuild").
    assert seen_moves[4][hnp1_key] != seen_moves[5][hnp1_key]
    assert hnp1_key not in seen_moves[-1]
    b1_key = (6, 64, int(IPv6Network('2001:db8:b1::/64').network_address) >> 64)
    assert describe(dp)['mag'] == {b1_key: tunnel_ifname(UP)}  # acc0's binding outlived acc1's


@pytest.mark.needs_root
def test_a_binding_change_keeps_the_tables_object(forwarding: tuple[nsutil.NsThread, Any]) -> None:
    """Route-only changes publish nothing new for the pump to re-derive (its lookups stay)."""
    thread, dp = forwarding
    thread.call(dp.ensure_tunnel, T1)
    thread.call(dp.ensure_tunnel, T2)
    tables = dp.forwarder.tables
    thread.call(dp.ensure_mn_routes, lma_mn(T1, HNP1))
    thread.call(dp.ensure_mn_routes, lma_mn(T2, HNP1))
    assert dp.forwarder.tables is tables
    assert tables.lma.lookup6(HNP1.network_address.packed, 0).spec == T2
    thread.call(dp.remove_mn_routes, lma_mn(T2, HNP1))
    assert tables.lma.lookup6(HNP1.network_address.packed, 0) is None
