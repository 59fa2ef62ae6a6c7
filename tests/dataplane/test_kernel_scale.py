"""The kernel backend at scale (issue 25): the LMA installs 10,000 MNs and forwards to the first
and the last of them through its tunnel, with one route per MN in its role table and one rule per
address family (ADR 0014). Runs in the Debian-kernel VM (`make test-kernel-vm`); skips on a host
without tunnel modules.

The lab's MN owns an address in the first HNP (the lab's own) and in the last; the MAG node routes
those two HNPs to its access link, the LMA node holds all 10,000 on one ip6ip6 tunnel. Under the
VM's emulation (TCG) the test takes about 9 s, the session's lab aside (built once, ~7 s).
"""

from __future__ import annotations

import json
from ipaddress import IPv6Network
from typing import Any

import pytest

from pmiprouter.dataplane.naming import LMA_TABLE
from tests.dataplane import lab as L
from tests.dataplane import nsutil
from tests.dataplane.conftest import IS_ROOT
from tests.dataplane.probing import kernel_tunnels_ok

pytestmark = [
    pytest.mark.needs_root, pytest.mark.skipif(not IS_ROOT, reason='needs root'),
    pytest.mark.needs_kernel_tunnels,
    pytest.mark.skipif(not kernel_tunnels_ok(), reason='kernel lacks tunnel modules (run in the VM)'),
]

COUNT = 10_000
LAST = COUNT - 1
LAST_MN = f'2001:db8:a1:{LAST:x}::2'  # the MN's address in the last HNP (the first is the lab's MN6)


def hnp(index: int) -> str:
    """The index-th MN's home prefix; the first is the lab's HNP (2001:db8:a1::/64)."""
    return f'2001:db8:a1:{index:x}::/64'


def specs() -> tuple[dict[str, Any], dict[str, Any]]:
    """The MAG holds the first and the last MN on its access link; the LMA holds all of them."""
    tunnel = {'mode': 'ip6ip6'}
    mag = {'tunnels': [{**tunnel, 'local': L.MAG6, 'remote': L.LMA6}],
           'mns': [{'role': 'mag', 'tunnel': 0, 'hnps': [hnp(i)], 'access_ifname': 'acc0'} for i in (0, LAST)]}
    lma = {'tunnels': [{**tunnel, 'local': L.LMA6, 'remote': L.MAG6}],
           'mns': [{'role': 'lma', 'tunnel': 0, 'hnps': [hnp(i)]} for i in range(COUNT)]}
    return mag, lma


def role_table_routes(ns: str) -> list[IPv6Network]:
    """The destinations of the IPv6 routes in the LMA's role table."""
    out = nsutil.ip('-6', 'route', 'show', 'table', str(LMA_TABLE), ns=ns).stdout
    return [IPv6Network(line.split()[0]) for line in out.splitlines()]


def role_table_rules(ns: str, family: str) -> int:
    """How many rules of one address family look up the role table."""
    out = nsutil.ip(family, 'rule', 'show', ns=ns).stdout
    return sum(line.split()[-1] == str(LMA_TABLE) for line in out.splitlines())


def tx_packets(ns: str, dev: str) -> int:
    out = nsutil.ip('-j', '-s', 'link', 'show', dev, ns=ns).stdout
    return int(json.loads(out)[0]['stats64']['tx']['packets'])


def test_the_lma_installs_10000_mns_and_forwards_to_the_first_and_the_last(lab: L.Lab) -> None:
    mag_spec, lma_spec = specs()
    L.addr(lab.mn, 'eth0', LAST_MN + '/64')
    try:
        _mag, lma = lab.start('kernel', mag_spec, lma_spec)
        routes = role_table_routes(lab.lma)
        assert len(routes) == COUNT and {IPv6Network(hnp(0)), IPv6Network(hnp(LAST))} <= set(routes)
        assert role_table_rules(lab.lma, '-6') == 1 and role_table_rules(lab.lma, '-4') == 0
        (tunnel,) = lma.devices
        sent = tx_packets(lab.lma, tunnel)
        assert L.ping_until(lab.cn, L.MN6), 'CN -> first MN'
        assert L.ping_until(lab.cn, LAST_MN), 'CN -> last MN'
        assert L.ping(lab.mn, L.CN6, '-I', LAST_MN).returncode == 0, 'last MN -> CN'
        assert tx_packets(lab.lma, tunnel) - sent >= 3, 'the packets to the MNs did not go through the tunnel'
    finally:
        lab.stop_nodes()
        # 10,000 routes left for the next test's reconcile to dump through pyroute2: gone now.
        nsutil.ip('-6', 'route', 'flush', 'table', str(LMA_TABLE), ns=lab.lma, check=False)
        nsutil.ip('addr', 'del', LAST_MN + '/64', 'dev', 'eth0', ns=lab.mn, check=False)
