"""MAG and LMA daemons in network namespaces serve an unmodified host: its kernel's SLAAC gets the HNP.

Three namespaces: MN (plain kernel, nothing of ours) -- MAG -- LMA. The MN's link comes
up, its kernel sends a Router Solicitation; the MAG registers it with the LMA (PBU/PBA over
real raw sockets) and only then advertises the home network prefix, from which the MN's
kernel configures its address. Memory data plane: this test is about signalling and the
access link, not forwarding.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.integration.test_lma_netns import ROOT, ip, wait_for

pytestmark = [
    pytest.mark.needs_root,
    pytest.mark.skipif(os.geteuid() != 0 or shutil.which('ip') is None, reason='needs root and iproute2'),
]

MN_MAC = '02:00:00:00:01:01'
DOMAIN = """\
ipv6 mobile pmipv6-domain D
 lma LMA1
  ipv6-address 2001:db8:12::2
 mag MAG1
  ipv6-address 2001:db8:12::1
 mac-address 0200.0000.0101
  service dual
!
"""
LMA_CONFIG = 'hostname lma\n' + DOMAIN + """\
ipv6 mobile pmipv6-lma LMA1 domain D
 address ipv6 2001:db8:12::2
 pool ipv6 P prefix 2001:db8:aaaa::/48 pfxlen 64
 pool ipv4 V prefix 10.1.0.0/24
!
end
"""
MAG_CONFIG = 'hostname mag\n' + DOMAIN + """\
ipv6 mobile pmipv6-mag MAG1 domain D
 address ipv6 2001:db8:12::1
 interface acc{tag} access-tech ieee-802.3
 lma LMA1 D
!
end
"""


def start(ns: str, config: Path, state: Path, dataplane: str = 'memory') -> subprocess.Popen[bytes]:
    process = subprocess.Popen(
        ['ip', 'netns', 'exec', ns, sys.executable, '-m', 'pmiprouter', 'run', '-c', str(config),
         '--dataplane', dataplane, '--state-dir', str(state), '--control-socket', str(state.parent / f'{state.name}.sock')],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, bufsize=0, cwd=ROOT,
    )
    try:
        wait_for(process, 'pmiprouter ready', 20)
    except AssertionError:
        process.kill()
        process.wait(10)
        raise
    return process


@pytest.fixture
def topology(tmp_path: Path) -> Iterator[dict[str, Any]]:
    tag = uuid.uuid4().hex[:5]
    names = {role: f'pt{role}-{tag}' for role in ('mn', 'mag', 'lma')}
    for ns in names.values():
        ip('netns', 'add', ns)
    processes: list[subprocess.Popen[bytes]] = []
    try:
        ip('link', 'add', f'tl{tag}', 'netns', names['lma'], 'type', 'veth', 'peer', 'name', f'tm{tag}', 'netns', names['mag'])
        ip('-n', names['lma'], 'addr', 'add', '2001:db8:12::2/64', 'dev', f'tl{tag}', 'nodad')
        ip('-n', names['mag'], 'addr', 'add', '2001:db8:12::1/64', 'dev', f'tm{tag}', 'nodad')
        for ns, dev in ((names['lma'], f'tl{tag}'), (names['mag'], f'tm{tag}')):
            ip('-n', ns, 'link', 'set', dev, 'up')
        ip('link', 'add', f'acc{tag}', 'netns', names['mag'], 'type', 'veth', 'peer', 'name', 'eth0', 'netns', names['mn'])
        ip('-n', names['mn'], 'link', 'set', 'eth0', 'address', MN_MAC)
        subprocess.run(['ip', 'netns', 'exec', names['mn'], 'sysctl', '-qw', 'net.ipv6.conf.eth0.accept_dad=0'], check=True)
        ip('-n', names['mag'], 'link', 'set', f'acc{tag}', 'up')
        (tmp_path / 'lma.conf').write_text(LMA_CONFIG)
        (tmp_path / 'mag.conf').write_text(MAG_CONFIG.format(tag=tag))
        processes.append(start(names['lma'], tmp_path / 'lma.conf', tmp_path / 'lma-state'))
        processes.append(start(names['mag'], tmp_path / 'mag.conf', tmp_path / 'mag-state'))
        yield {**names, 'processes': processes}
    finally:
        for process in processes:
            process.terminate()
            process.wait(10)
        for ns in names.values():
            ip('netns', 'del', ns)


def mn_addresses(ns: str) -> str:
    return subprocess.run(['ip', '-n', ns, '-6', 'addr', 'show', 'dev', 'eth0'], capture_output=True, text=True, check=True).stdout


def test_unmodified_host_gets_its_home_prefix_by_slaac(topology: dict[str, Any]) -> None:
    """The MN's own kernel configures an address from the HNP the MAG advertises after the PBA."""
    ip('-n', topology['mn'], 'link', 'set', 'eth0', 'up')  # the kernel sends its RS now
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        addresses = mn_addresses(topology['mn'])
        if '2001:db8:aaaa:' in addresses:
            break
        time.sleep(0.2)
    assert 'inet6 2001:db8:aaaa::' in addresses and 'scope global' in addresses, addresses
    routes = subprocess.run(['ip', '-n', topology['mn'], '-6', 'route'], capture_output=True, text=True).stdout
    assert 'default via fe80::200:5eff:fe00:5213' in routes, routes  # RFC 6543: the same router on every MAG


BUSYBOX = shutil.which('busybox')


@pytest.mark.skipif(BUSYBOX is None, reason='busybox (udhcpc) not installed')
def test_real_dhcp_client_gets_the_ipv4_home_address(topology: dict[str, Any], tmp_path: Path) -> None:
    """busybox udhcpc in the MN gets the IPv4 HoA the LMA assigned, with mask, router and MTU, from the MAG."""
    script = tmp_path / 'udhcpc.sh'
    result = tmp_path / 'lease'
    script.write_text(f'#!/bin/sh\n[ "$1" = bound ] && echo "$ip $subnet $router $mtu" > {result}\nexit 0\n')
    script.chmod(0o755)
    ip('-n', topology['mn'], 'link', 'set', 'eth0', 'up')
    out = subprocess.run(
        ['ip', 'netns', 'exec', topology['mn'], str(BUSYBOX), 'udhcpc', '-i', 'eth0', '-f', '-q', '-n', '-t', '10', '-T', '1',
         '-s', str(script)],
        capture_output=True, text=True, timeout=60,
    )
    assert result.exists(), out.stdout + out.stderr
    address, mask, router, mtu = result.read_text().split()
    # The Interface MTU is the tunnel's: 1500 minus the 40-byte outer IPv6 header (RFC 5844 §3.4.1).
    assert (address, mask, router, mtu) == ('10.1.0.2', '255.255.255.0', '10.1.0.1', '1460')


def test_carrier_loss_on_the_access_link_deregisters_the_mn(topology: dict[str, Any]) -> None:
    """When the MN's link goes away the MAG de-registers it at the LMA (netlink link event)."""
    ip('-n', topology['mn'], 'link', 'set', 'eth0', 'up')
    deadline = time.monotonic() + 20
    while 'inet6 2001:db8:aaaa::' not in mn_addresses(topology['mn']) and time.monotonic() < deadline:
        time.sleep(0.2)
    lma = topology['processes'][0]
    ip('-n', topology['mn'], 'link', 'set', 'eth0', 'down')  # the MAG's end loses its carrier
    wait_for(lma, 'session-deregistered', 15)


@pytest.mark.skipif(BUSYBOX is None, reason='busybox (udhcpc) not installed')
def test_dhcp_release_deregisters_only_the_ipv4_part(topology: dict[str, Any], tmp_path: Path) -> None:
    """A DHCPRELEASE from the MN makes the MAG de-register the IPv4 HoA only (RFC 5844 §3.4)."""
    ip('-n', topology['mn'], 'link', 'set', 'eth0', 'up')
    lease_then_release(topology['mn'], tmp_path, tries=10, timeout=20)
    wait_for(topology['processes'][0], 'selective-deregistration', 15)


def lease_then_release(ns: str, tmp_path: Path, tries: int, timeout: float) -> None:
    """busybox udhcpc in `ns` until it has configured a lease, then stopped: `-R` releases it on exit
    (sent from the leased address, so the client must really configure it)."""
    script = tmp_path / 'udhcpc.sh'
    bound = tmp_path / 'bound'
    script.write_text(f'#!/bin/sh\n[ "$1" = bound ] && ip addr add "$ip/$mask" dev "$interface" && touch {bound}\nexit 0\n')
    script.chmod(0o755)
    client = subprocess.Popen(
        ['ip', 'netns', 'exec', ns, str(BUSYBOX), 'udhcpc', '-i', 'eth0', '-f', '-R', '-t', str(tries), '-T', '1',
         '-s', str(script)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + timeout
        while not bound.exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        assert bound.exists(), 'no lease'
    finally:
        client.terminate()
        client.wait(10)
