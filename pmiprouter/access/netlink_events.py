"""Link and neighbour notifications from the kernel's rtnetlink multicast groups (pure parser).

The MAG learns attach and detach from them (RFC 5213 §6.9.1.1, §6.13): an access link
losing its carrier means its mobile node left; a neighbour entry becoming reachable means
a host is there. Only the few fields needed are read (linux/rtnetlink.h, linux/if_link.h,
linux/neighbour.h); everything else is skipped by length, never guessed.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

RTM_NEWLINK, RTM_DELLINK, RTM_NEWNEIGH, RTM_DELNEIGH = 16, 17, 28, 29
RTMGRP_LINK, RTMGRP_NEIGH = 0x1, 0x4
IFLA_IFNAME = 3
NDA_LLADDR = 2
IFF_UP, IFF_LOWER_UP = 0x1, 0x10000
NUD_REACHABLE = 0x02

_NLMSGHDR = struct.Struct('=IHHII')
_IFINFOMSG = struct.Struct('=BxHiII')
_NDMSG = struct.Struct('=BxxxiHBB')
_RTATTR = struct.Struct('=HH')


@dataclass(frozen=True, slots=True)
class LinkChange:
    ifindex: int
    ifname: str | None
    carrier: bool  # administratively up and with a carrier
    deleted: bool


@dataclass(frozen=True, slots=True)
class NeighbourChange:
    ifindex: int
    mac: bytes | None
    state: int
    deleted: bool


def _attributes(data: bytes, start: int, end: int) -> dict[int, bytes]:
    found: dict[int, bytes] = {}
    i = start
    while i + _RTATTR.size <= end:
        length, kind = _RTATTR.unpack_from(data, i)
        if length < _RTATTR.size or i + length > end:
            break
        found.setdefault(kind & 0x3FFF, data[i + _RTATTR.size : i + length])
        i += (length + 3) & ~3
    return found


def parse(data: bytes) -> list[LinkChange | NeighbourChange]:
    """Every link or neighbour change in one netlink datagram; malformed tails are ignored."""
    events: list[LinkChange | NeighbourChange] = []
    i = 0
    while i + _NLMSGHDR.size <= len(data):
        length, kind, _, _, _ = _NLMSGHDR.unpack_from(data, i)
        if length < _NLMSGHDR.size or i + length > len(data):
            break
        body, end = i + _NLMSGHDR.size, i + length
        if kind in (RTM_NEWLINK, RTM_DELLINK) and body + _IFINFOMSG.size <= end:
            _, _, index, flags, _ = _IFINFOMSG.unpack_from(data, body)
            name = _attributes(data, body + _IFINFOMSG.size, end).get(IFLA_IFNAME)
            carrier = flags & (IFF_UP | IFF_LOWER_UP) == (IFF_UP | IFF_LOWER_UP)
            ifname = name.rstrip(b'\0').decode(errors='replace') if name else None
            events.append(LinkChange(index, ifname, carrier, kind == RTM_DELLINK))
        elif kind in (RTM_NEWNEIGH, RTM_DELNEIGH) and body + _NDMSG.size <= end:
            _, index, state, _, _ = _NDMSG.unpack_from(data, body)
            mac = _attributes(data, body + _NDMSG.size, end).get(NDA_LLADDR)
            events.append(NeighbourChange(index, mac if mac and len(mac) == 6 else None, state, kind == RTM_DELNEIGH))
        i += (length + 3) & ~3
    return events


def link_message(kind: int, ifindex: int, ifname: str, flags: int) -> bytes:
    """Build an RTM_NEWLINK/DELLINK message (tests)."""
    name = ifname.encode() + b'\0'
    attr = _RTATTR.pack(_RTATTR.size + len(name), IFLA_IFNAME) + name
    attr += bytes(-len(attr) % 4)
    body = _IFINFOMSG.pack(0, 1, ifindex, flags, 0xFFFFFFFF) + attr
    return _NLMSGHDR.pack(_NLMSGHDR.size + len(body), kind, 0, 0, 0) + body


def neighbour_message(kind: int, ifindex: int, mac: bytes, state: int) -> bytes:
    """Build an RTM_NEWNEIGH/DELNEIGH message (tests)."""
    attr = _RTATTR.pack(_RTATTR.size + len(mac), NDA_LLADDR) + mac
    attr += bytes(-len(attr) % 4)
    body = _NDMSG.pack(10, ifindex, state, 0, 1) + attr
    return _NLMSGHDR.pack(_NLMSGHDR.size + len(body), kind, 0, 0, 0) + body
