"""The raw IPv6 Mobility Header socket as a Twisted read descriptor (RFC 6275 §6.1, RFC 5213).

The kernel fills in and verifies the MH checksum (IPV6_CHECKSUM = 4); IPV6_PKTINFO gives
the destination address of each packet and pins the source address of each reply, so a
multi-homed LMA answers from the address the MAG used. Nothing raised while reading may
escape `doRead`: Twisted would drop the descriptor (design.md).
"""

from __future__ import annotations

import socket
import struct
from collections.abc import Callable
from ipaddress import IPv6Address

from twisted.internet.interfaces import IReactorFDSet

from pmiprouter.core.events import Event, MalformedReceived, MessageReceived, Transport
from pmiprouter.mh.codec import decode
from pmiprouter.mh.errors import DecodeError
from pmiprouter.runtime.reader import SocketReader

IPPROTO_MH = 135
MAX_MH = 2048  # Header Len is one octet: at most 256 * 8 bytes
READ_BATCH = 64  # packets per doRead before yielding to the reactor
_PKTINFO = struct.Struct('16sI')  # struct in6_pktinfo: address, ifindex


def strip_scope(address: str) -> IPv6Address:
    """'fe80::1%eth0' -> fe80::1 (the scope is carried by the ifindex)."""
    return IPv6Address(address.split('%', 1)[0])


class MHPort(SocketReader):
    """Receives and sends Mobility Headers over a raw IPv6 socket (protocol 135)."""

    batch = READ_BATCH

    def __init__(self, reactor: IReactorFDSet, deliver: Callable[[Event], None], sock: socket.socket | None = None) -> None:
        super().__init__(reactor, sock if sock is not None else self.open_socket(), 'MHPort')
        self.deliver = deliver
        self.received = 0
        self.malformed = 0

    @staticmethod
    def open_socket() -> socket.socket:
        sock = socket.socket(socket.AF_INET6, socket.SOCK_RAW, IPPROTO_MH)
        sock.setblocking(False)
        sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_RECVPKTINFO, 1)
        sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_CHECKSUM, 4)
        return sock

    def receive(self) -> tuple[bytes, list[tuple[int, int, bytes]], str]:
        data, ancillary, _flags, address = self.sock.recvmsg(MAX_MH, socket.CMSG_SPACE(_PKTINFO.size))
        return data, ancillary, address[0]

    def handle(self, packet: tuple[bytes, list[tuple[int, int, bytes]], str]) -> None:
        event = self.event_for(*packet)
        self.received += 1
        self.deliver(event)

    def event_for(self, data: bytes, ancillary: list[tuple[int, int, bytes]], src_text: str) -> Event:
        src = strip_scope(src_text)
        dst = IPv6Address(0)
        for level, kind, value in ancillary:
            if level == socket.IPPROTO_IPV6 and kind == socket.IPV6_PKTINFO and len(value) >= _PKTINFO.size:
                dst = IPv6Address(_PKTINFO.unpack_from(value)[0])
        try:
            return MessageReceived(src, dst, decode(data), Transport.IPV6)
        except DecodeError as error:
            self.malformed += 1
            return MalformedReceived(src, dst, error, Transport.IPV6)

    def send(self, dst: IPv6Address, src: IPv6Address | None, wire: bytes) -> None:
        """Send one Mobility Header; the kernel fills in the checksum."""
        ancillary = [(socket.IPPROTO_IPV6, socket.IPV6_PKTINFO, _PKTINFO.pack(src.packed, 0))] if src is not None and int(src) else []
        try:
            self.sock.sendmsg([wire], ancillary, 0, (str(dst), 0))
        except OSError as exc:
            self.errors += 1
            self.log.warn('sending a Mobility Header to {dst} failed: {error}', dst=dst, error=exc)
