"""Mobility Headers over IPv4/UDP port 5436 (RFC 5844 §4): one listening socket per IPv4 address.

Binding to each of our addresses tells every datagram which address it was sent to, so the
reply leaves from that address, to the source port the request came from (RFC 5844 §4.1.3.2).
The MH checksum is 0 on this path and ignored; UDP's own checksum protects the message.
"""

from __future__ import annotations

from collections.abc import Callable
from ipaddress import IPv4Address

from twisted.internet.protocol import DatagramProtocol
from twisted.logger import Logger

from pmiprouter.core.events import Event, MalformedReceived, MessageReceived, Transport
from pmiprouter.mh.codec import decode
from pmiprouter.mh.errors import DecodeError
from pmiprouter.mh.framing import PMIP6_CNTL_PORT


class MHOverUDP(DatagramProtocol):
    """One UDP 5436 socket bound to `address`."""

    log = Logger()

    def __init__(self, address: IPv4Address, deliver: Callable[[Event], None]) -> None:
        self.address = address
        self.deliver = deliver
        self.received = 0
        self.malformed = 0
        self.errors = 0

    def datagramReceived(self, datagram: bytes, addr: tuple[str, int]) -> None:
        try:
            src = IPv4Address(addr[0])
            try:
                event: Event = MessageReceived(src, self.address, decode(datagram), Transport.UDP4, addr[1])
            except DecodeError as error:
                self.malformed += 1
                event = MalformedReceived(src, self.address, error, Transport.UDP4, addr[1])
            self.received += 1
            self.deliver(event)
        except Exception:  # the boundary: a bad datagram must not stop the port
            self.errors += 1
            self.log.failure('UDP Mobility Header from {src} not handled', src=addr[0])

    def send(self, dst: IPv4Address, wire: bytes, port: int | None) -> None:
        if self.transport is None:
            return
        try:
            self.transport.write(wire, (str(dst), port or PMIP6_CNTL_PORT))
        except OSError as exc:
            self.errors += 1
            self.log.warn('sending a Mobility Header to {dst} over UDP failed: {error}', dst=dst, error=exc)
