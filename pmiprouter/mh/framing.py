"""IP framing of Mobility Header messages (pure).

Over IPv6 the MH is the upper-layer payload of an IPv6 packet (next header 135, RFC 6275
§6.1). Over IPv4 transport (RFC 5844 §4) it is the payload of UDP port 5436 with MH
checksum 0; data packets use UDP port 5437. The runtime's sockets normally add these
headers; the full packets built here serve user-space paths, pcaps and tests.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv6Address

from pmiprouter.mh.checksum import IPPROTO_MH, internet_checksum, packed
from pmiprouter.mh.errors import DecodeError, Truncated

PMIP6_CNTL_PORT = 5436  # MH signalling over IPv4/UDP (RFC 5844 §6)
PMIP6_DATA_PORT = 5437  # IPv4-UDP data encapsulation (RFC 5844 §4.1.4.1)
IPPROTO_UDP = 17

_IPV6 = struct.Struct('!IHBB16s16s')
_IPV4 = struct.Struct('!BBHHHBBH4s4s')
_UDP = struct.Struct('!HHHH')


def ipv6_packet(src: object, dst: object, payload: bytes, next_header: int = IPPROTO_MH, hop_limit: int = 64) -> bytes:
    """An IPv6 header (RFC 8200 §3) in front of `payload`."""
    return _IPV6.pack(6 << 28, len(payload), next_header, hop_limit, packed(src), packed(dst)) + payload


def ipv4_header(src: object, dst: object, payload_length: int, protocol: int, ttl: int = 64, ident: int = 0) -> bytes:
    """An IPv4 header without options (RFC 791), its checksum filled in; DF set."""
    header = _IPV4.pack(0x45, 0, 20 + payload_length, ident, 0x4000, ttl, protocol, 0, packed(src), packed(dst))
    return header[:10] + internet_checksum(header).to_bytes(2, 'big') + header[12:]


def udp_datagram(src: object, dst: object, payload: bytes, sport: int, dport: int, checksum: bool = True) -> bytes:
    """A UDP header (RFC 768) in front of `payload`; the checksum over the IPv4 pseudo-header unless disabled."""
    length = 8 + len(payload)
    header = _UDP.pack(sport, dport, length, 0)
    if not checksum:
        return header + payload
    pseudo = packed(src) + packed(dst) + bytes((0, IPPROTO_UDP)) + length.to_bytes(2, 'big')
    value = internet_checksum(pseudo + header + payload) or 0xFFFF  # 0 means "no checksum" in UDP/IPv4
    return header[:6] + value.to_bytes(2, 'big') + payload


def ipv4_udp_packet(
    src: object, dst: object, mh: bytes, sport: int = PMIP6_CNTL_PORT, dport: int = PMIP6_CNTL_PORT, ttl: int = 64
) -> bytes:
    """IPv4 + UDP (port 5436 by default) carrying a Mobility Header, as RFC 5844 §4 sends PBU/PBA."""
    datagram = udp_datagram(src, dst, mh, sport, dport)
    return ipv4_header(src, dst, len(datagram), IPPROTO_UDP, ttl) + datagram


@dataclass(frozen=True, slots=True)
class UdpPayload:
    """What `parse_ipv4_udp` found: addresses, ports and the UDP payload."""

    src: IPv4Address
    dst: IPv4Address
    sport: int
    dport: int
    payload: bytes


def parse_ipv4_udp(packet: bytes) -> UdpPayload:
    """Split an IPv4/UDP packet; raises `DecodeError` (offsets from the IPv4 header) when malformed."""
    if len(packet) < 20:
        raise Truncated(0, 20, len(packet), 'IPv4 header')
    version_ihl, _, total, _, _, _, protocol, _, src, dst = _IPV4.unpack_from(packet)
    ihl = (version_ihl & 0x0F) * 4
    if version_ihl >> 4 != 4 or ihl < 20:
        raise DecodeError(0, f'not an IPv4 header (version/IHL byte {version_ihl:#04x})')
    if protocol != IPPROTO_UDP:
        raise DecodeError(9, f'IPv4 protocol {protocol} is not UDP')
    if len(packet) < total or total < ihl + 8:
        raise Truncated(2, total, len(packet), 'IPv4 total length')
    sport, dport, length, _ = _UDP.unpack_from(packet, ihl)
    if length < 8 or ihl + length > total:
        raise DecodeError(ihl + 4, f'UDP length {length} does not fit the IPv4 packet')
    return UdpPayload(IPv4Address(src), IPv4Address(dst), sport, dport, packet[ihl + 8 : ihl + length])


def parse_ipv6(packet: bytes) -> tuple[IPv6Address, IPv6Address, int, bytes]:
    """Split an IPv6 packet without extension headers: (src, dst, next header, payload)."""
    if len(packet) < _IPV6.size:
        raise Truncated(0, _IPV6.size, len(packet), 'IPv6 header')
    first, length, next_header, _, src, dst = _IPV6.unpack_from(packet)
    if first >> 28 != 6:
        raise DecodeError(0, 'not an IPv6 header')
    if len(packet) < _IPV6.size + length:
        raise Truncated(4, _IPV6.size + length, len(packet), 'IPv6 payload length')
    return IPv6Address(src), IPv6Address(dst), next_header, packet[_IPV6.size : _IPV6.size + length]
