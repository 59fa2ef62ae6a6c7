"""Handover end to end: the MN's link moves from MAG1 to MAG2; it keeps its address and its traffic.

CN -- LMA -- MAG1, MAG2; the MN's cable runs through an "air" namespace whose bridges
connect it to MAG1's or MAG2's access link. Moving it takes MAG1's link down (MAG1
de-registers) and brings MAG2's up; the MN's kernel solicits a router again, MAG2
registers the same MN (same MN-ID, ATT and link-layer id: the LMA moves the binding), the
HNP is kept and the ping goes on.
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

from tests.integration.test_e2e_traffic import sysctl
from tests.integration.test_lma_netns import ip
from tests.integration.test_mag_netns import DOMAIN, LMA_CONFIG, MN_MAC, mn_addresses, start

pytestmark = [
    pytest.mark.needs_root,
    pytest.mark.skipif(os.geteuid() != 0 or shutil.which('ip') is None, reason='needs root and iproute2'),
]

MAG_CONFIG = 'hostname {name}\n' + DOMAIN.replace(
    ' mag MAG1\n  ipv6-address 2001:db8:12::1\n', ' mag MAG1\n  ipv6-address 2001:db8:12::1\n mag MAG2\n  ipv6-address 2001:db8:12::3\n'
) + """\
ipv6 mobile pmipv6-mag {name} domain D
 address ipv6 {address}
 interface {ifname} access-tech ieee-802.3
 lma LMA1 D
!
end
"""


@pytest.fixture
def network(tmp_path: Path) -> Iterator[dict[str, Any]]:
    tag = uuid.uuid4().hex[:5]
    ns = {role: f'ph{role}-{tag}' for role in ('cn', 'lma', 'mag1', 'mag2', 'air', 'mn')}
    for name in ns.values():
        ip('netns', 'add', name)
        ip('-n', name, 'link', 'set', 'lo', 'up')
    processes: list[subprocess.Popen[bytes]] = []
    try:
        def veth(a: str, a_dev: str, b: str, b_dev: str) -> None:
            ip('link', 'add', a_dev, 'netns', ns[a], 'type', 'veth', 'peer', 'name', b_dev, 'netns', ns[b])
        veth('cn', 'eth0', 'lma', 'cn0')
        ip('-n', ns['lma'], 'link', 'add', 'core', 'type', 'bridge')
        veth('lma', 'l1', 'mag1', 'up0')
        veth('lma', 'l2', 'mag2', 'up0')
        veth('mag1', f'acc1{tag}', 'air', 'a1')
        veth('mag2', f'acc2{tag}', 'air', 'a2')
        veth('mn', 'eth0', 'air', 'mnlink')
        ip('-n', ns['cn'], 'addr', 'add', '2001:db8:cc::2/64', 'dev', 'eth0', 'nodad')
        ip('-n', ns['lma'], 'addr', 'add', '2001:db8:cc::1/64', 'dev', 'cn0', 'nodad')
        for dev in ('l1', 'l2'):
            ip('-n', ns['lma'], 'link', 'set', dev, 'master', 'core')
        ip('-n', ns['lma'], 'addr', 'add', '2001:db8:12::2/64', 'dev', 'core', 'nodad')
        ip('-n', ns['mag1'], 'addr', 'add', '2001:db8:12::1/64', 'dev', 'up0', 'nodad')
        ip('-n', ns['mag2'], 'addr', 'add', '2001:db8:12::3/64', 'dev', 'up0', 'nodad')
        ip('-n', ns['mn'], 'link', 'set', 'eth0', 'address', MN_MAC)
        # No DAD on the MN (the HNP is its own: nobody else can hold the address), so an
        # interface restart solicits a router at once.
        sysctl(ns['mn'], 'net.ipv6.conf.eth0.accept_dad', '0')
        sysctl(ns['air'], 'net.ipv6.conf.all.disable_ipv6', '1')  # the "air" is layer 2 only
        sysctl(ns['air'], 'net.ipv6.conf.default.disable_ipv6', '1')
        for bridge in ('br1', 'br2'):
            ip('-n', ns['air'], 'link', 'add', bridge, 'type', 'bridge')
            ip('-n', ns['air'], 'link', 'set', bridge, 'up')
        ip('-n', ns['air'], 'link', 'set', 'a1', 'master', 'br1')
        ip('-n', ns['air'], 'link', 'set', 'a2', 'master', 'br2')
        ip('-n', ns['air'], 'link', 'set', 'mnlink', 'master', 'br1')
        for name, dev in (('cn', 'eth0'), ('lma', 'cn0'), ('lma', 'l1'), ('lma', 'l2'), ('lma', 'core'), ('mag1', 'up0'),
                          ('mag2', 'up0'), ('mag1', f'acc1{tag}'), ('mag2', f'acc2{tag}'), ('air', 'a1'), ('air', 'mnlink')):
            ip('-n', ns[name], 'link', 'set', dev, 'up')
        for router in ('lma', 'mag1', 'mag2'):
            sysctl(ns[router], 'net.ipv6.conf.all.forwarding', '1')
        ip('-n', ns['cn'], '-6', 'route', 'add', '2001:db8:aaaa::/48', 'via', '2001:db8:cc::1')
        config = LMA_CONFIG.replace(' mag MAG1\n  ipv6-address 2001:db8:12::1\n', ' mag MAG1\n  ipv6-address 2001:db8:12::1\n mag MAG2\n  ipv6-address 2001:db8:12::3\n')
        (tmp_path / 'lma.conf').write_text(config)
        processes.append(start(ns['lma'], tmp_path / 'lma.conf', tmp_path / 'ls', dataplane='userspace'))
        for name, address, ifname in (('MAG1', '2001:db8:12::1', f'acc1{tag}'), ('MAG2', '2001:db8:12::3', f'acc2{tag}')):
            path = tmp_path / f'{name}.conf'
            path.write_text(MAG_CONFIG.format(name=name, address=address, ifname=ifname))
            processes.append(start(ns[name.lower()], path, tmp_path / name, dataplane='userspace'))
        yield {**ns, 'processes': processes}
    finally:
        for process in processes:
            process.terminate()
            process.wait(10)
        for name in ns.values():
            ip('netns', 'del', name)


def global_address(ns: str) -> str | None:
    """The MN's address from its HNP once DAD has finished with it."""
    found = re.search(r'inet6 (2001:db8:aaaa:[0-9a-f:]+)/64 scope global(?! tentative)', mn_addresses(ns))
    return found.group(1) if found else None


def test_mn_keeps_its_address_and_traffic_across_a_handover(network: dict[str, Any]) -> None:
    """Ping MN -> CN every 50 ms while the link moves from MAG1 to MAG2: same address, traffic resumes."""
    ip('-n', network['mn'], 'link', 'set', 'eth0', 'up')
    deadline = time.monotonic() + 20
    while global_address(network['mn']) is None and time.monotonic() < deadline:
        time.sleep(0.2)
    before = global_address(network['mn'])
    assert before is not None
    warm = subprocess.run(['ip', 'netns', 'exec', network['mn'], 'ping', '-6', '-c', '2', '-W', '2', '2001:db8:cc::2'], capture_output=True)
    assert warm.returncode == 0
    ping = subprocess.Popen(['ip', 'netns', 'exec', network['mn'], 'ping', '-6', '-i', '0.05', '-w', '8', '2001:db8:cc::2'],
                            stdout=subprocess.PIPE, text=True)
    time.sleep(1.0)
    air = network['air']
    # The MN's radio leaves MAG1 (whose access link loses its carrier) and associates with
    # MAG2; its interface restarts as a host's does on re-association, and solicits a router.
    # The MN's kernel drops the autoconfigured address with the interface and builds the same
    # one again from the same HNP, which MAG2 advertises after its PBA.
    ip('-n', network['mn'], 'link', 'set', 'eth0', 'down')
    ip('-n', air, 'link', 'set', 'a1', 'down')
    ip('-n', air, 'link', 'set', 'mnlink', 'master', 'br2')
    ip('-n', air, 'link', 'set', 'a2', 'up')
    ip('-n', network['mn'], 'link', 'set', 'eth0', 'up')
    output, _ = ping.communicate(timeout=20)
    assert global_address(network['mn']) == before
    seqs = [int(n) for n in re.findall(r'icmp_seq=(\d+)', output)]
    gap_s = max(b - a for a, b in zip(seqs, seqs[1:])) * 0.05
    after = subprocess.run(['ip', 'netns', 'exec', network['mn'], 'ping', '-6', '-c', '3', '-i', '0.2', '-W', '2', '2001:db8:cc::2'],
                           capture_output=True, text=True)
    assert after.returncode == 0, after.stdout
    # The MN's own router solicitation delay (up to 1 s) and RS retransmission dominate; the
    # signalling takes milliseconds. Figures are measured by `pmiprouter lab demo`.
    assert seqs and seqs[-1] > seqs[0] + 20 and gap_s < 6.0, output
