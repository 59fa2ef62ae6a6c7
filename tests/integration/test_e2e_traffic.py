"""End to end with the userspace data plane: an unmodified MN pings a correspondent node through MAG and LMA.

CN -- LMA -- MAG -- MN, four namespaces, the two routers real `pmiprouter run` daemons
with `--dataplane userspace` (this kernel has no tunnel modules: the daemons tunnel the
packets themselves through a TUN device). The MN's address comes from its own SLAAC.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.integration.test_lma_netns import ip
from tests.integration.test_mag_netns import LMA_CONFIG, MAG_CONFIG, MN_MAC, mn_addresses, start

pytestmark = [
    pytest.mark.needs_root,
    pytest.mark.skipif(os.geteuid() != 0 or shutil.which('ip') is None, reason='needs root and iproute2'),
]


def sysctl(ns: str, key: str, value: str) -> None:
    subprocess.run(['ip', 'netns', 'exec', ns, 'sysctl', '-qw', f'{key}={value}'], check=True)


@pytest.fixture
def network(tmp_path: Path) -> Iterator[dict[str, Any]]:
    tag = uuid.uuid4().hex[:5]
    ns = {role: f'pe{role}-{tag}' for role in ('cn', 'lma', 'mag', 'mn')}
    for name in ns.values():
        ip('netns', 'add', name)
        ip('-n', name, 'link', 'set', 'lo', 'up')
    processes: list[subprocess.Popen[bytes]] = []
    try:
        def veth(a: str, a_dev: str, b: str, b_dev: str) -> None:
            ip('link', 'add', a_dev, 'netns', ns[a], 'type', 'veth', 'peer', 'name', b_dev, 'netns', ns[b])
        veth('cn', 'eth0', 'lma', f'cn{tag}')
        veth('lma', f'tl{tag}', 'mag', f'tm{tag}')
        veth('mag', f'acc{tag}', 'mn', 'eth0')
        ip('-n', ns['cn'], 'addr', 'add', '2001:db8:cc::2/64', 'dev', 'eth0', 'nodad')
        ip('-n', ns['lma'], 'addr', 'add', '2001:db8:cc::1/64', 'dev', f'cn{tag}', 'nodad')
        ip('-n', ns['cn'], 'addr', 'add', '192.0.2.2/24', 'dev', 'eth0')
        ip('-n', ns['lma'], 'addr', 'add', '192.0.2.1/24', 'dev', f'cn{tag}')
        ip('-n', ns['lma'], 'addr', 'add', '2001:db8:12::2/64', 'dev', f'tl{tag}', 'nodad')
        ip('-n', ns['mag'], 'addr', 'add', '2001:db8:12::1/64', 'dev', f'tm{tag}', 'nodad')
        ip('-n', ns['mn'], 'link', 'set', 'eth0', 'address', MN_MAC)
        sysctl(ns['mn'], 'net.ipv6.conf.eth0.accept_dad', '0')
        for name, dev in ((ns['cn'], 'eth0'), (ns['lma'], f'cn{tag}'), (ns['lma'], f'tl{tag}'), (ns['mag'], f'tm{tag}'), (ns['mag'], f'acc{tag}')):
            ip('-n', name, 'link', 'set', dev, 'up')
        for router in ('lma', 'mag'):
            sysctl(ns[router], 'net.ipv6.conf.all.forwarding', '1')
            sysctl(ns[router], 'net.ipv4.ip_forward', '1')
        ip('-n', ns['cn'], '-6', 'route', 'add', '2001:db8:aaaa::/48', 'via', '2001:db8:cc::1')
        ip('-n', ns['cn'], 'route', 'add', '10.1.0.0/24', 'via', '192.0.2.1')
        (tmp_path / 'lma.conf').write_text(LMA_CONFIG)
        (tmp_path / 'mag.conf').write_text(MAG_CONFIG.format(tag=tag))
        processes.append(start(ns['lma'], tmp_path / 'lma.conf', tmp_path / 'ls', dataplane='userspace'))
        processes.append(start(ns['mag'], tmp_path / 'mag.conf', tmp_path / 'ms', dataplane='userspace'))
        yield {**ns, 'processes': processes}
    finally:
        for process in processes:
            process.terminate()
            process.wait(10)
        for name in ns.values():
            ip('netns', 'del', name)


def test_mn_pings_the_correspondent_node_through_the_tunnel(network: dict[str, Any]) -> None:
    """SLAAC from the HNP, then IPv6 ping MN -> CN and back through MAG, tunnel and LMA."""
    ip('-n', network['mn'], 'link', 'set', 'eth0', 'up')
    deadline = time.monotonic() + 20
    while 'inet6 2001:db8:aaaa::' not in mn_addresses(network['mn']) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert 'inet6 2001:db8:aaaa::' in mn_addresses(network['mn'])
    ping = subprocess.run(['ip', 'netns', 'exec', network['mn'], 'ping', '-6', '-c', '3', '-i', '0.2', '-W', '2', '2001:db8:cc::2'],
                          capture_output=True, text=True)
    assert ping.returncode == 0, ping.stdout + ping.stderr


BUSYBOX = shutil.which('busybox')


@pytest.mark.skipif(BUSYBOX is None, reason='busybox (udhcpc) not installed')
def test_dual_stack_mn_pings_over_ipv4_with_its_dhcp_address(network: dict[str, Any], tmp_path: Path) -> None:
    """The IPv4 HoA from the MAG's DHCP server carries IPv4 traffic to the CN through the IPv6 tunnel."""
    script = tmp_path / 'udhcpc.sh'
    script.write_text('#!/bin/sh\n[ "$1" = bound ] && ip addr add "$ip/$mask" dev "$interface" && ip route add default via "$router"\nexit 0\n')
    script.chmod(0o755)
    ip('-n', network['mn'], 'link', 'set', 'eth0', 'up')
    subprocess.run(['ip', 'netns', 'exec', network['mn'], str(BUSYBOX), 'udhcpc', '-i', 'eth0', '-f', '-q', '-n', '-t', '10', '-T', '1',
                    '-s', str(script)], capture_output=True, timeout=60, check=True)
    ping = subprocess.run(['ip', 'netns', 'exec', network['mn'], 'ping', '-4', '-c', '3', '-i', '0.2', '-W', '2', '192.0.2.2'],
                          capture_output=True, text=True)
    assert ping.returncode == 0, ping.stdout + ping.stderr
