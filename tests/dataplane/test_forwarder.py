"""The userspace fast path without sockets: fake senders, a pipe as the TUN device."""

from __future__ import annotations

import os
from collections.abc import Iterator
from ipaddress import IPv4Address, IPv6Address, IPv6Network
from typing import Any

import pytest

from pmiprouter.dataplane import encap
from pmiprouter.dataplane.encap import CE, ECT0, HEADROOM
from pmiprouter.dataplane.forwarder import Forwarder, Reader
from pmiprouter.dataplane.interface import TunnelMode, TunnelSpec
from pmiprouter.dataplane.tables import PrefixTable, Tables, TunnelCtx
from tests.dataplane.packets import ipv4, ipv6

HNP = IPv6Network('2001:db8:a1::/64')
MN6, CN6 = '2001:db8:a1::2', '2001:db8:ff::2'


class FakeSocket:
    """Records what the forwarder sends."""

    def __init__(self) -> None:
        self.sent: list[tuple[bytes, list[Any], Any]] = []

    def sendmsg(self, buffers: list[memoryview], cmsg: list[Any], flags: int, addr: Any) -> int:
        """Keep a copy of the datagram, its control messages and the address."""
        data = b''.join(bytes(b) for b in buffers)
        self.sent.append((data, cmsg, addr))
        return len(data)


@pytest.fixture
def pipe() -> Iterator[tuple[int, int]]:
    """A pipe standing in for the TUN device: (read end, write end)."""
    r, w = os.pipe()
    os.set_blocking(r, False)
    yield r, w
    os.close(r)
    os.close(w)


def make(
    mode: TunnelMode, tun_fd: int, key: int | None = None, mtu: int | None = None
) -> tuple[Forwarder, TunnelCtx]:
    """A forwarder whose tables hold one LMA tunnel for HNP."""
    v6 = mode.transport_version == 6
    local, remote = (IPv6Address('2001:db8:1::2'), IPv6Address('2001:db8:1::1')) if v6 else (
        IPv4Address('192.0.2.2'), IPv4Address('192.0.2.1'))
    spec = TunnelSpec(local, remote, mode, key, key, mtu)
    fwd = Forwarder(tun_fd)
    sock = FakeSocket()
    ctx = TunnelCtx('pmiptest', spec, {'ip6any': 'ip6', 'gre6': 'gre6', 'ipv4-udp-tlv': 'udp'}[mode.value],
                    (str(remote), 0), spec.effective_mtu, tun_fd, {6: sock, 4: sock},
                    {v: encap.gre_header(key, v) for v in (4, 6)} if mode.uses_gre else {},
                    local.packed if v6 else None, local.packed if not v6 else encap.IPV4_DUMMY,
                    lma_prefixes=PrefixTable([(HNP, True)]))
    peer = (ctx.carrier, str(remote), key) if mode.uses_gre else (ctx.carrier, str(remote))
    fwd.tables = Tables(lma=PrefixTable([(HNP, ctx)]), peers={peer: ctx})
    return fwd, ctx


def load(fwd: Forwarder, packet: bytes) -> int:
    """Put a packet where a TUN read would have put it; return its length."""
    fwd.buf[HEADROOM:HEADROOM + len(packet)] = packet
    return len(packet)


def test_reader_contains_exceptions() -> None:
    """An exception in the drain callback never escapes doRead (Twisted would drop the reader)."""
    def boom() -> None:
        raise ValueError('bad packet')

    reader = Reader(5, boom, 'test')
    assert reader.doRead() is None and reader.fileno() == 5


def test_encap_gre_key_and_ecn(pipe: tuple[int, int]) -> None:
    """Downlink to the HNP goes out with the GRE key and the inner ECT(0) in the outer header."""
    fwd, ctx = make(TunnelMode.GRE6, pipe[1], key=77)
    n = load(fwd, bytes(ipv6(CN6, MN6, ecn=ECT0)))
    fwd.encapsulate(n, None, fwd.tables, pipe[1])
    data, cmsg, _addr = ctx.senders[6].sent[0]
    assert encap.parse_gre(data, 0, len(data)) == (8, 77, 6)
    assert int.from_bytes(cmsg[0][2], 'little') == ECT0
    assert fwd.counters['encap_tx'] == 1
    fwd.encapsulate(load(fwd, bytes(ipv6(CN6, MN6))), None, fwd.tables, pipe[1])
    assert ctx.senders[6].sent[1][1] == [], 'Not-ECT goes without a control message'


def test_encap_udp_tlv_header(pipe: tuple[int, int]) -> None:
    """IPv4-UDP-TLV puts TLV (next header GRE, right length) and GRE in front of the packet."""
    fwd, ctx = make(TunnelMode.UDP4_TLV, pipe[1], key=5)
    n = load(fwd, bytes(ipv6(CN6, MN6)))
    fwd.encapsulate(n, None, fwd.tables, pipe[1])
    data = ctx.senders[6].sent[0][0]
    assert encap.parse_tlv(data, 0, len(data)) == (4, encap.PROTO_GRE)
    assert encap.parse_gre(data, 4, len(data)) == (12, 5, 6) and len(data) == 12 + n


def test_encap_too_big_answers_ptb(pipe: tuple[int, int]) -> None:
    """A packet over the tunnel MTU is not sent; a Packet Too Big goes back into the TUN."""
    fwd, ctx = make(TunnelMode.IP6_ANY, pipe[1], mtu=1280)
    n = load(fwd, bytes(ipv6(CN6, MN6, payload=bytes(1300), nh=17)))
    fwd.encapsulate(n, None, fwd.tables, pipe[1])
    assert not ctx.senders[6].sent
    reply = os.read(pipe[0], 2000)
    assert reply[40] == 2 and int.from_bytes(reply[44:48], 'big') == 1280


def test_encap_without_tunnel_is_counted(pipe: tuple[int, int]) -> None:
    """A packet for no bound prefix is dropped and counted."""
    fwd, _ctx = make(TunnelMode.IP6_ANY, pipe[1])
    fwd.encapsulate(load(fwd, bytes(ipv6(CN6, '2001:db8:99::1'))), None, fwd.tables, pipe[1])
    assert fwd.counters['encap_no_tunnel'] == 1


def test_decap_delivers_and_marks_ce(pipe: tuple[int, int]) -> None:
    """Uplink from the peer with outer CE reaches the TUN with inner CE."""
    fwd, _ctx = make(TunnelMode.IP6_ANY, pipe[1])
    n = load(fwd, bytes(ipv6(MN6, CN6, ecn=ECT0)))
    fwd._decap(HEADROOM, HEADROOM + n, 'ip6', '2001:db8:1::1', 6, CE)
    out = os.read(pipe[0], 2000)
    assert encap.get_ecn(out, 0) == CE and fwd.counters['decap_rx'] == 1


@pytest.mark.parametrize(('remote', 'src', 'counter'), [
    ('2001:db8:1::9', MN6, 'decap_unknown_peer'), ('2001:db8:1::1', '2001:db8:bad::1', 'decap_not_bound')])
def test_decap_refuses_strangers(pipe: tuple[int, int], remote: str, src: str, counter: str) -> None:
    """Packets from an unknown peer, or with a source that is not the MN's, are dropped and counted."""
    fwd, _ctx = make(TunnelMode.IP6_ANY, pipe[1])
    n = load(fwd, bytes(ipv6(src, CN6)))
    fwd._decap(HEADROOM, HEADROOM + n, 'ip6', remote, 6, 0)
    assert fwd.counters[counter] == 1
    with pytest.raises(BlockingIOError):
        os.read(pipe[0], 2000)


def test_decap_wrong_inner_version_is_malformed(pipe: tuple[int, int]) -> None:
    """An IPv4 packet announced as IPv6 (Next Header 41) is dropped as malformed."""
    fwd, _ctx = make(TunnelMode.IP6_ANY, pipe[1])
    n = load(fwd, bytes(ipv4('10.0.0.2', '198.51.100.2')))
    fwd._decap(HEADROOM, HEADROOM + n, 'ip6', '2001:db8:1::1', 6, 0)
    assert fwd.counters['decap_malformed'] == 1


def test_link_local_sources_are_never_tunnelled() -> None:
    """A packet from fe80::/10 read from the TUN device is dropped and counted (RFC 5213 §6.10.3)."""
    import os as _os

    from pmiprouter.dataplane.forwarder import HEADROOM, Forwarder

    read_fd, write_fd = _os.pipe()
    forwarder = Forwarder(write_fd)
    packet = bytes((0x60, 0, 0, 0, 0, 8, 58, 1)) + bytes.fromhex('fe80' + '00' * 13 + '01') + bytes.fromhex('ff02' + '00' * 13 + '16') + bytes(8)
    forwarder.buf[HEADROOM : HEADROOM + len(packet)] = packet
    forwarder.encapsulate(len(packet), None, forwarder.tables, write_fd)
    assert forwarder.counters['encap_link_local_dropped'] == 1
    _os.close(read_fd)
    _os.close(write_fd)
