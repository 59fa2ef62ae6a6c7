"""Host presence on an access link: the BPF filter passes Echo Replies and MLD Reports (with
the sender's MAC) and nothing else; the MAG asks again until a new host answers."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from ipaddress import IPv4Address

from twisted.internet.task import Clock

from pmiprouter.runtime.presence import SOLICIT_DELAYS, Solicitation, echo_request, gratuitous_arp, presence_filter

ROOT = Path(__file__).resolve().parents[2]


def test_filter_and_request_shapes() -> None:
    program = presence_filter()
    assert len(program) % 8 == 0 and len(program) // 8 == 12
    assert echo_request(0x1234, 7)[:8] == bytes([128, 0, 0, 0, 0x12, 0x34, 0, 7])
    assert SOLICIT_DELAYS[0] == 0.0 and list(SOLICIT_DELAYS) == sorted(SOLICIT_DELAYS)
    assert max(b - a for a, b in zip(SOLICIT_DELAYS[:100], SOLICIT_DELAYS[1:101])) <= 0.0101  # 10 ms during the first second


def test_solicitation_asks_on_schedule_with_one_timer_pending() -> None:
    clock = Clock()
    asked: list[tuple[int, float]] = []
    solicitation = Solicitation(clock, lambda n: asked.append((n, clock.seconds())) is None, (0.0, 0.01, 0.02, 1.0))
    clock.advance(0)
    assert asked == [(0, 0.0)] and len(clock.getDelayedCalls()) == 1
    clock.pump([0.01, 0.01, 0.5])
    assert len(asked) == 3  # the last one is not due before 1.0 s
    clock.advance(0.48)
    assert [n for n, _t in asked] == [0, 1, 2, 3]
    assert [round(t, 3) for _n, t in asked] == [0.0, 0.01, 0.02, 1.0]  # from the start, not drifting
    assert not solicitation.active and clock.getDelayedCalls() == []


def test_solicitation_stops_when_a_host_is_heard_or_cancelled() -> None:
    clock = Clock()
    asked: list[int] = []
    heard = Solicitation(clock, lambda n: asked.append(n) is None and n < 1)
    clock.pump([0, 0.01, 0.01, 0.01])
    assert asked == [0, 1] and not heard.active and clock.getDelayedCalls() == []
    cancelled = Solicitation(clock, lambda n: True)
    cancelled.cancel()
    cancelled.cancel()  # twice: nothing left to cancel
    assert clock.getDelayedCalls() == [] and not cancelled.active


def test_gratuitous_arp_announces_the_router_at_our_mac() -> None:
    """An ARP Request (op 1) for Ethernet/IPv4 whose sender and target address are the router's."""
    mac = bytes.fromhex('00005e005213')
    arp = gratuitous_arp(IPv4Address('10.1.0.1'), mac)
    assert arp[:8] == bytes([0, 1, 8, 0, 6, 4, 0, 1]) and len(arp) == 28
    assert arp[8:14] == mac and arp[14:18] == arp[24:28] == bytes([10, 1, 0, 1]) and arp[18:24] == bytes(6)


SENDER = r'''
import socket, struct, time
from pmiprouter.runtime.presence import HostSignals

def ipv6(next_header, payload):
    src = socket.inet_pton(socket.AF_INET6, 'fe80::2')
    dst = socket.inet_pton(socket.AF_INET6, 'fe80::1')
    return struct.pack('!IHBB', 6 << 28, len(payload), next_header, 255) + src + dst + payload

class NoReactor:
    pass

heard = []
signals = HostSignals(NoReactor(), 'acc0', lambda ifname, mac: heard.append((ifname, mac.hex(':'))))
out = socket.socket(socket.AF_PACKET, socket.SOCK_DGRAM)
target = bytes.fromhex(open('/sys/class/net/acc0/address').read().strip().replace(':', ''))
echo_reply = ipv6(58, bytes([129, 0, 0, 0, 0, 1, 0, 1]))
mld_report = ipv6(0, bytes([58, 0, 5, 2, 0, 0, 1, 0]) + bytes([143, 0, 0, 0, 0, 0, 0, 0]))
udp = ipv6(17, struct.pack('!HHHH', 1000, 2000, 8, 0))
echo_request = ipv6(58, bytes([128, 0, 0, 0, 0, 1, 0, 1]))
for packet, mac in ((udp, target), (echo_request, target), (echo_reply, target), (mld_report, bytes.fromhex('333300000016'))):
    out.sendto(packet, ('peer0', 0x86DD, 0, 0, mac))
deadline = time.monotonic() + 10
quiet_until = None
while time.monotonic() < deadline and (quiet_until is None or time.monotonic() < quiet_until):
    try:
        signals.handle(signals.receive())
    except BlockingIOError:
        time.sleep(0.01)
    if len(heard) >= 2 and quiet_until is None:
        quiet_until = time.monotonic() + 0.3  # and nothing else arrives after them
print(heard)
'''


@pytest.mark.needs_root
@pytest.mark.skipif(os.geteuid() != 0, reason='needs root (network namespaces, packet sockets)')
def test_only_echo_replies_and_mld_reports_reach_python() -> None:
    ns = f'pmt-pres-{uuid.uuid4().hex[:8]}'
    subprocess.run(['ip', 'netns', 'add', ns], check=True)
    try:
        # No IPv6 of the namespace's own on the links: its MLD Reports would be heard too.
        subprocess.run(['ip', 'netns', 'exec', ns, 'sysctl', '-qw', 'net.ipv6.conf.all.disable_ipv6=1',
                        'net.ipv6.conf.default.disable_ipv6=1'], check=True)
        for args in (['link', 'add', 'acc0', 'type', 'veth', 'peer', 'name', 'peer0'], ['link', 'set', 'acc0', 'up'],
                     ['link', 'set', 'peer0', 'address', '02:00:00:00:09:09'], ['link', 'set', 'peer0', 'up']):
            subprocess.run(['ip', '-n', ns, *args], check=True)
        out = subprocess.run(['ip', 'netns', 'exec', ns, sys.executable, '-c', SENDER], capture_output=True, text=True,
                             cwd=ROOT, timeout=60)
        assert out.returncode == 0, out.stderr
        assert out.stdout.strip() == "[('acc0', '02:00:00:00:09:09'), ('acc0', '02:00:00:00:09:09')]"
    finally:
        subprocess.run(['ip', 'netns', 'del', ns], check=False)
