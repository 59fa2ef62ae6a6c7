"""Real traffic through the dataplane in network namespaces: every mode, both directions.

The userspace backend runs on any root host with TUN; the kernel backend needs tunnel modules
(the Debian-kernel VM). The lab (tests/dataplane/lab.py) is built once per module; each test
starts its own MAG and LMA nodes, which reconcile away what the previous test left.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from pmiprouter.dataplane.interface import TunnelMode
from tests.dataplane import lab as L
from tests.dataplane.conftest import IS_ROOT
from tests.dataplane.probing import kernel_tunnels_ok, tun_ok

pytestmark = [pytest.mark.needs_root, pytest.mark.skipif(not IS_ROOT, reason='needs root')]

USERSPACE = pytest.param('userspace', id='userspace', marks=pytest.mark.skipif(not tun_ok(), reason='no TUN'))
KERNEL = pytest.param('kernel', id='kernel', marks=[
    pytest.mark.needs_kernel_tunnels,
    pytest.mark.skipif(not kernel_tunnels_ok(), reason='kernel lacks tunnel modules (run in the VM)')])

MODES = [
    pytest.param(TunnelMode.IP6IP6, None, id='ip6ip6'),
    pytest.param(TunnelMode.IP6_ANY, None, id='ip6any'),
    pytest.param(TunnelMode.IP4, None, id='ipv4'),
    pytest.param(TunnelMode.UDP4, None, id='ipv4-udp'),
    pytest.param(TunnelMode.UDP4_TLV, (301, 302), id='ipv4-udp-tlv-keys'),
    pytest.param(TunnelMode.GRE6, (101, 102), id='gre6-keys'),
    pytest.param(TunnelMode.GRE4, (201, 202), id='gre4-keys'),
]


def specs(mode: TunnelMode, keys: tuple[int, int] | None = None, mtu: int | None = None,
          v4: bool | None = None) -> tuple[dict[str, Any], dict[str, Any]]:
    """The MAG and LMA node specs for one MN (HNP, plus the IPv4 HoA when the mode carries it)."""
    v6 = mode.transport_version == 6
    mag_ip, lma_ip = (L.MAG6, L.LMA6) if v6 else (L.MAG4, L.LMA4)
    kin, kout = keys if keys else (None, None)
    mn: dict[str, Any] = {'tunnel': 0, 'hnps': [L.HNP]}
    if mode.carries_ipv4 if v4 is None else v4:
        mn['ipv4_hoa'] = L.MN4
    mag = {'tunnels': [{'local': mag_ip, 'remote': lma_ip, 'mode': mode.value, 'gre_key_in': kin,
                        'gre_key_out': kout, 'mtu': mtu}],
           'mns': [dict(mn, role='mag', access_ifname='acc0')]}
    lma = {'tunnels': [{'local': lma_ip, 'remote': mag_ip, 'mode': mode.value, 'gre_key_in': kout,
                        'gre_key_out': kin, 'mtu': mtu}],
           'mns': [dict(mn, role='lma')]}
    return mag, lma


@pytest.fixture
def nodes(lab: L.Lab) -> Iterator[L.Lab]:
    """Stops whatever nodes a test started, even when it fails."""
    try:
        yield lab
    finally:
        lab.stop_nodes()


@pytest.mark.parametrize('backend', [USERSPACE, KERNEL])
@pytest.mark.parametrize(('mode', 'keys'), MODES)
def test_ping_and_tcp_both_ways(
    nodes: L.Lab, backend: str, mode: TunnelMode, keys: tuple[int, int] | None
) -> None:
    """Ping and a TCP transfer work MN->CN and CN->MN, for IPv6 and (where carried) IPv4."""
    if backend == 'kernel' and mode in (TunnelMode.UDP4, TunnelMode.UDP4_TLV):
        pytest.skip('IPv4-UDP has no kernel device; the userspace backend carries it')
    nodes.start(backend, *specs(mode, keys))
    assert L.ping_until(nodes.mn, L.CN6), 'MN -> CN IPv6 ping'
    assert L.ping(nodes.cn, L.MN6, count=2).returncode == 0, 'CN -> MN IPv6 ping'
    assert L.tcp_roundtrip(nodes.mn, nodes.cn, L.CN6) == 'OK'
    if mode.carries_ipv4:
        assert L.ping_until(nodes.mn, L.CN4), 'MN -> CN IPv4 ping'
        assert L.ping(nodes.cn, L.MN4, count=2).returncode == 0, 'CN -> MN IPv4 ping'
        assert L.tcp_roundtrip(nodes.cn, nodes.mn, L.MN4, port=5002) == 'OK'
    else:
        assert L.ping(nodes.mn, L.CN4, deadline=2).returncode != 0, 'IPv4 must not cross an ip6ip6 tunnel'
    mag_counters, lma_counters = nodes.stop_nodes()
    if backend == 'userspace':
        assert mag_counters.get('decap_rx', 0) > 0 and lma_counters.get('decap_rx', 0) > 0


def test_unbound_source_is_not_forwarded(nodes: L.Lab) -> None:
    """A packet from an address that is not the MN's never enters the tunnel (RFC 5213 §6.10.5)."""
    nodes.start('userspace', *specs(TunnelMode.IP6_ANY))
    assert L.ping_until(nodes.mn, L.CN6)
    L.addr(nodes.mn, 'eth0', '2001:db8:bad::2/64')
    try:
        assert L.ping(nodes.mn, L.CN6, '-I', '2001:db8:bad::2', deadline=2).returncode != 0
    finally:
        L.nsutil.ip('addr', 'del', '2001:db8:bad::2/64', 'dev', 'eth0', ns=nodes.mn)


def test_lma_pools_are_one_kernel_route_each(nodes: L.Lab) -> None:
    """The user-space LMA routes each pool once into its TUN and finds the MN in its own table:
    traffic to and from a pooled MN flows both ways among 1,000 others, the kernel's LMA table
    holds one route per pool, and a packet to a pool address no MN holds is dropped, counted."""
    from pmiprouter.dataplane.naming import LMA_TABLE

    mag, lma = specs(TunnelMode.IP6_ANY)
    others = [{'role': 'lma', 'tunnel': 0, 'hnps': [f'2001:db8:a1:{i + 1:x}::/64']} for i in range(1000)]
    nodes.start('userspace', mag, {**lma, 'mns': [*lma['mns'], *others], 'pools': ['2001:db8:a1::/48', '10.0.0.0/24']})
    routes = L.nsutil.ip('-j', '-6', 'route', 'show', 'table', str(LMA_TABLE), ns=nodes.lma).stdout
    assert [route['dst'] for route in json.loads(routes)] == ['2001:db8:a1::/48']
    routes4 = L.nsutil.ip('-j', '-4', 'route', 'show', 'table', str(LMA_TABLE), ns=nodes.lma).stdout
    assert [route['dst'] for route in json.loads(routes4)] == ['10.0.0.0/24']
    assert L.ping_until(nodes.mn, L.CN6), 'MN -> CN IPv6 ping'
    assert L.ping(nodes.cn, L.MN6, count=2).returncode == 0, 'CN -> MN IPv6 ping'
    assert L.ping(nodes.cn, L.MN4, count=2).returncode == 0, 'CN -> MN IPv4 ping'
    assert L.ping(nodes.cn, '2001:db8:a1:ffff::1', deadline=2).returncode != 0  # in the pool, no MN
    _mag_counters, lma_counters = nodes.stop_nodes()
    assert lma_counters.get('encap_no_tunnel', 0) >= 1


def test_a_pool_holding_a_main_route_keeps_a_route_per_mn(nodes: L.Lab) -> None:
    """A pool whose route would take a more specific main-table route's packets (here the
    transport link's 2001:db8:1::/64, inside 2001:db8::/32) is not routed as one: each MN keeps a
    route of its own, and the MAG stays reachable."""
    from pmiprouter.dataplane.naming import LMA_TABLE

    mag, lma = specs(TunnelMode.IP6_ANY, v4=False)
    others = [{'role': 'lma', 'tunnel': 0, 'hnps': [f'2001:db8:a1:{i + 1:x}::/64']} for i in range(10)]
    nodes.start('userspace', mag, {**lma, 'mns': [*lma['mns'], *others], 'pools': ['2001:db8::/32']})
    routes = L.nsutil.ip('-j', '-6', 'route', 'show', 'table', str(LMA_TABLE), ns=nodes.lma).stdout
    assert len(json.loads(routes)) == 11
    assert L.ping_until(nodes.mn, L.CN6), 'MN -> CN IPv6 ping'
    assert L.ping(nodes.cn, L.MN6, count=2).returncode == 0, 'CN -> MN IPv6 ping'
