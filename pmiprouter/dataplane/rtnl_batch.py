"""Route and rule changes over rtnetlink, many messages in one ``sendmsg`` (one round trip);
and single address additions (the MAG's access links) and link state changes (the lab's
radio) without pyroute2.

pyroute2 costs about 1.5 ms per call (a message, a wait for its ACK, Python around both); a
binding move is several routes and rules. Here every route/rule message of one change is
encoded by hand (linux/rtnetlink.h, linux/fib_rules.h: a few fixed structs and attributes),
sent in one datagram with NLM_F_ACK on each, and the kernel's ACKs are matched back to the
messages by sequence number. The kernel executes the messages of a datagram in order and
answers each one on its own, so a failure is reported per message and never stops the rest.

Independent of pyroute2 (and of its version). One instance belongs to one thread.
"""

from __future__ import annotations

import errno
import os
import socket
import struct
from collections.abc import Sequence
from ipaddress import IPv4Address, IPv6Address

from pmiprouter.dataplane.base import Op
from pmiprouter.dataplane.interface import IPNetwork, RouteEntry, RuleEntry

RTM_NEWLINK = 16
RTM_NEWADDR = 20
IFLA_IFNAME = 3
IFF_UP = 0x1
RTM_NEWROUTE, RTM_DELROUTE, RTM_NEWRULE, RTM_DELRULE = 24, 25, 32, 33
NLMSG_ERROR = 2
NLM_F_REQUEST, NLM_F_ACK = 0x1, 0x4
NLM_F_REPLACE, NLM_F_EXCL, NLM_F_CREATE = 0x100, 0x200, 0x400
RTA_DST, RTA_SRC, RTA_OIF, RTA_TABLE = 1, 2, 4, 15
FRA_DST, FRA_SRC, FRA_IIFNAME, FRA_PRIORITY, FRA_TABLE = 1, 2, 3, 6, 15
IFA_ADDRESS, IFA_LOCAL = 1, 2
IFA_F_NODAD = 0x02
RTPROT_STATIC = 4
RT_SCOPE_UNIVERSE, RT_SCOPE_LINK, RT_SCOPE_NOWHERE = 0, 253, 255
RTN_UNICAST = 1
FR_ACT_TO_TBL = 1
SOL_NETLINK = 270
NETLINK_CAP_ACK = 10  # error ACKs carry only the request's header, not its whole payload

#: Messages per datagram: each ACK is a separate buffer in our receive queue; a bounded
#: batch keeps them all inside the socket's receive buffer (no ENOBUFS, no lost ACK).
MAX_BATCH = 128

_NLMSGHDR = struct.Struct('=IHHII')
_RTMSG = struct.Struct('=BBBBBBBBI')  # family dst_len src_len tos table protocol scope type flags
_FIBHDR = struct.Struct('=BBBBBBBBI')  # family dst_len src_len tos table res1 res2 action flags
_IFADDRMSG = struct.Struct('=BBBBI')  # family prefixlen flags scope index
_IFINFOMSG = struct.Struct('=BxHiII')  # family type index flags change
_RTATTR = struct.Struct('=HH')
_U32 = struct.Struct('=I')
_ERR = struct.Struct('=i')
_FLAGS = struct.Struct('=H')
_FLAGS_AT = 6  # offset of nlmsg_flags in the header

#: Outcomes that mean "already as wanted": an identical rule on add, a missing object on delete.
ALREADY_THERE = {errno.EEXIST}
ALREADY_GONE = {errno.ESRCH, errno.ENOENT, errno.ENODEV, errno.EADDRNOTAVAIL}


def _attr(kind: int, value: bytes) -> bytes:
    data = _RTATTR.pack(_RTATTR.size + len(value), kind) + value
    return data + bytes(-len(data) % 4)


def _family(net: IPNetwork) -> int:
    return socket.AF_INET6 if net.version == 6 else socket.AF_INET


def _header_table(table: int) -> int:
    # Tables above 255 travel in RTA_TABLE/FRA_TABLE; the header field says "see the attribute".
    return table if table < 256 else 0


def route_message(op: Op, oif: int, seq: int) -> bytes:
    """RTM_NEWROUTE (create or replace) or RTM_DELROUTE for one route through a device."""
    route = op.obj
    assert isinstance(route, RouteEntry)
    dst = route.dst
    if route.src is not None:
        return _source_route_message(op.add, route, oif, seq)
    # Every part but the destination is the same for the routes of one table, device, family
    # and prefix length (a burst's thousands of /64s): made once.
    key = (op.add, route.table, oif, dst.version, dst.prefixlen)
    made = _route_heads.get(key)
    if made is None:
        made = _route_heads[key] = _route_head(op.add, route.table, oif, dst)
    kind, flags, head, dst_attr = made
    if dst_attr:
        return _message(kind, flags, seq, head + dst_attr + dst.network_address.packed)
    return _message(kind, flags, seq, head)


#: (add, table, oif, version, prefix length) -> what `route_message` puts around the destination.
_route_heads: dict[tuple[bool, int, int, int, int], tuple[int, int, bytes, bytes]] = {}
MAX_ROUTE_HEADS = 1024  # table, device and length combinations remembered (a few in use)


def _route_head(add: bool, table: int, oif: int, dst: IPNetwork) -> tuple[int, int, bytes, bytes]:
    """The message kind and flags, the header and attributes before the destination, and the
    destination attribute's own header (empty for a default route, which has none)."""
    if len(_route_heads) >= MAX_ROUTE_HEADS:
        _route_heads.clear()
    family = _family(dst)
    attrs = _attr(RTA_TABLE, _U32.pack(table)) + _attr(RTA_OIF, _U32.pack(oif))
    # An address is 4 or 16 bytes: its attribute needs no padding.
    dst_attr = _RTATTR.pack(_RTATTR.size + len(dst.network_address.packed), RTA_DST) if dst.prefixlen else b''
    if add:
        kind, flags = RTM_NEWROUTE, NLM_F_CREATE | NLM_F_REPLACE
        # `ip route add X dev D` semantics: an IPv4 route without a gateway is link-scoped.
        scope = RT_SCOPE_LINK if family == socket.AF_INET else RT_SCOPE_UNIVERSE
        body = _RTMSG.pack(family, dst.prefixlen, 0, 0, _header_table(table), RTPROT_STATIC, scope, RTN_UNICAST, 0)
    else:
        # Match on table, destination and device only (any protocol, scope or type).
        kind, flags = RTM_DELROUTE, 0
        body = _RTMSG.pack(family, dst.prefixlen, 0, 0, _header_table(table), 0, RT_SCOPE_NOWHERE, 0, 0)
    return kind, flags, body + attrs, dst_attr


def _source_route_message(add: bool, route: RouteEntry, oif: int, seq: int) -> bytes:
    """`route_message` of an IPv6 source-specific route (a MAG's uplink, one per MN: not a burst's
    thousands, so not cached)."""
    dst, src = route.dst, route.src
    assert src is not None
    kind, flags, head, dst_attr = _route_head(add, route.table, oif, dst)
    head = head[:2] + bytes([src.prefixlen]) + head[3:]  # the header's third byte: the source's length
    destination = dst_attr + dst.network_address.packed if dst_attr else b''
    return _message(kind, flags, seq, head + destination + _attr(RTA_SRC, src.network_address.packed))


def rule_message(op: Op, seq: int) -> bytes:
    """RTM_NEWRULE (exclusive: an identical rule answers EEXIST) or RTM_DELRULE."""
    rule = op.obj
    assert isinstance(rule, RuleEntry)
    attrs = _attr(FRA_PRIORITY, _U32.pack(rule.priority)) + _attr(FRA_TABLE, _U32.pack(rule.table))
    if rule.src is not None:
        attrs += _attr(FRA_SRC, rule.src.network_address.packed)
    if rule.dst is not None:
        attrs += _attr(FRA_DST, rule.dst.network_address.packed)
    if rule.iif:
        attrs += _attr(FRA_IIFNAME, rule.iif.encode() + b'\0')
    src_len = rule.src.prefixlen if rule.src is not None else 0
    dst_len = rule.dst.prefixlen if rule.dst is not None else 0
    body = _FIBHDR.pack(rule.family, dst_len, src_len, 0, _header_table(rule.table), 0, 0, FR_ACT_TO_TBL, 0)
    kind, flags = (RTM_NEWRULE, NLM_F_CREATE | NLM_F_EXCL) if op.add else (RTM_DELRULE, 0)
    return _message(kind, flags, seq, body + attrs)


def address_message(ifindex: int, address: IPv4Address | IPv6Address, prefixlen: int, flags: int, seq: int) -> bytes:
    """RTM_NEWADDR, exclusive (an address already there answers EEXIST), like `ip addr add`."""
    family = socket.AF_INET6 if address.version == 6 else socket.AF_INET
    body = _IFADDRMSG.pack(family, prefixlen, flags & 0xFF, RT_SCOPE_UNIVERSE, ifindex)
    attrs = _attr(IFA_LOCAL, address.packed) + _attr(IFA_ADDRESS, address.packed)
    return _message(RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL, seq, body + attrs)


def link_state_message(ifname: str, up: bool, seq: int) -> bytes:
    """RTM_NEWLINK setting or clearing IFF_UP of the device named `ifname`, like `ip link set up/down`
    (index 0: the kernel finds the device by its name)."""
    body = _IFINFOMSG.pack(socket.AF_UNSPEC, 0, 0, IFF_UP if up else 0, IFF_UP)
    return _message(RTM_NEWLINK, 0, seq, body + _attr(IFLA_IFNAME, ifname.encode() + b'\0'))


def _message(kind: int, flags: int, seq: int, payload: bytes) -> bytes:
    return _NLMSGHDR.pack(_NLMSGHDR.size + len(payload), kind, flags | NLM_F_REQUEST | NLM_F_ACK, seq, 0) + payload


def parse_acks(data: bytes) -> list[tuple[int, int]]:
    """(sequence, errno) of every NLMSG_ERROR in a datagram; errno 0 is success."""
    acks = []
    i = 0
    while i + _NLMSGHDR.size <= len(data):
        length, kind, _flags, seq, _pid = _NLMSGHDR.unpack_from(data, i)
        if length < _NLMSGHDR.size or i + length > len(data):
            break
        if kind == NLMSG_ERROR and length >= _NLMSGHDR.size + _ERR.size:
            (code,) = _ERR.unpack_from(data, i + _NLMSGHDR.size)
            acks.append((seq, -code))
        i += (length + 3) & ~3
    return acks


def ifindex(ifname: str) -> int | None:
    """A device's index in this namespace (an ioctl, no netlink dump), or None."""
    try:
        return socket.if_nametoindex(ifname)
    except OSError:
        return None


class RtnlBatch:
    """One NETLINK_ROUTE socket that executes lists of :class:`Op` in as few round trips as possible."""

    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, socket.NETLINK_ROUTE)
        self.sock.bind((0, 0))
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
        try:
            self.sock.setsockopt(SOL_NETLINK, NETLINK_CAP_ACK, 1)
        except OSError:  # an old kernel echoes whole requests in error ACKs: still parsed the same
            pass
        self._seq = int.from_bytes(os.urandom(2), 'big') << 8
        self.round_trips = 0

    def close(self) -> None:
        self.sock.close()

    def execute(self, ops: Sequence[Op]) -> list[tuple[Op, int]]:
        """Run `ops` in order; return the ones that failed with their errno.

        Outcomes that leave the object as wanted are not failures: EEXIST for a rule add and a
        missing object or device on delete. A route add whose device is missing fails with
        ENODEV without reaching the kernel.
        """
        failures: list[tuple[Op, int]] = []
        pending: dict[int, Op] = {}
        datagram: list[bytes] = []
        # One lookup per device and change: a userspace move names the TUN device four times.
        indexes: dict[str, int | None] = {}
        for op in ops:
            if isinstance(op.obj, RouteEntry):
                dev = op.obj.dev
                oif = indexes[dev] if dev in indexes else indexes.setdefault(dev, ifindex(dev))
                if oif is None:
                    if op.add:
                        failures.append((op, errno.ENODEV))
                    continue  # deleting a route through a device that is gone: it went with it
                message = route_message(op, oif, self._next_seq())
            else:
                message = rule_message(op, self._next_seq())
            pending[self._seq] = op
            datagram.append(message)
            if len(datagram) == MAX_BATCH:
                failures += self._round_trip(datagram, pending)
                datagram, pending = [], {}
        if datagram:
            failures += self._round_trip(datagram, pending)
        return failures

    def add_address(self, ifindex: int, address: IPv4Address | IPv6Address, prefixlen: int, flags: int = 0) -> int:
        """Add an address to a device in one round trip; the outcome's errno (0: added,
        EEXIST: it was there already). A few dozen microseconds against ~2 ms for pyroute2's
        dump-then-add, on the reactor thread while a mobile node's first packets wait."""
        return self._single(address_message(ifindex, address, prefixlen, flags, self._next_seq()))

    def set_link_up(self, ifname: str, up: bool) -> int:
        """Bring a device up or down in one round trip; the outcome's errno (0: done)."""
        return self._single(link_state_message(ifname, up, self._next_seq()))

    def _single(self, message: bytes) -> int:
        """Send one request (numbered with the latest sequence number) and wait for its ACK."""
        seq = self._seq
        self.sock.send(message)
        self.round_trips += 1
        while True:
            for got, code in parse_acks(self.sock.recv(65536)):
                if got == seq:
                    return code

    def _next_seq(self) -> int:
        self._seq = (self._seq + 1) & 0xFFFFFFFF or 1
        return self._seq

    def _round_trip(self, datagram: Sequence[bytes], pending: dict[int, Op]) -> list[tuple[Op, int]]:
        # Only the last message asks for an ACK. The kernel reports every failure whether asked
        # or not, and it executes a datagram in order: once the last one is answered, every
        # error before it is already in our queue. One ACK to read instead of one per message.
        data = bytearray(b''.join(datagram))
        offset = 0
        for message in datagram[:-1]:
            (flags,) = _FLAGS.unpack_from(message, _FLAGS_AT)
            _FLAGS.pack_into(data, offset + _FLAGS_AT, flags & ~NLM_F_ACK)
            offset += len(message)
        last = next(reversed(pending))
        self.sock.send(data)
        self.round_trips += 1
        failures = []
        while True:
            for seq, code in parse_acks(self.sock.recv(65536)):
                op = pending.pop(seq, None)
                if op is not None and code and not ((code in ALREADY_THERE and op.add) or (code in ALREADY_GONE and not op.add)):
                    failures.append((op, code))
                if seq == last:  # anything else was an answer to an earlier, abandoned batch
                    return failures
