"""The lab network: namespaces, links and addresses, built and torn down with `ip`.

By default CN -- LMA -- (MAG1, MAG2); MN1 (dual stack) moves between the MAGs through an
"air" namespace of bridges; MN2 (IPv4-only) stays on MAG1, MN3 (IPv6-only) on MAG2. A
topology file (topology_file.py) describes others. Every name starts with the lab's prefix,
so `down` finds everything it made and nothing else.
"""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from ipaddress import ip_network
from typing import TypeVar

from pmiprouter.dataplane.probe import enter_netns
from pmiprouter.dataplane.rtnl_batch import RtnlBatch

_T = TypeVar('_T')

PREFIX = 'pml-'
VETH_INDEX_BASE = 1000


@dataclass(frozen=True)
class MobileNode:
    name: str
    mac: str
    service: str  # ipv4 | ipv6 | dual
    mag: str  # the MAG it starts on
    links: tuple[str, ...] = ()  # the MAGs it can associate with; empty: every MAG


@dataclass(frozen=True)
class Lab:
    """A lab network; the defaults are the default topology (conf/lab/default.topology)."""

    prefix: str = PREFIX
    mobile_nodes: tuple[MobileNode, ...] = (
        MobileNode('mn1', '02:00:00:00:01:01', 'dual', 'mag1'),
        MobileNode('mn2', '02:00:00:00:01:02', 'ipv4', 'mag1'),
        MobileNode('mn3', '02:00:00:00:01:03', 'ipv6', 'mag2'),
    )
    mags: dict[str, str] = field(default_factory=lambda: {'mag1': '2001:db8:12::1', 'mag2': '2001:db8:12::3'})
    mags4: dict[str, str] = field(default_factory=lambda: {'mag1': '198.51.100.1', 'mag2': '198.51.100.3'})
    lma: str = '2001:db8:12::2'
    lma4: str = '198.51.100.2'
    encap: str = 'ipv6-in-ipv6'  # the domain's `encap`: ipv6-in-ipv6, gre-ipv6, udptunnel, ...
    cn6: str = '2001:db8:cc::2'
    cn4: str = '192.0.2.2'
    cn_gateway6: str = '2001:db8:cc::1'  # the LMA's addresses on the CN's link
    cn_gateway4: str = '192.0.2.1'
    cn_prefixlen6: int = 64
    cn_prefixlen4: int = 24
    core_prefixlen6: int = 64  # the transport network of the LMA and the MAGs
    core_prefixlen4: int = 24
    hnp_pool: str = '2001:db8:aaaa::/48'
    ipv4_pool: str = '10.1.0.0/24'
    dhcp: str = 'server'  # server: each MAG's own DHCPv4 server; relay: the MAGs relay to a dnsmasq
    dhcp_server4: str = '198.51.100.67'  # relay mode: the DHCP server's namespace, on the core network

    def ns(self, node: str) -> str:
        return f'{self.prefix}{node}'

    @property
    def nodes(self) -> list[str]:
        server = ['dhcp'] if self.dhcp == 'relay' else []
        return ['cn', 'lma', *server, *self.mags, 'air', *(mn.name for mn in self.mobile_nodes)]

    def home_address(self, mn: MobileNode) -> str | None:
        """Relay mode: the IPv4 home address fixed for `mn` in the domain and in the DHCP server
        (the server must hand out exactly the HoA the LMA assigns, RFC 5844 §3.4)."""
        if self.dhcp != 'relay' or mn.service == 'ipv6':
            return None
        hosts = list(ip_network(self.ipv4_pool).hosts())
        return str(hosts[10 + self.mobile_nodes.index(mn)])

    def access_ifname(self, mag: str, mn: str) -> str:
        """The MAG's access interface toward one MN's radio (point-to-point link model)."""
        return f'{mag}-{mn}'

    def links_of(self, mn: MobileNode) -> list[str]:
        """The MAGs `mn` has an access link to."""
        return list(mn.links) if mn.links else list(self.mags)

    def mobile_node(self, name: str) -> MobileNode:
        return next(mn for mn in self.mobile_nodes if mn.name == name)

    def air_port(self, mag: str, mn: str) -> str:
        """The air end of `mag`'s access link to `mn` (named by the MAG's position: short)."""
        return f'{list(self.mags).index(mag) + 1}{mn}'

    def air_bridge(self, mag: str, mn: str) -> str:
        return f'br{self.air_port(mag, mn)}'


def run(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(list(args), check=check, capture_output=True, text=True)


def ip(*args: str) -> None:
    run('ip', *args)


def in_namespace(ns: str, make: Callable[[], _T]) -> _T:
    """`make()` run on a thread inside namespace `ns`: a socket it creates stays in `ns`."""

    def inside() -> _T:
        enter_netns(ns)
        return make()

    with ThreadPoolExecutor(max_workers=1, thread_name_prefix=f'netns-{ns}') as pool:
        return pool.submit(inside).result()


def set_link_up(ns: str, ifname: str, up: bool) -> float:
    """Bring `ifname` in namespace `ns` up or down over netlink; the time right after the kernel
    confirmed it. An `ip` command takes ~3.5 ms here and makes the change ~0.5 ms before it
    exits: a handover's figures are measured from this moment, which must be known better."""
    batch = in_namespace(ns, RtnlBatch)
    try:
        code = batch.set_link_up(ifname, up)
        done = time.time()
    finally:
        batch.close()
    if code:
        raise OSError(code, f'{ifname} in {ns}: {os.strerror(code)}')
    return done


def sysctl(ns: str, key: str, value: str) -> None:
    run('ip', 'netns', 'exec', ns, 'sysctl', '-qw', f'{key}={value}')


def existing_namespaces(prefix: str = PREFIX) -> list[str]:
    out = run('ip', 'netns', 'list', check=False).stdout
    return sorted(line.split()[0] for line in out.splitlines() if line.startswith(prefix))


def build(lab: Lab) -> None:
    """Create every namespace, link and address; the routers' daemons are started separately."""
    for node in lab.nodes:
        ip('netns', 'add', lab.ns(node))
        ip('-n', lab.ns(node), 'link', 'set', 'lo', 'up')
    air = lab.ns('air')
    sysctl(air, 'net.ipv6.conf.all.disable_ipv6', '1')  # layer 2 only: no RS from the bridges
    sysctl(air, 'net.ipv6.conf.default.disable_ipv6', '1')

    indexes = iter(range(VETH_INDEX_BASE, VETH_INDEX_BASE + 10000, 2))

    def veth(a: str, a_dev: str, b: str, b_dev: str) -> None:
        # Distinct indexes for the two ends: the kernel handles carrier changes of a device whose
        # index equals its peer's as non-urgent, up to one second late (net/core/link_watch.c);
        # fresh namespaces number from 1, so without this, equal indexes happen by chance.
        first = next(indexes)
        made = run('ip', 'link', 'add', a_dev, 'netns', lab.ns(a), 'index', str(first), 'type', 'veth',
                   'peer', 'name', b_dev, 'netns', lab.ns(b), 'index', str(first + 1), check=False)
        if made.returncode != 0:  # an index in use (a kernel with one global index space)
            ip('link', 'add', a_dev, 'netns', lab.ns(a), 'type', 'veth', 'peer', 'name', b_dev, 'netns', lab.ns(b))
        ip('-n', lab.ns(a), 'link', 'set', a_dev, 'up')
        ip('-n', lab.ns(b), 'link', 'set', b_dev, 'up')

    # Correspondent node and the transport network between the LMA and the MAGs.
    veth('cn', 'eth0', 'lma', 'cn0')
    ip('-n', lab.ns('cn'), 'addr', 'add', f'{lab.cn6}/{lab.cn_prefixlen6}', 'dev', 'eth0', 'nodad')
    ip('-n', lab.ns('cn'), 'addr', 'add', f'{lab.cn4}/{lab.cn_prefixlen4}', 'dev', 'eth0')
    ip('-n', lab.ns('lma'), 'addr', 'add', f'{lab.cn_gateway6}/{lab.cn_prefixlen6}', 'dev', 'cn0', 'nodad')
    ip('-n', lab.ns('lma'), 'addr', 'add', f'{lab.cn_gateway4}/{lab.cn_prefixlen4}', 'dev', 'cn0')
    ip('-n', lab.ns('cn'), '-6', 'route', 'add', lab.hnp_pool, 'via', lab.cn_gateway6)
    ip('-n', lab.ns('cn'), 'route', 'add', lab.ipv4_pool, 'via', lab.cn_gateway4)
    ip('-n', lab.ns('lma'), 'link', 'add', 'core', 'type', 'bridge')
    ip('-n', lab.ns('lma'), 'link', 'set', 'core', 'up')
    ip('-n', lab.ns('lma'), 'addr', 'add', f'{lab.lma}/{lab.core_prefixlen6}', 'dev', 'core', 'nodad')
    ip('-n', lab.ns('lma'), 'addr', 'add', f'{lab.lma4}/{lab.core_prefixlen4}', 'dev', 'core')
    for mag, address in lab.mags.items():
        veth('lma', f'to-{mag}', mag, 'up0')
        ip('-n', lab.ns('lma'), 'link', 'set', f'to-{mag}', 'master', 'core')
        ip('-n', lab.ns(mag), 'addr', 'add', f'{address}/{lab.core_prefixlen6}', 'dev', 'up0', 'nodad')
        ip('-n', lab.ns(mag), 'addr', 'add', f'{lab.mags4[mag]}/{lab.core_prefixlen4}', 'dev', 'up0')
    if lab.dhcp == 'relay':  # the domain's DHCP server, on the core network
        veth('lma', 'to-dhcp', 'dhcp', 'eth0')
        ip('-n', lab.ns('lma'), 'link', 'set', 'to-dhcp', 'master', 'core')
        ip('-n', lab.ns('dhcp'), 'addr', 'add', f'{lab.dhcp_server4}/{lab.core_prefixlen4}', 'dev', 'eth0')
    for router in ('lma', *lab.mags):
        sysctl(lab.ns(router), 'net.ipv6.conf.all.forwarding', '1')
        sysctl(lab.ns(router), 'net.ipv4.ip_forward', '1')
    # Radios: every MN has an access link to every MAG, joined to its radio by a bridge in
    # the air; only the bridge of the MAG it is "associated" with carries its radio.
    for mn in lab.mobile_nodes:
        veth(mn.name, 'eth0', 'air', f'{mn.name}-radio')
        ip('-n', lab.ns(mn.name), 'link', 'set', 'eth0', 'down')
        ip('-n', lab.ns(mn.name), 'link', 'set', 'eth0', 'address', mn.mac)
        sysctl(lab.ns(mn.name), 'net.ipv6.conf.eth0.accept_dad', '0')
        for mag in lab.links_of(mn):
            port, bridge = lab.air_port(mag, mn.name), lab.air_bridge(mag, mn.name)
            veth(mag, lab.access_ifname(mag, mn.name), 'air', port)
            ip('-n', air, 'link', 'add', bridge, 'type', 'bridge')
            ip('-n', air, 'link', 'set', bridge, 'up')
            ip('-n', air, 'link', 'set', port, 'master', bridge)
            if mag != mn.mag:
                ip('-n', air, 'link', 'set', port, 'down')  # no carrier: not associated
        ip('-n', air, 'link', 'set', f'{mn.name}-radio', 'master', lab.air_bridge(mn.mag, mn.name))


def associate(lab: Lab, mn: str, old: str, new: str) -> float:
    """Move `mn`'s radio from `old` MAG to `new`, as a roaming station re-associates: its
    interface loses its carrier and gets it back (it stays up and keeps its addresses and
    routes), the old MAG's access link loses its carrier, the new MAG's gets one.

    Returns the time (epoch seconds) by which the radio was down, within the ~0.1 ms of one
    netlink round trip: the link move.
    """
    air = lab.ns('air')
    moved_at = set_link_up(air, f'{mn}-radio', False)
    ip('-n', air, 'link', 'set', lab.air_port(old, mn), 'down')
    ip('-n', air, 'link', 'set', f'{mn}-radio', 'master', lab.air_bridge(new, mn))
    ip('-n', air, 'link', 'set', lab.air_port(new, mn), 'up')
    ip('-n', air, 'link', 'set', f'{mn}-radio', 'up')
    return moved_at


def teardown(prefix: str = PREFIX) -> list[str]:
    """Delete every namespace of the lab (their links and routes go with them)."""
    removed = existing_namespaces(prefix)
    for ns in removed:
        pids = run('ip', 'netns', 'pids', ns, check=False).stdout.split()
        for pid in pids:
            run('kill', '-TERM', pid, check=False)
        run('ip', 'netns', 'del', ns, check=False)
    return removed
