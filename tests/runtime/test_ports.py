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
