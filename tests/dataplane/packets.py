"""Tiny packet builders for the tests (IPv6 and IPv4 headers with ICMP echo payloads)."""

from __future__ import annotations

import struct
from ipaddress import IPv4Address, IPv6Address

from pmiprouter.dataplane.encap import checksum


def ipv6(src: str, dst: str, payload: bytes = b'\x80\x00\x00\x00\x00\x01\x00\x01', nh: int = 58,
         ecn: int = 0, hlim: int = 64) -> bytearray:
    """An IPv6 packet (default payload: an ICMPv6 echo request header)."""
    first = (6 << 28) | (ecn << 20)
    return bytearray(struct.pack('!IHBB', first, len(payload), nh, hlim)
                     + IPv6Address(src).packed + IPv6Address(dst).packed + payload)


def ipv4(src: str, dst: str, payload: bytes = b'\x08\x00\xf7\xfe\x00\x01\x00\x00', proto: int = 1,
         ecn: int = 0, df: bool = True, ttl: int = 64) -> bytearray:
    """An IPv4 packet with a valid header checksum (default payload: an ICMP echo request)."""
    flags = 0x4000 if df else 0
    hdr = bytearray(struct.pack('!BBHHHBBH', 0x45, ecn, 20 + len(payload), 1, flags, ttl, proto, 0)
                    + IPv4Address(src).packed + IPv4Address(dst).packed)
    struct.pack_into('!H', hdr, 10, checksum(hdr))
    return hdr + payload
