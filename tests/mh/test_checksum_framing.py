"""MH checksum with the IPv6 pseudo-header, and the IPv6 and IPv4/UDP framing used by RFC 5844 transport."""

from __future__ import annotations

from ipaddress import IPv4Address, IPv6Address

import pytest

from pmiprouter.mh import DecodeError, Heartbeat, decode, encode
from pmiprouter.mh.checksum import internet_checksum, mh_checksum, verify_mh_checksum
from pmiprouter.mh.framing import (
    PMIP6_CNTL_PORT,
    ipv4_udp_packet,
    ipv6_packet,
    parse_ipv4_udp,
    parse_ipv6,
)
from tests.mh.samples import LMA, LMA4, MAG, MAG4


def test_known_checksum() -> None:
    """The heartbeat vector of protocol.md §10 has checksum 0x5aa1 for MAG -> LMA."""
    wire = encode(Heartbeat(77), MAG, LMA)
    assert wire[4:6] == b'\x5a\xa1'
    assert verify_mh_checksum(MAG, LMA, wire)
    assert not verify_mh_checksum(MAG, IPv6Address('2001:db8:2::2'), wire)


def test_checksum_ignores_its_own_field() -> None:
    """The checksum is computed as if its field were zero, so recomputing over a filled MH gives the same value."""
    wire = encode(Heartbeat(1), MAG, LMA)
    assert mh_checksum(MAG, LMA, wire) == int.from_bytes(wire[4:6], 'big')


def test_internet_checksum_of_odd_length() -> None:
    """RFC 1071: an odd trailing byte is padded with zero."""
    assert internet_checksum(b'\x01') == internet_checksum(b'\x01\x00') == 0xFEFF


def test_ipv6_packet_roundtrip() -> None:
    """An MH in an IPv6 packet (next header 135) comes back out with its addresses."""
    wire = encode(Heartbeat(5), MAG, LMA)
    src, dst, next_header, payload = parse_ipv6(ipv6_packet(MAG, LMA, wire))
    assert (src, dst, next_header, payload) == (MAG, LMA, 135, wire)


def test_ipv4_udp_packet_carries_mh_with_zero_checksum() -> None:
    """Over IPv4 the MH rides UDP 5436 -> 5436 with MH checksum 0 and a valid UDP checksum."""
    mh = encode(Heartbeat(5))
    packet = ipv4_udp_packet(MAG4, LMA4, mh)
    assert internet_checksum(packet[:20]) == 0  # IPv4 header checksum verifies
    pseudo = MAG4.packed + LMA4.packed + bytes((0, 17)) + (8 + len(mh)).to_bytes(2, 'big')
    assert internet_checksum(pseudo + packet[20:]) == 0  # UDP checksum verifies
    parsed = parse_ipv4_udp(packet)
    assert (parsed.src, parsed.dst, parsed.sport, parsed.dport) == (MAG4, LMA4, PMIP6_CNTL_PORT, PMIP6_CNTL_PORT)
    assert decode(parsed.payload) == Heartbeat(5)
    assert parsed.payload[4:6] == b'\0\0'


@pytest.mark.parametrize('packet', [b'', bytes(19), b'\x45' + bytes(19), ipv4_udp_packet(MAG4, LMA4, b'x')[:25]])
def test_malformed_ipv4_udp_raises_decode_error(packet: bytes) -> None:
    """Short or inconsistent IPv4/UDP packets raise DecodeError."""
    with pytest.raises(DecodeError):
        parse_ipv4_udp(packet)


def test_addresses_accepted_as_text_or_objects() -> None:
    """Checksums accept ipaddress objects, text and packed bytes alike."""
    mh = encode(Heartbeat(2))
    assert mh_checksum(MAG, LMA, mh) == mh_checksum(str(MAG), str(LMA), mh) == mh_checksum(MAG.packed, LMA.packed, mh)
    assert IPv4Address('192.0.2.1') == MAG4
