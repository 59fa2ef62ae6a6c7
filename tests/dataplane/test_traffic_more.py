"""Userspace backend with real traffic: MTU and Packet Too Big, ECN, and GRE keys separating
two mobile nodes that have the same private IPv4 address (RFC 5845).
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator

import pytest

from pmiprouter.dataplane.encap import CE, ECT0, NOT_ECT
from pmiprouter.dataplane.interface import TunnelMode
from tests.dataplane import lab as L
from tests.dataplane import nsutil
from tests.dataplane.capture import capture, send_raw6
from tests.dataplane.conftest import IS_ROOT
from tests.dataplane.packets import ipv6
from tests.dataplane.probing import kernel_tunnels_ok, tun_ok
from tests.dataplane.test_traffic import specs

pytestmark = [pytest.mark.needs_root,
              pytest.mark.skipif(not IS_ROOT or not tun_ok(), reason='needs root and TUN')]


@pytest.fixture
def nodes(lab: L.Lab) -> Iterator[L.Lab]:
    """Stops whatever nodes a test started, even when it fails."""
    try:
        yield lab
    finally:
        lab.stop_nodes()


def test_packet_too_big_ipv6(nodes: L.Lab) -> None:
    """An IPv6 packet over the tunnel MTU gets a PTB with that MTU; PMTU then makes it fit."""
    nodes.start('userspace', *specs(TunnelMode.IP6_ANY, mtu=1300))
    assert L.ping_until(nodes.mn, L.CN6)
    out = L.ping(nodes.mn, L.CN6, '-M', 'do', '-s', '1400', deadline=2)
    assert re.search(r'mtu\s*[=:]\s*1300', out.stdout + out.stderr), out.stdout + out.stderr
    assert L.ping(nodes.mn, L.CN6, '-s', '1400', count=3, deadline=6).returncode == 0, 'fragmented after PTB'
    out = L.ping(nodes.cn, L.MN6, '-M', 'do', '-s', '1400', deadline=2)
    assert re.search(r'mtu\s*[=:]\s*1300', out.stdout + out.stderr), 'downlink PTB from the LMA'


def test_frag_needed_ipv4(nodes: L.Lab) -> None:
    """An IPv4 packet with DF over the tunnel MTU gets Fragmentation Needed with that MTU."""
    nodes.start('userspace', *specs(TunnelMode.IP4, mtu=1300))
    assert L.ping_until(nodes.mn, L.CN4)
    out = L.ping(nodes.mn, L.CN4, '-M', 'do', '-s', '1400', count=2, deadline=3)
    assert re.search(r'mtu\s*[=:]\s*1300', out.stdout + out.stderr), out.stdout + out.stderr
    no_df = L.ping(nodes.mn, L.CN4, '-M', 'dont', '-s', '1400', count=2, deadline=4)
    assert no_df.returncode == 0, 'without DF the outer packet is fragmented'


def _outer_ecn_of_echo(nodes: L.Lab, tos: int) -> int | None:
    """Ping MN->CN with inner ECN ``tos``; return the outer ECN seen on the LMA's transport link."""
    def is_tunnelled_echo(pkt: bytes) -> bool:
        return pkt[0] >> 4 == 6 and pkt[6] == 41 and pkt[40 + 6] == 58 and pkt[80] == 128

    thread = nsutil.NsThread(nodes.lma)
    try:
        ready = threading.Event()
        future = thread.submit(capture, 'tr0', is_tunnelled_echo, ready)
        ready.wait(5)
        L.ping(nodes.mn, L.CN6, '-Q', str(tos), deadline=2)
        pkt = future.result(timeout=10)
    finally:
        thread.close()
    return None if pkt is None else (pkt[1] >> 4) & 3


def test_ecn_encapsulation(nodes: L.Lab) -> None:
    """ECT(0) is copied to the outer header, and an inner CE shows as ECT(0) outside (RFC 3168 §9.1.1)."""
    nodes.start('userspace', *specs(TunnelMode.IP6_ANY))
    assert L.ping_until(nodes.mn, L.CN6)
    assert _outer_ecn_of_echo(nodes, ECT0) == ECT0
    assert _outer_ecn_of_echo(nodes, CE) == ECT0
    assert _outer_ecn_of_echo(nodes, NOT_ECT) == NOT_ECT


def test_ecn_decapsulation(nodes: L.Lab) -> None:
    """Outer CE turns an ECT inner packet CE at the CN, and drops a Not-ECT one (counted)."""
    _mag, _lma = nodes.start('userspace', *specs(TunnelMode.IP6_ANY))
    assert L.ping_until(nodes.mn, L.CN6)
    thread = nsutil.NsThread(nodes.cn)
    mag_thread = nsutil.NsThread(nodes.mag)
    try:
        for inner_ecn, expect in ((ECT0, CE), (NOT_ECT, None)):
            ident = 0x4000 + inner_ecn
            echo = b'\x80\x00\x00\x00' + ident.to_bytes(2, 'big') + b'\x00\x01'
            inner = bytes(ipv6(L.MN6, L.CN6, payload=echo, ecn=inner_ecn))
            ready = threading.Event()
            future = thread.submit(capture, 'eth0', lambda p, i=ident: p[0] >> 4 == 6 and p[6] == 58
                                   and p[40] == 128 and int.from_bytes(p[44:46], 'big') == i, ready, 2)
            ready.wait(5)
            mag_thread.call(send_raw6, L.MAG6, L.LMA6, 41, CE, inner)
            pkt = future.result(timeout=10)
            assert (None if pkt is None else (pkt[1] >> 4) & 3) == expect
    finally:
        thread.close()
        mag_thread.close()
    _mag_counters, lma_counters = nodes.stop_nodes()
    assert lma_counters.get('decap_ecn_drop', 0) == 1


@pytest.mark.parametrize('backend', [
    'userspace',
    pytest.param('kernel', marks=[pytest.mark.needs_kernel_tunnels, pytest.mark.skipif(
        not kernel_tunnels_ok(), reason='kernel lacks tunnel modules (run in the VM)')])])
def test_gre_keys_keep_same_private_ipv4_apart(lab: L.Lab, backend: str) -> None:
    """Two MNs with IPv4 10.0.0.2 on one MAG reach two different realms through their GRE keys."""
    mn2, cn2 = nsutil.unique('pmtn'), nsutil.unique('pmtd')
    lab.extra_ns += [mn2, cn2]
    try:
        for ns in (mn2, cn2):
            nsutil.netns_add(ns)
        L.veth(mn2, 'eth0', lab.mag, 'acc1')
        L.veth(lab.lma, 'cn1', cn2, 'eth0')
        L.addr(mn2, 'eth0', L.MN4 + '/24')
        L.addr(lab.mag, 'acc1', '10.0.0.1/24')
        L.addr(lab.lma, 'cn1', '198.51.100.1/24')
        L.addr(cn2, 'eth0', L.CN4 + '/24')
        nsutil.ip('route', 'add', 'default', 'via', '10.0.0.1', ns=mn2)
        nsutil.ip('route', 'add', 'default', 'via', '198.51.100.1', ns=cn2)
        # Links at 1400 bytes: TCP then never needs PMTU discovery. ICMP errors the routers
        # generate themselves towards overlapping private addresses cannot tell the realms apart
        # (they come from "lo"), which is a limitation of realms, not of GRE keys.
        for ns, dev in ((lab.mn, 'eth0'), (lab.mag, 'acc0'), (mn2, 'eth0'), (lab.mag, 'acc1'),
                        (lab.lma, 'cn0'), (lab.cn, 'eth0'), (lab.lma, 'cn1'), (cn2, 'eth0')):
            nsutil.ip('link', 'set', dev, 'mtu', '1400', ns=ns)
        def tun(a: str, b: str, kin: int, kout: int) -> dict[str, object]:
            return {'local': a, 'remote': b, 'mode': 'gre6', 'gre_key_in': kin, 'gre_key_out': kout}

        mag = {'tunnels': [tun(L.MAG6, L.LMA6, 11, 21), tun(L.MAG6, L.LMA6, 12, 22)],
               'mns': [{'role': 'mag', 'tunnel': 0, 'ipv4_hoa': L.MN4, 'access_ifname': 'acc0'},
                       {'role': 'mag', 'tunnel': 1, 'ipv4_hoa': L.MN4, 'access_ifname': 'acc1'}]}
        lma = {'tunnels': [tun(L.LMA6, L.MAG6, 21, 11), tun(L.LMA6, L.MAG6, 22, 12)],
               'mns': [{'role': 'lma', 'tunnel': 0, 'ipv4_hoa': L.MN4, 'realm_ifname': 'cn0'},
                       {'role': 'lma', 'tunnel': 1, 'ipv4_hoa': L.MN4, 'realm_ifname': 'cn1'}]}
        lab.start(backend, mag, lma)
        assert L.ping_until(lab.mn, L.CN4), 'MN1 -> realm 1'
        assert L.ping_until(mn2, L.CN4), 'MN2 -> realm 2'
        # Only cn2 listens on 5003: MN2 reaches it, MN1 lands in realm 1 and is refused.
        assert L.tcp_roundtrip(mn2, cn2, L.CN4, size=20_000, port=5003) == 'OK'
        assert L.tcp_roundtrip(lab.mn, cn2, L.CN4, size=20_000, port=5004, accept_timeout=3) != 'OK'
        assert L.tcp_roundtrip(lab.mn, lab.cn, L.CN4, size=20_000, port=5005) == 'OK'
    finally:
        lab.stop_nodes()
        for ns, dev in ((lab.mn, 'eth0'), (lab.mag, 'acc0'), (lab.lma, 'cn0'), (lab.cn, 'eth0')):
            nsutil.ip('link', 'set', dev, 'mtu', '1500', ns=ns, check=False)
        for ns in (mn2, cn2):
            nsutil.netns_del(ns)
            lab.extra_ns.remove(ns)


@pytest.mark.parametrize('mode', [TunnelMode.IP6_ANY, TunnelMode.GRE4])
def test_kernel_sends_no_icmp_errors_for_tunnel_packets(nodes: L.Lab, mode: TunnelMode) -> None:
    """While tunnel packets flow, neither kernel answers them with ICMP errors (no handler for 41/4/47)."""
    def icmp_error(pkt: bytes) -> bool:
        if pkt[0] >> 4 == 6:
            return pkt[6] == 58 and pkt[40] < 128
        return pkt[0] >> 4 == 4 and pkt[9] == 1 and pkt[(pkt[0] & 15) * 4] in (3, 11, 12)

    nodes.start('userspace', *specs(mode, (5, 6) if mode.uses_gre else None))
    thread = nsutil.NsThread(nodes.lma)
    try:
        ready = threading.Event()
        future = thread.submit(capture, 'tr0', icmp_error, ready, 5)
        ready.wait(5)
        assert L.ping_until(nodes.mn, L.CN6)
        assert L.ping(nodes.mn, L.CN4, count=3, deadline=4).returncode == 0
        assert future.result(timeout=10) is None
    finally:
        thread.close()
