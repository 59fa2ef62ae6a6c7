"""Per-packet encapsulation logic of the userspace backend, as pure functions on buffers.

Everything works in place on a ``bytearray`` with offsets, so the forwarder reads a packet into
a preallocated buffer (leaving :data:`HEADROOM` free in front), writes the tunnel headers into
that headroom and sends a slice: no copy and no allocation per packet beyond what the socket
calls need.

RFCs: RFC 2784 / RFC 2890 (GRE, key field), RFC 5845 §7.1-7.2 (UDP TLV header),
RFC 5844 §4.1.4.1 (IPv4-UDP), RFC 5213 §5.6.3 and RFC 3168 §9.1.1 full functionality (ECN),
RFC 2473 §7.1 / RFC 4443 §3.2 (Packet Too Big), RFC 4213 §3.2 / RFC 792 / RFC 1191
(Fragmentation Needed), RFC 7600 (192.0.0.8 as the IPv4 source of ICMP errors).

Purity: no I/O; standard library only.
"""

from __future__ import annotations

import struct

#: Bytes kept free in front of the inner packet: IPv4 header is added by the kernel, so the
#: largest header we write is TLV (4) + GRE with key (8).
HEADROOM = 64

NOT_ECT, ECT1, ECT0, CE = 0, 1, 2, 3
PROTO_IPV4, PROTO_IPV6, PROTO_GRE, PROTO_ICMP, PROTO_ICMPV6 = 4, 41, 47, 1, 58
ETH_P_IP, ETH_P_IPV6 = 0x0800, 0x86DD
GRE_FLAG_C, GRE_FLAG_K, GRE_FLAG_S = 0x8000, 0x2000, 0x1000
IPV4_DUMMY = bytes([192, 0, 0, 8])  # RFC 7600

_GRE_KEYED = struct.Struct('!HHI')
_GRE_PLAIN = struct.Struct('!HH')
_TLV = struct.Struct('!BBH')
_U16 = struct.Struct('!H')


class DecapError(Exception):
    """A received tunnel packet is malformed or not acceptable; the reason says why."""


def ip_version(buf: bytearray | memoryview, off: int) -> int:
    """Return the IP version nibble of the packet at ``off``."""
    return buf[off] >> 4


def inner_proto(version: int) -> int:
    """Return the outer Next Header / protocol number for an inner packet of this version."""
    return PROTO_IPV6 if version == 6 else PROTO_IPV4


def get_ecn(buf: bytearray | memoryview, off: int) -> int:
    """Return the ECN field of the IPv6 or IPv4 packet at ``off``."""
    if buf[off] >> 4 == 6:
        return (buf[off + 1] >> 4) & 3
    return buf[off + 1] & 3


def set_ecn(buf: bytearray, off: int, ecn: int) -> None:
    """Set the ECN field in place (IPv4: the header checksum is updated, RFC 1624)."""
    if buf[off] >> 4 == 6:
        buf[off + 1] = (buf[off + 1] & 0xCF) | (ecn << 4)
        return
    old_word = (buf[off] << 8) | buf[off + 1]
    buf[off + 1] = (buf[off + 1] & 0xFC) | ecn
    new_word = (buf[off] << 8) | buf[off + 1]
    (csum,) = _U16.unpack_from(buf, off + 10)
    total = (~csum & 0xFFFF) + (~old_word & 0xFFFF) + new_word
    total = (total & 0xFFFF) + (total >> 16)
    total = (total & 0xFFFF) + (total >> 16)
    _U16.pack_into(buf, off + 10, ~total & 0xFFFF)


def encap_ecn(inner: int) -> int:
    """Outer ECN at encapsulation (RFC 3168 §9.1.1 full functionality, RFC 5213 §5.6.3).

    ECT(0)/ECT(1) are copied; an inner CE becomes ECT(0) (so the egress does not mistake it
    for congestion on the tunnel path); Not-ECT stays Not-ECT.
    """
    if inner == CE:
        return ECT0
    return inner


def decap_ecn(outer: int, inner: int) -> int | None:
    """Inner ECN after decapsulation, or None if the packet must be dropped (RFC 3168 §9.1.1).

    An outer CE marks an ECT inner packet CE; an outer CE on a Not-ECT inner packet cannot be
    signalled, so the packet is dropped (as a congested router would have done).
    """
    if outer == CE:
        return None if inner == NOT_ECT else CE
    return inner


def gre_header(key: int | None, version: int) -> bytes:
    """Return the GRE header for an inner packet of ``version`` (RFC 2784, key per RFC 2890)."""
    ptype = ETH_P_IPV6 if version == 6 else ETH_P_IP
    if key is None:
        return _GRE_PLAIN.pack(0, ptype)
    return _GRE_KEYED.pack(GRE_FLAG_K, ptype, key)


def parse_gre(buf: bytearray | memoryview, off: int, end: int) -> tuple[int, int | None, int]:
    """Parse a GRE header; return (payload offset, key or None, inner IP version).

    Raises:
        DecapError: truncated, version not 0, routing present, or a payload type that is
            neither IPv4 nor IPv6.
    """
    if end - off < 4:
        raise DecapError('truncated GRE header')
    flags, ptype = _GRE_PLAIN.unpack_from(buf, off)
    if flags & 0x0007 or flags & 0x4000:
        raise DecapError(f'GRE version/routing not supported (flags {flags:#06x})')
    pos = off + 4 + (4 if flags & GRE_FLAG_C else 0)
    key = None
    if flags & GRE_FLAG_K:
        if end - pos < 4:
            raise DecapError('truncated GRE key')
        key = int.from_bytes(buf[pos:pos + 4], 'big')
        pos += 4
    if flags & GRE_FLAG_S:
        pos += 4
    if pos > end:
        raise DecapError('truncated GRE header')
    if ptype == ETH_P_IPV6:
        return pos, key, 6
    if ptype == ETH_P_IP:
        return pos, key, 4
    raise DecapError(f'GRE protocol type {ptype:#06x} not carried')


def put_tlv(buf: bytearray, off: int, next_header: int, length: int) -> None:
    """Write the RFC 5845 §7.2 TLV header (Type 0, Next Header, payload Length) at ``off``."""
    _TLV.pack_into(buf, off, 0, next_header, length)


def parse_tlv(buf: bytearray | memoryview, off: int, end: int) -> tuple[int, int]:
    """Parse the TLV header; return (payload offset, Next Header).

    Raises:
        DecapError: truncated, a Type other than 0, or a Length that disagrees with the datagram.
    """
    if end - off < 4:
        raise DecapError('truncated TLV header')
    type_res, next_header, length = _TLV.unpack_from(buf, off)
    if type_res >> 4 != 0:
        raise DecapError(f'TLV type {type_res >> 4} unknown')
    if length != end - off - 4:
        raise DecapError(f'TLV length {length} but {end - off - 4} bytes follow')
    return off + 4, next_header


def parse_ipv4_outer(buf: bytearray | memoryview, off: int, end: int) -> tuple[int, int, int]:
    """Parse the outer IPv4 header a raw IPv4 socket delivers; return (payload off, proto, ECN).

    Raises:
        DecapError: not IPv4, or a header longer than the datagram.
    """
    if end - off < 20 or buf[off] >> 4 != 4:
        raise DecapError('not an IPv4 packet')
    ihl = (buf[off] & 0x0F) * 4
    if ihl < 20 or off + ihl > end:
        raise DecapError('bad IPv4 header length')
    return off + ihl, buf[off + 9], buf[off + 1] & 3


def check_inner(buf: bytearray | memoryview, off: int, end: int, version: int) -> None:
    """Check that the inner packet is of ``version`` and its length field fits the data.

    Raises:
        DecapError: otherwise.
    """
    size = end - off
    if size < (40 if version == 6 else 20) or buf[off] >> 4 != version:
        raise DecapError(f'inner packet is not IPv{version}')
    if version == 6:
        if 40 + _U16.unpack_from(buf, off + 4)[0] > size:
            raise DecapError('inner IPv6 payload length exceeds the data')
    elif _U16.unpack_from(buf, off + 2)[0] > size:
        raise DecapError('inner IPv4 total length exceeds the data')


def ipv4_df(buf: bytearray | memoryview, off: int) -> bool:
    """True if the IPv4 packet at ``off`` has Don't Fragment set."""
    return bool(buf[off + 6] & 0x40)


def checksum(data: bytes | bytearray | memoryview) -> int:
    """Internet checksum (RFC 1071)."""
    if len(data) % 2:
        data = bytes(data) + b'\0'
    total = sum(struct.unpack(f'!{len(data) // 2}H', data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def _is_icmp_error(orig: bytes, version: int) -> bool:
    if version == 6:
        return orig[6] == PROTO_ICMPV6 and len(orig) > 40 and orig[40] < 128
    ihl = (orig[0] & 0x0F) * 4
    return orig[9] == PROTO_ICMP and len(orig) > ihl and orig[ihl] not in (0, 8, 13, 14)


def icmp6_packet_too_big(src: bytes, orig: bytes | memoryview, mtu: int) -> bytes | None:
    """Build the ICMPv6 Packet Too Big for ``orig`` (RFC 4443 §3.2), or None if none is due.

    None when ``orig`` is itself an ICMPv6 error or its source is unspecified or multicast.
    The result carries as much of ``orig`` as fits in 1280 bytes.
    """
    orig = bytes(orig[:1280 - 48])
    dst = orig[8:24]
    if dst == bytes(16) or dst[0] == 0xFF or _is_icmp_error(orig, 6):
        return None
    body = bytearray(struct.pack('!BBHI', 2, 0, 0, mtu) + orig)
    pseudo = src + dst + struct.pack('!I3xB', len(body), PROTO_ICMPV6)
    _U16.pack_into(body, 2, checksum(pseudo + body))
    header = struct.pack('!IHBB', 6 << 28, len(body), PROTO_ICMPV6, 64) + src + dst
    return header + bytes(body)


def icmp4_frag_needed(src: bytes, orig: bytes | memoryview, mtu: int) -> bytes | None:
    """Build ICMP Destination Unreachable / Fragmentation Needed (RFC 792, RFC 1191).

    None when ``orig`` is an ICMP error, a non-first fragment, or from 0/8, multicast or
    broadcast. Carries the original header and up to 548 bytes of it (RFC 1812 §4.3.2.3).
    """
    orig = bytes(orig[:548])
    dst = orig[12:16]
    frag_off = _U16.unpack(orig[6:8])[0] & 0x1FFF
    if dst[0] == 0 or dst[0] >= 224 or frag_off or _is_icmp_error(orig, 4):
        return None
    body = bytearray(struct.pack('!BBHHH', 3, 4, 0, 0, mtu) + orig)
    _U16.pack_into(body, 2, checksum(body))
    header = bytearray(struct.pack('!BBHHHBBH', 0x45, 0, 20 + len(body), 0, 0, 64, PROTO_ICMP, 0) + src + dst)
    _U16.pack_into(header, 10, checksum(header))
    return bytes(header) + bytes(body)
