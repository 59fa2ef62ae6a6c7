"""The lab network: namespaces, links and addresses, built and torn down with `ip`.

CN -- LMA -- (MAG1, MAG2); MN1 (dual stack) moves between the MAGs through an "air"
namespace of bridges; MN2 (IPv4-only) stays on MAG1, MN3 (IPv6-only) on MAG2. Every name
starts with the lab's prefix, so `down` finds everything it made and nothing else.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass, field

PREFIX = 'pml-'


@dataclass(frozen=True)
class MobileNode:
    name: str
    mac: str
    service: str  # ipv4 | ipv6 | dual
    mag: str  # the MAG it starts on


@dataclass(frozen=True)
class Lab:
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
    hnp_pool: str = '2001:db8:aaaa::/48'
    ipv4_pool: str = '10.1.0.0/24'

    def ns(self, node: str) -> str:
        return f'{self.prefix}{node}'

    @property
    def nodes(self) -> list[str]:
        return ['cn', 'lma', *self.mags, 'air', *(mn.name for mn in self.mobile_nodes)]

    def access_ifname(self, mag: str, mn: str) -> str:
        """The MAG's access interface toward one MN's radio (point-to-point link model)."""
        return f'{mag}-{mn}'


def run(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(list(args), check=check, capture_output=True, text=True)


def ip(*args: str) -> None:
    run('ip', *args)


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

    def veth(a: str, a_dev: str, b: str, b_dev: str) -> None:
        ip('link', 'add', a_dev, 'netns', lab.ns(a), 'type', 'veth', 'peer', 'name', b_dev, 'netns', lab.ns(b))
        ip('-n', lab.ns(a), 'link', 'set', a_dev, 'up')
        ip('-n', lab.ns(b), 'link', 'set', b_dev, 'up')

    # Correspondent node and the transport network between the LMA and the MAGs.
    veth('cn', 'eth0', 'lma', 'cn0')
    run('ip', '-n', lab.ns('cn'), 'addr', 'add', f'{lab.cn6}/64', 'dev', 'eth0', 'nodad')
    run('ip', '-n', lab.ns('cn'), 'addr', 'add', f'{lab.cn4}/24', 'dev', 'eth0')
    run('ip', '-n', lab.ns('lma'), 'addr', 'add', '2001:db8:cc::1/64', 'dev', 'cn0', 'nodad')
    run('ip', '-n', lab.ns('lma'), 'addr', 'add', '192.0.2.1/24', 'dev', 'cn0')
    ip('-n', lab.ns('cn'), '-6', 'route', 'add', lab.hnp_pool, 'via', '2001:db8:cc::1')
    ip('-n', lab.ns('cn'), 'route', 'add', lab.ipv4_pool, 'via', '192.0.2.1')
    ip('-n', lab.ns('lma'), 'link', 'add', 'core', 'type', 'bridge')
    ip('-n', lab.ns('lma'), 'link', 'set', 'core', 'up')
    ip('-n', lab.ns('lma'), 'addr', 'add', f'{lab.lma}/64', 'dev', 'core', 'nodad')
    ip('-n', lab.ns('lma'), 'addr', 'add', f'{lab.lma4}/24', 'dev', 'core')
    for mag, address in lab.mags.items():
        veth('lma', f'to-{mag}', mag, 'up0')
        ip('-n', lab.ns('lma'), 'link', 'set', f'to-{mag}', 'master', 'core')
        ip('-n', lab.ns(mag), 'addr', 'add', f'{address}/64', 'dev', 'up0', 'nodad')
        ip('-n', lab.ns(mag), 'addr', 'add', f'{lab.mags4[mag]}/24', 'dev', 'up0')
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
        for mag in lab.mags:
            link = lab.access_ifname(mag, mn.name)
            veth(mag, link, 'air', f'{mag[-1]}{mn.name}')
            ip('-n', air, 'link', 'add', f'br{mag[-1]}{mn.name}', 'type', 'bridge')
            ip('-n', air, 'link', 'set', f'br{mag[-1]}{mn.name}', 'up')
            ip('-n', air, 'link', 'set', f'{mag[-1]}{mn.name}', 'master', f'br{mag[-1]}{mn.name}')
            if mag != mn.mag:
                ip('-n', air, 'link', 'set', f'{mag[-1]}{mn.name}', 'down')  # no carrier: not associated
        ip('-n', air, 'link', 'set', f'{mn.name}-radio', 'master', f'br{mn.mag[-1]}{mn.name}')


def associate(lab: Lab, mn: str, old: str, new: str) -> None:
    """Move `mn`'s radio from `old` MAG to `new`: old link loses carrier, the MN's interface restarts."""
    air = lab.ns('air')
    ip('-n', lab.ns(mn), 'link', 'set', 'eth0', 'down')
    ip('-n', air, 'link', 'set', f'{old[-1]}{mn}', 'down')
    ip('-n', air, 'link', 'set', f'{mn}-radio', 'master', f'br{new[-1]}{mn}')
    ip('-n', air, 'link', 'set', f'{new[-1]}{mn}', 'up')
    ip('-n', lab.ns(mn), 'link', 'set', 'eth0', 'up')


def teardown(prefix: str = PREFIX) -> list[str]:
    """Delete every namespace of the lab (their links and routes go with them)."""
    removed = existing_namespaces(prefix)
    for ns in removed:
        pids = run('ip', 'netns', 'pids', ns, check=False).stdout.split()
        for pid in pids:
            run('kill', '-TERM', pid, check=False)
        run('ip', 'netns', 'del', ns, check=False)
    return removed
