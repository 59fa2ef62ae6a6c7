"""The MAG's DHCP relays with real, unmodified clients and a real server (dnsmasq) in namespaces.

Three namespaces: MN (busybox udhcpc / ISC dhclient -6, nothing of ours) -- MAG -- LMA, with
dnsmasq beside the LMA daemon. The MAG relays only after the PBA: giaddr is the MN's IPv4
default router (RFC 5844 §3.4), the DHCPv6 link-address an address of the MN's HNP
(RFC 5213 §6.11). dnsmasq is configured the way a domain must configure its server: to hand
the MN exactly the home address the LMA assigns; when it hands anything else, the MAG drops
the answer and the MN gets nothing.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.integration.test_lma_netns import ip, wait_for
from tests.integration.test_mag_netns import lease_then_release, start
from tests.integration.test_revocation_netns import shell

BUSYBOX, DNSMASQ, DHCLIENT = shutil.which('busybox'), shutil.which('dnsmasq'), shutil.which('dhclient')
pytestmark = [
    pytest.mark.needs_root,
    pytest.mark.skipif(os.geteuid() != 0 or shutil.which('ip') is None, reason='needs root and iproute2'),
    pytest.mark.skipif(DNSMASQ is None, reason='dnsmasq not installed (Debian: dnsmasq-base)'),
]

MN_MAC = '02:00:00:00:01:01'
HNP = '2001:db8:aaaa:1::/64'
DOMAIN = """\
ipv6 mobile pmipv6-domain D
 lma LMA1
  ipv6-address 2001:db8:12::2
 mag MAG1
  ipv6-address 2001:db8:12::1
 mac-address 0200.0000.0101
  service dual
  hnp 2001:db8:aaaa:1::/64
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
 address ipv6 2001:db8:12::1{ipv4}
 interface acc{tag} access-tech ieee-802.3
 lma LMA1 D
 dhcp mode relay destination 192.0.2.2
 ipv6 dhcp relay destination 2001:db8:12::2
!
end
"""
HOA = '10.1.0.2'  # the first address of the LMA's pool V (10.1.0.1 is the default router)


def dnsmasq(ns: str, state: Path, ifname: str, hands_out: str) -> subprocess.Popen[bytes]:
    """dnsmasq as the domain's DHCP server: `hands_out` reserved for the MN's MAC, addresses in the HNP for DHCPv6."""
    state.mkdir()
    process = subprocess.Popen(
        ['ip', 'netns', 'exec', ns, str(DNSMASQ), '--no-daemon', '--conf-file=/dev/null', '--port=0', '--user=root',
         f'--interface={ifname}', '--log-dhcp', f'--pid-file={state / "pid"}', f'--dhcp-leasefile={state / "leases"}',
         '--dhcp-range=10.1.0.2,10.1.0.20,255.255.255.0,1h', f'--dhcp-host={MN_MAC},{hands_out}',
         '--dhcp-range=2001:db8:aaaa:1::100,2001:db8:aaaa:1::1ff,64,1h'],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, bufsize=0,
    )
    try:
        wait_for(process, 'DHCP, IP range', 10)
    except AssertionError:
        process.kill()
        process.wait(10)
        raise
    return process


@pytest.fixture
def relay_lab(tmp_path: Path) -> Iterator[Any]:
    """A factory: build the topology with dnsmasq handing out the given IPv4 address."""
    tag = uuid.uuid4().hex[:5]
    names = {role: f'pr{role}-{tag}' for role in ('mn', 'mag', 'lma')}
    processes: list[subprocess.Popen[bytes]] = []

    def build(hands_out: str = HOA, agent_address: bool = False) -> dict[str, Any]:
        """`agent_address`: the MAG relays from its own IPv4 address (RFC 3527 link selection)."""
        for ns in names.values():
            ip('netns', 'add', ns)
        ip('link', 'add', f'tl{tag}', 'netns', names['lma'], 'type', 'veth', 'peer', 'name', f'tm{tag}', 'netns', names['mag'])
        ip('-n', names['lma'], 'addr', 'add', '2001:db8:12::2/64', 'dev', f'tl{tag}', 'nodad')
        ip('-n', names['mag'], 'addr', 'add', '2001:db8:12::1/64', 'dev', f'tm{tag}', 'nodad')
        ip('-n', names['lma'], 'addr', 'add', '192.0.2.2/24', 'dev', f'tl{tag}')
        ip('-n', names['mag'], 'addr', 'add', '192.0.2.1/24', 'dev', f'tm{tag}')
        for ns, dev in ((names['lma'], f'tl{tag}'), (names['mag'], f'tm{tag}')):
            ip('-n', ns, 'link', 'set', dev, 'up')
        if not agent_address:
            # The server answers the relay at giaddr, the MN's default router, which this MAG holds.
            ip('-n', names['lma'], 'route', 'add', '10.1.0.1/32', 'via', '192.0.2.1')
        ip('link', 'add', f'acc{tag}', 'netns', names['mag'], 'type', 'veth', 'peer', 'name', 'eth0', 'netns', names['mn'])
        ip('-n', names['mn'], 'link', 'set', 'eth0', 'address', MN_MAC)
        subprocess.run(['ip', 'netns', 'exec', names['mn'], 'sysctl', '-qw', 'net.ipv6.conf.eth0.accept_dad=0'], check=True)
        ip('-n', names['mag'], 'link', 'set', f'acc{tag}', 'up')
        (tmp_path / 'lma.conf').write_text(LMA_CONFIG)
        ipv4 = '\n address ipv4 192.0.2.1' if agent_address else ''
        (tmp_path / 'mag.conf').write_text(MAG_CONFIG.format(tag=tag, ipv4=ipv4))
        processes.append(dnsmasq(names['lma'], tmp_path / 'dnsmasq', f'tl{tag}', hands_out))
        processes.append(start(names['lma'], tmp_path / 'lma.conf', tmp_path / 'lma-state'))
        processes.append(start(names['mag'], tmp_path / 'mag.conf', tmp_path / 'mag-state'))
        ip('-n', names['mn'], 'link', 'set', 'eth0', 'up')
        return {**names, 'dnsmasq': processes[0], 'lma_daemon': processes[1], 'mag_daemon': processes[2]}

    try:
        yield build
    finally:
        for process in processes:
            process.terminate()
            process.wait(10)
        for ns in names.values():
            subprocess.run(['ip', 'netns', 'del', ns], capture_output=True)


def udhcpc(ns: str, tmp_path: Path) -> tuple[Path, subprocess.CompletedProcess[str]]:
    """busybox udhcpc once, recording what it was bound with."""
    script = tmp_path / 'udhcpc.sh'
    result = tmp_path / 'lease4'
    script.write_text(f'#!/bin/sh\n[ "$1" = bound ] && echo "$ip $subnet $serverid" > {result}\nexit 0\n')
    script.chmod(0o755)
    out = subprocess.run(
        ['ip', 'netns', 'exec', ns, str(BUSYBOX), 'udhcpc', '-i', 'eth0', '-f', '-q', '-n', '-t', '6', '-T', '1',
         '-s', str(script)],
        capture_output=True, text=True, timeout=60,
    )
    return result, out


@pytest.mark.skipif(BUSYBOX is None, reason='busybox (udhcpc) not installed')
@pytest.mark.parametrize('agent_address', [False, True], ids=['giaddr-default-router', 'giaddr-mag-link-selection'])
def test_real_dhcp_client_gets_the_home_address_through_the_relay(relay_lab: Any, tmp_path: Path, agent_address: bool) -> None:
    """udhcpc -> MAG relay -> dnsmasq -> relay -> udhcpc: the LMA's HoA.

    giaddr is the MN's default router (the server routes it to this MAG), or the MAG's own
    IPv4 address with the default router in an RFC 3527 Link Selection sub-option (no route
    to the default router needed: how several MAGs share one server).
    """
    lab = relay_lab(agent_address=agent_address)
    result, out = udhcpc(lab['mn'], tmp_path)
    assert result.exists(), out.stdout + out.stderr
    address, mask, server_id = result.read_text().split()
    # The MAG stands in as server identifier (its default router), so RENEW and RELEASE come to it.
    assert (address, mask, server_id) == (HOA, '255.255.255.0', '10.1.0.1')
    wait_for(lab['dnsmasq'], 'DHCPACK(tl', 10)  # the real server answered, over the relay link


@pytest.mark.skipif(BUSYBOX is None, reason='busybox (udhcpc) not installed')
def test_server_offering_another_address_is_dropped_by_the_relay(relay_lab: Any, tmp_path: Path) -> None:
    """A server that offers anything but the LMA's HoA never reaches the MN (dropped and counted)."""
    lab = relay_lab(hands_out='10.1.0.9')
    result, out = udhcpc(lab['mn'], tmp_path)
    assert not result.exists(), result.read_text()
    wait_for(lab['mag_daemon'], 'reason=address-not-the-home-address', 10)
    stats = shell(tmp_path / 'mag-state.sock', 'show ipv6 mobile pmipv6 mag stats\n')
    assert re.search(r'Dropped from the access links:(.|\n)*dhcp4-relay-address-not-the-home-address\s+[1-9]', stats), stats


@pytest.mark.skipif(DHCLIENT is None, reason='ISC dhclient not installed (Debian: isc-dhcp-client)')
def test_real_dhcpv6_client_gets_an_address_from_its_home_prefix(relay_lab: Any, tmp_path: Path) -> None:
    """dhclient -6 -> MAG relay (link-address from the HNP) -> dnsmasq: an address inside the MN's HNP."""
    lab = relay_lab()
    result = tmp_path / 'lease6'
    script = tmp_path / 'dhclient.sh'
    script.write_text(f'#!/bin/sh\n[ "$reason" = BOUND6 ] && echo "$new_ip6_address" > {result}\nexit 0\n')
    script.chmod(0o755)
    client = subprocess.Popen(
        ['ip', 'netns', 'exec', lab['mn'], str(DHCLIENT), '-6', '-d', '-v', '-lf', str(tmp_path / 'dhclient.leases'),
         '-pf', str(tmp_path / 'dhclient.pid'), '-sf', str(script), 'eth0'],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 40
        while not (result.exists() and result.read_text().strip()) and time.monotonic() < deadline:
            time.sleep(0.2)
    finally:
        client.terminate()
        client.wait(10)
    assert result.exists(), 'no DHCPv6 lease'
    address = result.read_text().strip()
    assert address.startswith('2001:db8:aaaa:1::1'), address  # from the range dnsmasq keeps for the HNP's link


@pytest.mark.skipif(BUSYBOX is None, reason='busybox (udhcpc) not installed')
def test_release_through_the_relay_deregisters_only_the_ipv4_part(relay_lab: Any, tmp_path: Path) -> None:
    """In relay mode a DHCPRELEASE still reaches the server and makes the MAG de-register the IPv4 HoA."""
    lab = relay_lab()
    lease_then_release(lab['mn'], tmp_path, tries=6, timeout=30)
    wait_for(lab['lma_daemon'], 'selective-deregistration', 15)
