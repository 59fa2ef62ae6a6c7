"""Router Solicitation and Router Advertisement (pure; RFC 4861 §4.1-§4.2, §4.6).

The MAG emulates the home link (RFC 5213 §6.6-§6.7): RAs carry the mobile node's home
network prefixes as on-link, autonomous prefixes, the MTU option, and the same source
link-layer address on every MAG (RFC 6543's 00:00:5e:00:52:13 by default).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from ipaddress import IPv6Address, IPv6Network

from pmiprouter.mh.checksum import internet_checksum, pseudo_header
from pmiprouter.mh.errors import BadMessageValue, DecodeError, Truncated

ICMPV6 = 58
ROUTER_SOLICITATION = 133
ROUTER_ADVERTISEMENT = 134
OPT_SOURCE_LINK_LAYER = 1
OPT_PREFIX_INFORMATION = 3
OPT_MTU = 5
ALL_NODES = IPv6Address('ff02::1')
ALL_ROUTERS = IPv6Address('ff02::2')
INFINITE = 0xFFFFFFFF

_RA = struct.Struct('!BBHBBHII')  # type, code, checksum, hop limit, flags, router lifetime, reachable, retrans
_PIO = struct.Struct('!BBBBIII16s')  # type, len, prefix len, flags, valid, preferred, reserved, prefix
_MTU = struct.Struct('!BBHI')


@dataclass(frozen=True, slots=True)
class PrefixInformation:
    """One Prefix Information option (RFC 4861 §4.6.2): on-link (L) and autonomous (A) by default."""

    prefix: IPv6Network
    valid_lifetime_s: int
    preferred_lifetime_s: int
    on_link: bool = True
    autonomous: bool = True


@dataclass(frozen=True, slots=True)
class RouterAdvertisement:
    """What the MAG advertises to one mobile node."""

    router_lifetime_s: int
    prefixes: tuple[PrefixInformation, ...] = ()
    mtu: int | None = None
    source_mac: bytes | None = None
    hop_limit: int = 64
    managed: bool = False  # M: addresses by DHCPv6
    other: bool = False  # O: other configuration by DHCPv6


@dataclass(frozen=True, slots=True)
class RouterSolicitation:
    """A parsed RS: the source link-layer address when the host included it."""

    source_mac: bytes | None


def encode_ra(ra: RouterAdvertisement, src: IPv6Address | None = None, dst: IPv6Address | None = None) -> bytes:
    """The ICMPv6 RA; its checksum is filled in when both addresses are given (the kernel does it on a socket)."""
    flags = (0x80 if ra.managed else 0) | (0x40 if ra.other else 0)
    body = bytearray(_RA.pack(ROUTER_ADVERTISEMENT, 0, 0, ra.hop_limit, flags, ra.router_lifetime_s, 0, 0))
    if ra.source_mac is not None:
        body += bytes((OPT_SOURCE_LINK_LAYER, 1)) + ra.source_mac
    if ra.mtu is not None:
        body += _MTU.pack(OPT_MTU, 1, 0, ra.mtu)
    for pio in ra.prefixes:
        pio_flags = (0x80 if pio.on_link else 0) | (0x40 if pio.autonomous else 0)
        body += _PIO.pack(
            OPT_PREFIX_INFORMATION, 4, pio.prefix.prefixlen, pio_flags, pio.valid_lifetime_s,
            pio.preferred_lifetime_s, 0, pio.prefix.network_address.packed,
        )
    if src is not None and dst is not None:
        checksum = internet_checksum(pseudo_header(src, dst, len(body), ICMPV6) + bytes(body))
        body[2:4] = checksum.to_bytes(2, 'big')
    return bytes(body)


def _options(data: bytes, start: int) -> dict[int, list[bytes]]:
    """ND options by type; a zero length or an option past the end is malformed (RFC 4861 §4.6)."""
    found: dict[int, list[bytes]] = {}
    i = start
    while i < len(data):
        if i + 2 > len(data):
            raise Truncated(i, 2, len(data) - i, 'ND option header')
        length = data[i + 1] * 8
        if length == 0:
            raise BadMessageValue(i + 1, 'ND option with length 0')
        if i + length > len(data):
            raise Truncated(i, length, len(data) - i, f'ND option type {data[i]}')
        found.setdefault(data[i], []).append(data[i + 2 : i + length])
        i += length
    return found


def decode_rs(data: bytes) -> RouterSolicitation:
    """Parse an RS (as a raw ICMPv6 socket delivers it: from the ICMPv6 type on)."""
    if len(data) < 8:
        raise Truncated(0, 8, len(data), 'Router Solicitation')
    if data[0] != ROUTER_SOLICITATION or data[1] != 0:
        raise BadMessageValue(0, f'ICMPv6 type {data[0]} code {data[1]} is not a Router Solicitation')
    options = _options(data, 8)
    sllao = options.get(OPT_SOURCE_LINK_LAYER)
    return RouterSolicitation(sllao[0][:6] if sllao and len(sllao[0]) >= 6 else None)


def decode_ra(data: bytes) -> RouterAdvertisement:
    """Parse an RA (for tests and for watching other routers on an access link)."""
    if len(data) < _RA.size:
        raise Truncated(0, _RA.size, len(data), 'Router Advertisement')
    kind, code, _, hop_limit, flags, lifetime, _, _ = _RA.unpack_from(data)
    if kind != ROUTER_ADVERTISEMENT or code != 0:
        raise BadMessageValue(0, f'ICMPv6 type {kind} code {code} is not a Router Advertisement')
    options = _options(data, _RA.size)
    prefixes = []
    for raw in options.get(OPT_PREFIX_INFORMATION, []):
        if len(raw) != 30:
            raise BadMessageValue(_RA.size, f'prefix information option of {len(raw) + 2} bytes')
        length, pio_flags, valid, preferred, _, prefix = struct.unpack('!BBIII16s', raw)
        if length > 128:
            raise BadMessageValue(_RA.size, f'prefix length {length}')
        network = IPv6Network((IPv6Address(prefix), length), strict=False)
        prefixes.append(PrefixInformation(network, valid, preferred, bool(pio_flags & 0x80), bool(pio_flags & 0x40)))
    mtu_raw = options.get(OPT_MTU)
    mtu = struct.unpack('!2xI', mtu_raw[0])[0] if mtu_raw and len(mtu_raw[0]) == 6 else None
    sllao = options.get(OPT_SOURCE_LINK_LAYER)
    return RouterAdvertisement(
        lifetime, tuple(prefixes), mtu, sllao[0][:6] if sllao else None, hop_limit, bool(flags & 0x80), bool(flags & 0x40)
    )


def home_link_ra(
    prefixes: tuple[IPv6Network, ...], lifetime_s: int, mtu: int | None, mac: bytes, router_lifetime_s: int = 1800
) -> RouterAdvertisement:
    """The RA of RFC 5213 §6.7 for one MN: its HNPs on-link and autonomous, valid and preferred for
    `lifetime_s` (0 withdraws them at de-registration, RFC 5213 §6.12), the tunnel-aware MTU."""
    pios = tuple(PrefixInformation(p, lifetime_s, lifetime_s) for p in prefixes)
    return RouterAdvertisement(router_lifetime_s if lifetime_s else 0, pios, mtu, mac)


__all__ = [
    'ALL_NODES', 'ALL_ROUTERS', 'DecodeError', 'PrefixInformation', 'RouterAdvertisement', 'RouterSolicitation',
    'decode_ra', 'decode_rs', 'encode_ra', 'home_link_ra',
]
