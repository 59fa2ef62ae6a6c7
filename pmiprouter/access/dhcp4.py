"""DHCPv4 on the MAG's access link: the message codec and the co-located server (pure).

RFC 2131 (messages, server behaviour), RFC 2132 (options), RFC 5844 §3.4.1 (the MAG's
server: DISCOVER triggers the PBU, nothing is offered before the PBA, the OFFER carries
Subnet Mask, Router = the IPv4 default router of the PBA and Interface MTU; the server
identifier is the default-router address; RELEASE de-registers only the IPv4 part).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field, replace
from ipaddress import IPv4Address, IPv4Network
from typing import Any

from pmiprouter.mh.errors import BadMessageValue, Truncated

BOOTREQUEST, BOOTREPLY = 1, 2
MAGIC = b'\x63\x82\x53\x63'
DISCOVER, OFFER, REQUEST, DECLINE, ACK, NAK, RELEASE, INFORM = range(1, 9)
OPT_PAD, OPT_SUBNET_MASK, OPT_ROUTER, OPT_REQUESTED_IP, OPT_LEASE_TIME = 0, 1, 3, 50, 51
OPT_MESSAGE_TYPE, OPT_SERVER_ID, OPT_INTERFACE_MTU, OPT_CLIENT_ID, OPT_END = 53, 54, 26, 61, 255
OPT_RELAY_AGENT_INFO = 82  # RFC 3046
AGENT_CIRCUIT_ID, AGENT_REMOTE_ID = 1, 2  # RFC 3046 §2.0 sub-options
AGENT_LINK_SELECTION = 5  # RFC 3527: the client's subnet when giaddr is not on it
BROADCAST_FLAG = 0x8000
_FIXED = struct.Struct('!BBBBIHH4s4s4s4s16s64s128s')
ZERO = IPv4Address(0)


@dataclass(frozen=True, slots=True)
class DhcpMessage:
    """One DHCPv4 message; `options` keeps wire order (code, value) pairs without PAD/END."""

    op: int
    xid: int
    chaddr: bytes  # client hardware address (MAC: 6 bytes)
    options: tuple[tuple[int, bytes], ...] = ()
    ciaddr: IPv4Address = ZERO
    yiaddr: IPv4Address = ZERO
    siaddr: IPv4Address = ZERO
    giaddr: IPv4Address = ZERO
    flags: int = 0
    secs: int = 0
    hops: int = 0

    def option(self, code: int) -> bytes | None:
        return next((value for c, value in self.options if c == code), None)

    @property
    def message_type(self) -> int | None:
        value = self.option(OPT_MESSAGE_TYPE)
        return value[0] if value and len(value) == 1 else None


def decode(data: bytes) -> DhcpMessage:
    """Parse a DHCPv4 message (the UDP payload); raises DecodeError subclasses when malformed."""
    if len(data) < _FIXED.size + 4:
        raise Truncated(0, _FIXED.size + 4, len(data), 'DHCPv4 message')
    op, htype, hlen, hops, xid, secs, flags, ci, yi, si, gi, chaddr, _, _ = _FIXED.unpack_from(data)
    if op not in (BOOTREQUEST, BOOTREPLY):
        raise BadMessageValue(0, f'DHCP op {op}')
    if hlen > 16:
        raise BadMessageValue(2, f'hardware address length {hlen}')
    if data[_FIXED.size : _FIXED.size + 4] != MAGIC:
        raise BadMessageValue(_FIXED.size, 'no DHCP magic cookie (a plain BOOTP message)')
    options: list[tuple[int, bytes]] = []
    i = _FIXED.size + 4
    while i < len(data):
        code = data[i]
        if code == OPT_END:
            break
        if code == OPT_PAD:
            i += 1
            continue
        if i + 2 > len(data) or i + 2 + data[i + 1] > len(data):
            raise Truncated(i, 2 + (data[i + 1] if i + 1 < len(data) else 0), len(data) - i, f'DHCP option {code}')
        options.append((code, bytes(data[i + 2 : i + 2 + data[i + 1]])))
        i += 2 + data[i + 1]
    del htype
    return DhcpMessage(
        op, xid, bytes(chaddr[:hlen]), tuple(options), IPv4Address(ci), IPv4Address(yi), IPv4Address(si),
        IPv4Address(gi), flags, secs, hops,
    )


def encode(message: DhcpMessage) -> bytes:
    """The wire form, options in order, END appended, padded to the 300-byte BOOTP minimum."""
    fixed = _FIXED.pack(
        message.op, 1, len(message.chaddr), message.hops, message.xid, message.secs, message.flags,
        message.ciaddr.packed, message.yiaddr.packed, message.siaddr.packed, message.giaddr.packed,
        message.chaddr, b'', b'',
    )
    body = bytearray(fixed + MAGIC)
    for code, value in message.options:
        body += bytes((code, len(value))) + value
    body.append(OPT_END)
    body += bytes(max(0, 300 - len(body)))
    return bytes(body)


def with_options(message: DhcpMessage, options: tuple[tuple[int, bytes], ...], **fields: Any) -> DhcpMessage:
    """A copy of `message` with other options (and other fixed fields): what a relay forwards."""
    return replace(message, options=options, **fields)


def encode_suboptions(suboptions: tuple[tuple[int, bytes], ...]) -> bytes:
    """RFC 3046 §2.0: the Relay Agent Information option body, sub-options as code/length/value."""
    return b''.join(bytes((code, len(value))) + value for code, value in suboptions)


def decode_suboptions(body: bytes) -> tuple[tuple[int, bytes], ...]:
    """The sub-options of a Relay Agent Information option; raises Truncated when one overruns."""
    out: list[tuple[int, bytes]] = []
    i = 0
    while i < len(body):
        if i + 2 > len(body) or i + 2 + body[i + 1] > len(body):
            raise Truncated(i, 2, len(body) - i, 'relay agent sub-option')
        out.append((body[i], bytes(body[i + 2 : i + 2 + body[i + 1]])))
        i += 2 + body[i + 1]
    return tuple(out)


@dataclass(frozen=True, slots=True)
class Lease:
    """What the MAG may hand one MN: the IPv4 HoA from the PBA (RFC 5844 §3.4.1)."""

    address: IPv4Address
    prefix_length: int
    router: IPv4Address | None
    mtu: int


@dataclass(frozen=True, slots=True)
class Reply:
    """A server answer and how to send it (broadcast when the client cannot receive unicast yet)."""

    message: DhcpMessage
    broadcast: bool


@dataclass
class DhcpServer:
    """The MAG's co-located DHCPv4 server: it only serves addresses the LMA granted."""

    lease_time_s: int = 3600
    leases: dict[tuple[str, bytes], Lease] = field(default_factory=dict)

    def grant(self, ifname: str, mac: bytes, lease: Lease) -> None:
        self.leases[(ifname, mac)] = lease

    def revoke(self, ifname: str, mac: bytes) -> None:
        self.leases.pop((ifname, mac), None)

    def handle(self, ifname: str, request: DhcpMessage) -> Reply | None:
        """The answer to a client message on `ifname`, or None (no lease yet: RFC 5844 says wait for the PBA)."""
        if request.op != BOOTREQUEST:
            return None
        lease = self.leases.get((ifname, request.chaddr))
        kind = request.message_type
        if lease is None or kind not in (DISCOVER, REQUEST, INFORM):
            return None
        if kind == DISCOVER:
            return self._reply(request, lease, OFFER)
        if kind == INFORM:
            return self._reply(request, lease, ACK, assign=False)
        requested = request.option(OPT_REQUESTED_IP)
        wanted = IPv4Address(requested) if requested and len(requested) == 4 else request.ciaddr
        server_id = request.option(OPT_SERVER_ID)
        ours = lease.router.packed if lease.router is not None else None
        if wanted != lease.address or (server_id is not None and server_id != ours):
            return self._nak(request, lease)
        return self._reply(request, lease, ACK)

    def _reply(self, request: DhcpMessage, lease: Lease, kind: int, assign: bool = True) -> Reply:
        mask = IPv4Network((0, lease.prefix_length)).netmask
        options: list[tuple[int, bytes]] = [(OPT_MESSAGE_TYPE, bytes((kind,)))]
        if lease.router is not None:
            options.append((OPT_SERVER_ID, lease.router.packed))
        if assign:
            options.append((OPT_LEASE_TIME, self.lease_time_s.to_bytes(4, 'big')))
        options.append((OPT_SUBNET_MASK, mask.packed))
        if lease.router is not None:
            options.append((OPT_ROUTER, lease.router.packed))
        options.append((OPT_INTERFACE_MTU, lease.mtu.to_bytes(2, 'big')))
        reply = DhcpMessage(
            BOOTREPLY, request.xid, request.chaddr, tuple(options),
            yiaddr=lease.address if assign else ZERO, giaddr=request.giaddr, flags=request.flags,
        )
        return Reply(reply, broadcast=bool(request.flags & BROADCAST_FLAG) or request.ciaddr == ZERO)

    def _nak(self, request: DhcpMessage, lease: Lease) -> Reply:
        options: list[tuple[int, bytes]] = [(OPT_MESSAGE_TYPE, bytes((NAK,)))]
        if lease.router is not None:
            options.append((OPT_SERVER_ID, lease.router.packed))
        return Reply(DhcpMessage(BOOTREPLY, request.xid, request.chaddr, tuple(options), flags=request.flags), True)
