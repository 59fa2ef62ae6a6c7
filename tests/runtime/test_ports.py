"""MHPort and the UDP port survive junk: malformed input is counted and reported, never raised."""

from __future__ import annotations

import socket
from ipaddress import IPv4Address, IPv6Address

from pmiprouter.core.events import Event, MalformedReceived, MessageReceived, Transport
from pmiprouter.mh import Heartbeat, encode
from pmiprouter.runtime.mhport import MHPort, strip_scope
from pmiprouter.runtime.udpport import MHOverUDP


class FakeSocket:
    """Yields queued datagrams from recvmsg, then would block."""

    def __init__(self, packets: list[tuple[bytes, str]]) -> None:
        self.packets = packets

    def recvmsg(self, size: int, ancsize: int) -> tuple[bytes, list[tuple[int, int, bytes]], int, tuple[str, int]]:
        if not self.packets:
            raise BlockingIOError
        data, src = self.packets.pop(0)
        pktinfo = IPv6Address('2001:db8:2::1').packed + bytes(4)
        return data, [(socket.IPPROTO_IPV6, socket.IPV6_PKTINFO, pktinfo)], 0, (src, 0)

    def fileno(self) -> int:
        return -1


def test_mhport_reports_good_and_bad_packets_and_keeps_reading() -> None:
    """Junk becomes MalformedReceived, a failing consumer is contained, later packets still arrive."""
    got: list[Event] = []
    calls = {'n': 0}

    def deliver(event: Event) -> None:
        calls['n'] += 1
        if calls['n'] == 2:
            raise RuntimeError('consumer bug')
        got.append(event)

    good = encode(Heartbeat(1))
    packets = [(b'\x01\x02', '2001:db8:1::1'), (good, '2001:db8:1::1'), (good, 'fe80::1%eth0')]
    port = MHPort(None, deliver, FakeSocket(packets))  # type: ignore[arg-type]
    port.doRead()
    assert isinstance(got[0], MalformedReceived) and got[0].dst == IPv6Address('2001:db8:2::1')
    assert isinstance(got[1], MessageReceived) and got[1].src == IPv6Address('fe80::1')
    assert (port.malformed, port.errors) == (1, 1)


def test_strip_scope() -> None:
    """Link-local sources lose their %scope suffix."""
    assert strip_scope('fe80::1%eth0') == IPv6Address('fe80::1')


def test_udp_port_decodes_and_reports_source_port() -> None:
    """A PBU over UDP becomes MessageReceived with the source port; junk becomes MalformedReceived."""
    got: list[Event] = []
    port = MHOverUDP(IPv4Address('198.51.100.1'), got.append)
    port.datagramReceived(encode(Heartbeat(3)), ('192.0.2.1', 40000))
    port.datagramReceived(b'junk', ('192.0.2.1', 40000))
    assert isinstance(got[0], MessageReceived) and got[0].sport == 40000 and got[0].transport is Transport.UDP4
    assert isinstance(got[1], MalformedReceived) and port.malformed == 1


class RecordingSocket(FakeSocket):
    def __init__(self, packets: list[tuple[bytes, str]]) -> None:
        super().__init__(packets)
        self.sent: list[tuple[list[bytes], list[tuple[int, int, bytes]], tuple[str, int]]] = []

    def sendmsg(self, buffers: list[bytes], ancillary: list[tuple[int, int, bytes]], flags: int, address: tuple[str, int]) -> int:
        self.sent.append((buffers, ancillary, address))
        return sum(map(len, buffers))


def test_mhport_parses_each_peer_address_once_and_replies_from_the_pinned_source() -> None:
    """Repeated peers share one address object; replies carry the right destination and PKTINFO."""
    good = encode(Heartbeat(1))
    got: list[Event] = []
    sock = RecordingSocket([(good, '2001:db8:1::1'), (good, '2001:db8:1::1')])
    port = MHPort(None, got.append, sock)  # type: ignore[arg-type]
    port.doRead()
    assert got[0].src is got[1].src and got[0].dst is got[1].dst  # type: ignore[union-attr]
    local = IPv6Address('2001:db8:2::1')
    for _ in range(2):
        port.send(got[0].src, local, b'wire')  # type: ignore[arg-type, union-attr]
    port.send(IPv6Address('2001:db8:1::9'), IPv6Address(0), b'wire')
    (_, first, to), (_, second, _), (_, unpinned, other) = sock.sent
    assert to == ('2001:db8:1::1', 0) and other == ('2001:db8:1::9', 0)
    assert first == second == [(socket.IPPROTO_IPV6, socket.IPV6_PKTINFO, local.packed + bytes(4))] and unpinned == []


def test_mhport_address_cache_is_bounded() -> None:
    """A spray of distinct sources cannot grow the cache beyond its bound."""
    from pmiprouter.runtime import mhport

    good = encode(Heartbeat(1))
    packets = [(good, f'2001:db8:1::{i:x}') for i in range(mhport.ADDRESS_CACHE + 10)]
    got: list[Event] = []
    port = MHPort(None, got.append, FakeSocket(packets))  # type: ignore[arg-type]
    while packets:
        port.doRead()
    assert len(got) == mhport.ADDRESS_CACHE + 10 and len(port._sources) <= mhport.ADDRESS_CACHE
    assert got[-1].src == IPv6Address(f'2001:db8:1::{mhport.ADDRESS_CACHE + 9:x}')  # type: ignore[union-attr]
