"""The userspace fast path without root: loopback UDP sockets as carriers, a datagram socketpair as TUN.

``sendmmsg`` really runs: each tunnel's sender is a UDP socket on the loopback and its remote is a
receiving UDP socket, which also reports the traffic class the control messages set. The TUN
device is one end of an ``AF_UNIX`` datagram socketpair (``readv`` on it returns one packet, like
a TUN read); the test writes packets into the other end and reads what the forwarder writes back.
"""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv6Address, IPv6Network

import pytest

from pmiprouter.dataplane import encap
from pmiprouter.dataplane.encap import CE, ECT0, HEADROOM
from pmiprouter.dataplane.forwarder import Forwarder
from pmiprouter.dataplane.interface import TunnelMode, TunnelSpec
from pmiprouter.dataplane.tables import PrefixTable, Tables, TunnelCtx
from tests.dataplane.packets import ipv4, ipv6

HNP = IPv6Network('2001:db8:a1::/64')
MN6, CN6 = '2001:db8:a1::2', '2001:db8:ff::2'
IPV6_RECVTCLASS = getattr(socket, 'IPV6_RECVTCLASS', 66)
IPV6_TCLASS = getattr(socket, 'IPV6_TCLASS', 67)
IP_RECVTOS = getattr(socket, 'IP_RECVTOS', 13)
BIG = 1 << 20


@dataclass
class Wire:
    """The sockets around one forwarder: its TUN end, the test's TUN end, sender and receiver."""

    tun: socket.socket  # the forwarder's end (its tun_fd)
    peer: socket.socket  # the test's end: write packets "from the kernel", read what comes out
    sender: socket.socket  # the tunnel's socket (sendmmsg goes through it)
    receiver: socket.socket  # the tunnel's remote end

    def inject(self, packet: bytes) -> None:
        """Hand a packet to the forwarder as if the kernel had routed it into the TUN."""
        self.peer.send(packet)

    def received(self) -> list[tuple[bytes, int]]:
        """Every datagram that reached the remote end, with its traffic class / TOS."""
        out = []
        while True:
            try:
                data, anc, _flags, _addr = self.receiver.recvmsg(65536, socket.CMSG_SPACE(4))
            except BlockingIOError:
                return out
            tclass = 0
            for _level, _kind, value in anc:
                tclass = int.from_bytes(value, 'little') if len(value) == 4 else value[0]
            out.append((data, tclass))

    def from_tun(self) -> list[bytes]:
        """Every packet the forwarder wrote to its TUN device."""
        out = []
        while True:
            try:
                out.append(self.peer.recv(65536))
            except BlockingIOError:
                return out


WireFactory = Callable[[int], Wire]


@pytest.fixture
def wire_factory() -> Iterator[WireFactory]:
    """Builds :class:`Wire` objects for an address family and closes them afterwards."""
    made: list[Wire] = []

    def build(family: int) -> Wire:
        tun, peer = socket.socketpair(socket.AF_UNIX, socket.SOCK_DGRAM)
        for s in (tun, peer):
            s.setblocking(False)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, BIG)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, BIG)
        loopback = '::1' if family == socket.AF_INET6 else '127.0.0.1'
        sender = socket.socket(family, socket.SOCK_DGRAM)
        sender.bind((loopback, 0))
        receiver = socket.socket(family, socket.SOCK_DGRAM)
        receiver.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, BIG)
        if family == socket.AF_INET6:
            receiver.setsockopt(socket.IPPROTO_IPV6, IPV6_RECVTCLASS, 1)
        else:
            receiver.setsockopt(socket.IPPROTO_IP, IP_RECVTOS, 1)
        receiver.bind((loopback, 0))
        receiver.setblocking(False)
        wire = Wire(tun, peer, sender, receiver)
        made.append(wire)
        return wire

    yield build
    for wire in made:
        for s in (wire.tun, wire.peer, wire.sender, wire.receiver):
            s.close()


def make(
    mode: TunnelMode, wire: Wire, key: int | None = None, mtu: int | None = None
) -> tuple[Forwarder, TunnelCtx]:
    """A forwarder whose tables hold one LMA tunnel for HNP, sending to the wire's receiver."""
    v6 = mode.transport_version == 6
    local, remote = (IPv6Address('2001:db8:1::2'), IPv6Address('2001:db8:1::1')) if v6 else (
        IPv4Address('192.0.2.2'), IPv4Address('192.0.2.1'))
    spec = TunnelSpec(local, remote, mode, key, key, mtu)
    fwd = Forwarder(wire.tun.fileno())
    send_to = wire.receiver.getsockname()
    ctx = TunnelCtx('pmiptest', spec, {'ip6any': 'ip6', 'gre6': 'gre6', 'ipv4-udp-tlv': 'udp'}[mode.value],
                    send_to, spec.effective_mtu, wire.tun.fileno(), {6: wire.sender, 4: wire.sender},
                    {v: encap.gre_header(key, v) for v in (4, 6)} if mode.uses_gre else {},
                    local.packed if v6 else None, local.packed if not v6 else encap.IPV4_DUMMY,
                    lma_prefixes=PrefixTable([(HNP, True)]))
    peer = (ctx.carrier, str(remote), key) if mode.uses_gre else (ctx.carrier, str(remote))
    fwd.tables = Tables(lma=PrefixTable([(HNP, ctx)]), peers={peer: ctx})
    return fwd, ctx


def decap(fwd: Forwarder, packet: bytes, carrier: str, remote: str, version: int, outer_ecn: int) -> int:
    """Run the per-packet decapsulation on ``packet`` as if it were slot 0 of a receive batch."""
    off = HEADROOM
    fwd.rx_slots.data[off:off + len(packet)] = packet
    derived = fwd._current()
    packed = IPv6Address(remote).packed if ':' in remote else IPv4Address(remote).packed
    return fwd._decap(off, off + len(packet), carrier, packed, version, outer_ecn,
                      derived.plain[carrier], derived.keyed[carrier])


def test_encap_gre_key_and_ecn(wire_factory: WireFactory) -> None:
    """Downlink to the HNP goes out with the GRE key and the inner ECT(0) in the outer header."""
    wire = wire_factory(socket.AF_INET6)
    fwd, _ctx = make(TunnelMode.GRE6, wire, key=77)
    wire.inject(bytes(ipv6(CN6, MN6, ecn=ECT0)))
    wire.inject(bytes(ipv6(CN6, MN6)))
    fwd.drain_tun(wire.tun.fileno())
    (data, tclass), (_data2, tclass2) = wire.received()
    assert encap.parse_gre(data, 0, len(data)) == (8, 77, 6)
    assert tclass & 3 == ECT0
    assert fwd.counters['encap_tx'] == 2
    assert tclass2 == 0, 'Not-ECT goes without a control message: the default class 0'


def test_encap_ce_goes_out_as_ect0(wire_factory: WireFactory) -> None:
    """An inner CE is sent with outer ECT(0) (RFC 3168 §9.1.1 full functionality)."""
    wire = wire_factory(socket.AF_INET6)
    fwd, _ctx = make(TunnelMode.IP6_ANY, wire)
    wire.inject(bytes(ipv6(CN6, MN6, ecn=CE)))
    fwd.drain_tun(wire.tun.fileno())
    ((data, tclass),) = wire.received()
    assert tclass & 3 == ECT0 and encap.get_ecn(data, 0) == CE


def test_encap_udp_tlv_header(wire_factory: WireFactory) -> None:
    """IPv4-UDP-TLV puts TLV (next header GRE, right length) and GRE in front of the packet."""
    wire = wire_factory(socket.AF_INET)
    fwd, _ctx = make(TunnelMode.UDP4_TLV, wire, key=5)
    packet = bytes(ipv6(CN6, MN6, ecn=ECT0))
    wire.inject(packet)
    fwd.drain_tun(wire.tun.fileno())
    ((data, tos),) = wire.received()
    assert encap.parse_tlv(data, 0, len(data)) == (4, encap.PROTO_GRE)
    assert encap.parse_gre(data, 4, len(data)) == (12, 5, 6) and data[12:] == packet
    assert tos & 3 == ECT0, 'IPv4 carriers set the outer ECN with IP_TOS'


def test_encap_too_big_answers_ptb(wire_factory: WireFactory) -> None:
    """A packet over the tunnel MTU is not sent; a Packet Too Big goes back into the TUN."""
    wire = wire_factory(socket.AF_INET6)
    fwd, _ctx = make(TunnelMode.IP6_ANY, wire, mtu=1280)
    wire.inject(bytes(ipv6(CN6, MN6, payload=bytes(1300), nh=17)))
    fwd.drain_tun(wire.tun.fileno())
    assert not wire.received()
    (reply,) = wire.from_tun()
    assert reply[40] == 2 and int.from_bytes(reply[44:48], 'big') == 1280
    assert fwd.counters['too_big'] == 1


def test_encap_without_tunnel_is_counted(wire_factory: WireFactory) -> None:
    """A packet for no bound prefix is dropped and counted."""
    wire = wire_factory(socket.AF_INET6)
    fwd, _ctx = make(TunnelMode.IP6_ANY, wire)
    wire.inject(bytes(ipv6(CN6, '2001:db8:99::1')))
    fwd.drain_tun(wire.tun.fileno())
    assert fwd.counters['encap_no_tunnel'] == 1 and not wire.received()


def test_encap_send_error_is_counted(wire_factory: WireFactory) -> None:
    """A sendmmsg failure (here: IPv6 sender, IPv4 destination) is counted by errno, never raised."""
    wire = wire_factory(socket.AF_INET6)
    fwd, ctx = make(TunnelMode.IP6_ANY, wire)
    ctx.remote = ('127.0.0.1', 9)
    wire.inject(bytes(ipv6(CN6, MN6)))
    fwd.drain_tun(wire.tun.fileno())
    failures = {k: v for k, v in fwd.counters.items() if k.startswith('encap_send_')}
    assert sum(failures.values()) == 1 and fwd.counters['encap_tx'] == 0


def test_decap_delivers_and_marks_ce(wire_factory: WireFactory) -> None:
    """Uplink from the peer with outer CE reaches the TUN with inner CE."""
    wire = wire_factory(socket.AF_INET6)
    fwd, _ctx = make(TunnelMode.IP6_ANY, wire)
    assert decap(fwd, bytes(ipv6(MN6, CN6, ecn=ECT0)), 'ip6', '2001:db8:1::1', 6, CE) == 1
    (out,) = wire.from_tun()
    assert encap.get_ecn(out, 0) == CE


def test_decap_outer_ce_drops_not_ect(wire_factory: WireFactory) -> None:
    """An outer CE over a Not-ECT inner packet cannot be signalled: dropped and counted."""
    wire = wire_factory(socket.AF_INET6)
    fwd, _ctx = make(TunnelMode.IP6_ANY, wire)
    assert decap(fwd, bytes(ipv6(MN6, CN6)), 'ip6', '2001:db8:1::1', 6, CE) == 0
    assert fwd.counters['decap_ecn_drop'] == 1 and not wire.from_tun()


@pytest.mark.parametrize(('remote', 'src', 'counter'), [
    ('2001:db8:1::9', MN6, 'decap_unknown_peer'), ('2001:db8:1::1', '2001:db8:bad::1', 'decap_not_bound')])
def test_decap_refuses_strangers(wire_factory: WireFactory, remote: str, src: str, counter: str) -> None:
    """Packets from an unknown peer, or with a source that is not the MN's, are dropped and counted."""
    wire = wire_factory(socket.AF_INET6)
    fwd, _ctx = make(TunnelMode.IP6_ANY, wire)
    assert decap(fwd, bytes(ipv6(src, CN6)), 'ip6', remote, 6, 0) == 0
    assert fwd.counters[counter] == 1
    assert not wire.from_tun()


def test_decap_wrong_inner_version_is_malformed(wire_factory: WireFactory) -> None:
    """An IPv4 packet announced as IPv6 (Next Header 41) is dropped as malformed."""
    wire = wire_factory(socket.AF_INET6)
    fwd, _ctx = make(TunnelMode.IP6_ANY, wire)
    decap(fwd, bytes(ipv4('10.0.0.2', '198.51.100.2')), 'ip6', '2001:db8:1::1', 6, 0)
    assert fwd.counters['decap_malformed'] == 1


def test_decap_gre_key_selects_tunnel(wire_factory: WireFactory) -> None:
    """GRE packets are accepted with the tunnel's key only."""
    wire = wire_factory(socket.AF_INET6)
    fwd, _ctx = make(TunnelMode.GRE6, wire, key=77)
    inner = bytes(ipv6(MN6, CN6))
    assert decap(fwd, encap.gre_header(77, 6) + inner, 'gre6', '2001:db8:1::1', 0, 0) == 1
    assert decap(fwd, encap.gre_header(78, 6) + inner, 'gre6', '2001:db8:1::1', 0, 0) == 0
    assert fwd.counters['decap_unknown_peer'] == 1 and wire.from_tun() == [inner]


def test_link_local_sources_are_never_tunnelled(wire_factory: WireFactory) -> None:
    """A packet from fe80::/10 read from the TUN device is dropped and counted (RFC 5213 §6.10.3)."""
    wire = wire_factory(socket.AF_INET6)
    fwd, _ctx = make(TunnelMode.IP6_ANY, wire)
    packet = bytes((0x60, 0, 0, 0, 0, 8, 58, 1)) + bytes.fromhex('fe80' + '00' * 13 + '01') + bytes.fromhex(
        'ff02' + '00' * 13 + '16') + bytes(8)
    wire.inject(packet)
    fwd.drain_tun(wire.tun.fileno())
    assert fwd.counters['encap_link_local_dropped'] == 1 and not wire.received()
