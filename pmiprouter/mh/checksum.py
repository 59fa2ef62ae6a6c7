"""The Mobility Header checksum with the IPv6 pseudo-header (pure; RFC 6275 §6.1.1, RFC 8200 §8.1).

On a raw socket the kernel computes and verifies it (IPV6_CHECKSUM = 4); these functions
serve pcaps, tests and any path where no kernel is in between. Over IPv4/UDP the MH
checksum is 0 and ignored (RFC 5844 §4.1.3.2).
"""

from __future__ import annotations

from ipaddress import IPv4Address, IPv6Address

IPPROTO_MH = 135


def packed(address: object) -> bytes:
    """16 or 4 bytes from an ipaddress object, a string, or bytes already packed."""
    if isinstance(address, bytes | bytearray):
        return bytes(address)
    if isinstance(address, IPv6Address | IPv4Address):
        return address.packed
    text = str(address)
    return (IPv6Address(text) if ':' in text else IPv4Address(text)).packed


def internet_checksum(data: bytes) -> int:
    """RFC 1071 one's-complement checksum of `data`."""
    if len(data) % 2:
        data += b'\0'
    total = sum(int.from_bytes(data[i : i + 2], 'big') for i in range(0, len(data), 2))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def pseudo_header(src: object, dst: object, length: int, next_header: int) -> bytes:
    """The IPv6 upper-layer pseudo-header (RFC 8200 §8.1)."""
    return packed(src) + packed(dst) + length.to_bytes(4, 'big') + b'\0\0\0' + bytes((next_header,))


def mh_checksum(src: object, dst: object, mh: bytes) -> int:
    """Checksum of a Mobility Header `mh`; its own checksum field (bytes 4-5) counts as zero."""
    zeroed = mh[:4] + b'\0\0' + mh[6:]
    return internet_checksum(pseudo_header(src, dst, len(mh), IPPROTO_MH) + zeroed)


def verify_mh_checksum(src: object, dst: object, mh: bytes) -> bool:
    """True when the checksum in `mh` is right for these addresses."""
    return len(mh) >= 6 and int.from_bytes(mh[4:6], 'big') == mh_checksum(src, dst, mh)
