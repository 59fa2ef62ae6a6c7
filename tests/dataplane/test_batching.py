"""Batching edge cases of the fast path: bursts over one batch, the per-event bound, bad packets mid-burst.

Same stand-ins as test_forwarder.py (no root): loopback UDP sockets carry the tunnel, a datagram
socketpair is the TUN device. The UDP 5437 carrier is a real UDP socket, so ``recvmmsg`` runs too.
"""

from __future__ import annotations

import os
import socket
import struct
from collections.abc import Iterator
from ipaddress import IPv4Address, IPv6Network
from pathlib import Path

import pytest

from pmiprouter.dataplane import encap
from pmiprouter.dataplane.forwarder import BATCH, MAX_TUN_PACKET, ROUNDS, Forwarder
from pmiprouter.dataplane.interface import TunnelMode, TunnelSpec
from pmiprouter.dataplane.tables import PrefixTable, Tables, TunnelCtx
from tests.dataplane.packets import ipv6
from tests.dataplane.test_forwarder import CN6, HNP, MN6, Wire, WireFactory, make
from tests.dataplane.test_forwarder import wire_factory  # noqa: F401 - the fixture

BIG = 1 << 22
UdpLma = tuple[Forwarder, Wire, socket.socket, socket.socket]


def numbered(i: int, src: str = CN6, dst: str = MN6) -> bytes:
    """An IPv6 UDP packet whose payload carries ``i`` (to check order and completeness)."""
    return bytes(ipv6(src, dst, payload=struct.pack('!HHHHI', 1, 2, 12, 0, i), nh=17))


def sequence(packets: list[bytes]) -> list[int]:
    """The numbers carried by packets built with :func:`numbered` (inner IPv6 at the end)."""
    return [struct.unpack_from('!I', p, len(p) - 4)[0] for p in packets]


def test_burst_larger_than_one_batch_keeps_every_packet_in_order(wire_factory: WireFactory) -> None:
    """2.5 batches from the TUN device go out whole, in order, in one sendmmsg per batch."""
    wire = wire_factory(socket.AF_INET6)
    fwd, _ctx = make(TunnelMode.IP6_ANY, wire)
    count = BATCH * 2 + BATCH // 2
    for i in range(count):
        wire.inject(numbered(i))
    fwd.drain_tun(wire.tun.fileno())
    got = wire.received()
    assert sequence([data for data, _tclass in got]) == list(range(count))
    assert fwd.counters['encap_tx'] == count
    assert fwd.counters['encap_batches'] == 3


def test_one_event_is_bounded_and_the_rest_waits(wire_factory: WireFactory) -> None:
    """One readable event handles at most ROUNDS batches (fairness); the next one takes the rest."""
    wire = wire_factory(socket.AF_INET6)
    for s in (wire.tun, wire.peer):
        s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, BIG)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, BIG)
    fwd, _ctx = make(TunnelMode.IP6_ANY, wire)
    count = BATCH * ROUNDS + 10
    for i in range(count):
        wire.inject(numbered(i))
    fwd.drain_tun(wire.tun.fileno())
    first = wire.received()
    assert len(first) == BATCH * ROUNDS
    fwd.drain_tun(wire.tun.fileno())
    rest = wire.received()
    assert sequence([d for d, _t in first + rest]) == list(range(count))


def test_bad_packets_mid_burst_are_counted_and_the_others_go(wire_factory: WireFactory) -> None:
    """A packet for no tunnel and a non-IP packet in a burst are dropped; the rest keep their order."""
    wire = wire_factory(socket.AF_INET6)
    fwd, _ctx = make(TunnelMode.IP6_ANY, wire)
    for i in range(100):
        if i == 40:
            wire.inject(numbered(999, dst='2001:db8:99::1'))
        if i == 70:
            wire.inject(b'\x50' + bytes(59))  # version 5
        wire.inject(numbered(i))
    fwd.drain_tun(wire.tun.fileno())
    assert sequence([d for d, _t in wire.received()]) == list(range(100))
    assert fwd.counters['encap_no_tunnel'] == 2 and fwd.counters['encap_tx'] == 100


def test_mixed_ecn_in_one_batch_keeps_each_packets_class(wire_factory: WireFactory) -> None:
    """Each message of a sendmmsg carries its own traffic class (slots reuse their control buffer)."""
    wire = wire_factory(socket.AF_INET6)
    fwd, _ctx = make(TunnelMode.IP6_ANY, wire)
    ecns = [i % 4 for i in range(2 * BATCH)]
    for ecn in ecns:
        wire.inject(bytes(ipv6(CN6, MN6, ecn=ecn)))
    fwd.drain_tun(wire.tun.fileno())
    assert [tclass & 3 for _d, tclass in wire.received()] == [encap.encap_ecn(e) for e in ecns]


@pytest.fixture
def udp_lma(wire_factory: WireFactory) -> Iterator[UdpLma]:
    """A forwarder with an IPv4-UDP tunnel from 127.0.0.1: (forwarder, wire, its UDP socket, peer)."""
    wire = wire_factory(socket.AF_INET)
    listen = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    listen.setsockopt(socket.IPPROTO_IP, getattr(socket, 'IP_RECVTOS', 13), 1)
    listen.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, BIG)
    listen.bind(('127.0.0.1', 0))
    listen.setblocking(False)
    peer = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    peer.bind(('127.0.0.1', 0))
    spec = TunnelSpec(IPv4Address('192.0.2.2'), IPv4Address('127.0.0.1'), TunnelMode.UDP4)
    fwd = Forwarder(wire.tun.fileno())
    ctx = TunnelCtx('pmiptest', spec, 'udp', ('127.0.0.1', 5437), spec.effective_mtu, wire.tun.fileno(),
                    {6: listen, 4: listen}, {}, None, encap.IPV4_DUMMY,
                    lma_prefixes=PrefixTable([(HNP, True)]),
                    mag_prefixes=PrefixTable([(IPv6Network(CN6 + '/128'), True)]))
    fwd.tables = Tables(peers={('udp', '127.0.0.1'): ctx})
    yield fwd, wire, listen, peer
    listen.close()
    peer.close()


def test_recvmmsg_burst_with_malformed_packet_in_the_middle(udp_lma: UdpLma) -> None:
    """Over two batches of UDP datagrams, a truncated one is counted as malformed; all others arrive."""
    fwd, wire, listen, peer = udp_lma
    count = BATCH + BATCH // 2
    for i in range(count):
        if i == BATCH - 1:
            peer.sendto(numbered(7777, src=MN6, dst=CN6)[:30], listen.getsockname())  # cut inside the header
        peer.sendto(numbered(i, src=MN6, dst=CN6), listen.getsockname())
    fwd.drain_udp(listen)
    assert sequence(wire.from_tun()) == list(range(count))
    assert fwd.counters['decap_malformed'] == 1 and fwd.counters['decap_rx'] == count


def test_recvmmsg_reads_outer_tos_per_datagram(udp_lma: UdpLma) -> None:
    """The outer ECN of each datagram in a batch is applied to its own inner packet."""
    fwd, wire, listen, peer = udp_lma
    for tos in (0, encap.CE, 0, encap.CE):
        peer.setsockopt(socket.IPPROTO_IP, socket.IP_TOS, tos)
        peer.sendto(bytes(ipv6(MN6, CN6, ecn=encap.ECT0)), listen.getsockname())
    fwd.drain_udp(listen)
    assert [encap.get_ecn(p, 0) for p in wire.from_tun()] == [encap.ECT0, encap.CE, encap.ECT0, encap.CE]


def test_recvmmsg_unknown_peer_mid_burst(udp_lma: UdpLma) -> None:
    """Datagrams from a stranger are dropped one by one; the tunnel's own keep flowing."""
    fwd, wire, listen, peer = udp_lma
    stranger = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        stranger.bind(('127.0.0.2', 0))
    except OSError:
        pytest.skip('127.0.0.2 not usable here')
    with stranger:
        for i in range(20):
            (stranger if i % 5 == 2 else peer).sendto(numbered(i, src=MN6, dst=CN6), listen.getsockname())
        fwd.drain_udp(listen)
    assert sequence(wire.from_tun()) == [i for i in range(20) if i % 5 != 2]
    assert fwd.counters['decap_unknown_peer'] == 4


def test_empty_socket_drain_is_harmless(udp_lma: UdpLma) -> None:
    """A spurious readable event (nothing queued) changes nothing."""
    fwd, wire, listen, _peer = udp_lma
    fwd.drain_udp(listen)
    assert not wire.from_tun() and not fwd.counters


def test_tun_read_error_is_counted_not_raised(wire_factory: WireFactory, tmp_path: Path) -> None:
    """A failing read (the device went away) ends the drain with a counter, not an exception."""
    wire = wire_factory(socket.AF_INET6)
    fwd, _ctx = make(TunnelMode.IP6_ANY, wire)
    fd = os.open(str(tmp_path), os.O_RDONLY)
    try:
        fwd.drain_tun(fd)
    finally:
        os.close(fd)
    assert fwd.counters['tun_read_EISDIR'] == 1


def test_packet_filling_the_slot_is_dropped_not_cut(wire_factory: WireFactory) -> None:
    """A packet as large as the read slot may have been truncated: counted and dropped, never sent."""
    wire = wire_factory(socket.AF_INET6)
    fwd, _ctx = make(TunnelMode.IP6_ANY, wire, mtu=9500)
    wire.inject(numbered(1))
    wire.inject(bytes(ipv6(CN6, MN6, payload=bytes(MAX_TUN_PACKET), nh=17)))
    wire.inject(numbered(2))
    fwd.drain_tun(wire.tun.fileno())
    assert sequence([d for d, _t in wire.received()]) == [1, 2]
    assert fwd.counters['encap_oversize'] == 1
