"""Unit tests of the pure per-packet functions of the userspace backend (no sockets)."""

from __future__ import annotations

import struct
from ipaddress import IPv4Address, IPv6Address

import pytest

from pmiprouter.dataplane import encap
from pmiprouter.dataplane.encap import CE, ECT0, ECT1, NOT_ECT, DecapError
from tests.dataplane.packets import ipv4, ipv6

V6_SRC, V6_DST = '2001:db8:a::2', '2001:db8:ff::1'
V4_SRC, V4_DST = '10.0.0.2', '198.51.100.9'


@pytest.mark.parametrize(('inner', 'outer'), [(NOT_ECT, NOT_ECT), (ECT0, ECT0), (ECT1, ECT1), (CE, ECT0)])
def test_encap_ecn(inner: int, outer: int) -> None:
    """Encapsulation copies ECT(0)/ECT(1), maps CE to ECT(0), keeps Not-ECT (RFC 3168 §9.1.1)."""
    assert encap.encap_ecn(inner) == outer


@pytest.mark.parametrize(('outer', 'inner', 'result'), [
    (NOT_ECT, ECT0, ECT0), (ECT0, ECT1, ECT1), (CE, ECT0, CE), (CE, ECT1, CE), (CE, CE, CE),
    (CE, NOT_ECT, None),
    (ECT0, NOT_ECT, NOT_ECT)])
def test_decap_ecn(outer: int, inner: int, result: int | None) -> None:
    """Decapsulation propagates outer CE into ECT packets and drops Not-ECT ones marked CE."""
    assert encap.decap_ecn(outer, inner) == result


def test_set_ecn_ipv4_keeps_checksum_valid() -> None:
    """Setting CE in an IPv4 header updates the checksum incrementally and correctly."""
    pkt = ipv4(V4_SRC, V4_DST, ecn=ECT0)
    pkt[1] |= 0xB8  # a DSCP that must survive
    struct.pack_into('!H', pkt, 10, 0)
    struct.pack_into('!H', pkt, 10, encap.checksum(pkt[:20]))
    encap.set_ecn(pkt, 0, CE)
    assert encap.get_ecn(pkt, 0) == CE and pkt[1] >> 2 == 0xB8 >> 2
    assert encap.checksum(pkt[:20]) == 0


def test_set_ecn_ipv6() -> None:
    """Setting the ECN bits of an IPv6 packet leaves the rest of the traffic class alone."""
    pkt = ipv6(V6_SRC, V6_DST, ecn=ECT1)
    pkt[1] |= 0x80
    encap.set_ecn(pkt, 0, CE)
    assert encap.get_ecn(pkt, 0) == CE and pkt[1] & 0x80


@pytest.mark.parametrize('key', [None, 0, 7, 0xFFFFFFFF])
@pytest.mark.parametrize('version', [4, 6])
def test_gre_roundtrip(key: int | None, version: int) -> None:
    """A GRE header we write parses back to the same key and inner version (RFC 2784/2890)."""
    hdr = encap.gre_header(key, version)
    assert len(hdr) == (4 if key is None else 8)
    buf = bytearray(hdr) + (ipv6(V6_SRC, V6_DST) if version == 6 else ipv4(V4_SRC, V4_DST))
    assert encap.parse_gre(buf, 0, len(buf)) == (len(hdr), key, version)


def test_gre_with_checksum_and_sequence_is_skipped() -> None:
    """Optional checksum and sequence fields are skipped to reach the payload."""
    buf = bytearray(struct.pack('!HHHHII', 0xB000, 0x0800, 0, 0, 42, 9)) + ipv4(V4_SRC, V4_DST)
    assert encap.parse_gre(buf, 0, len(buf)) == (16, 42, 4)


@pytest.mark.parametrize('raw', [
    b'\x20\x00\x08', b'\x00\x01\x08\x00', b'\x00\x00\x65\x58', b'\x20\x00\x86\xdd\x00'])
def test_gre_rejects(raw: bytes) -> None:
    """Truncated headers, version 1 and non-IP payload types are refused with DecapError."""
    with pytest.raises(DecapError):
        encap.parse_gre(bytearray(raw), 0, len(raw))


def test_tlv_roundtrip_and_length_check() -> None:
    """The RFC 5845 TLV header round-trips; a wrong Length or Type is refused."""
    buf = bytearray(4) + encap.gre_header(5, 4) + ipv4(V4_SRC, V4_DST)
    encap.put_tlv(buf, 0, encap.PROTO_GRE, len(buf) - 4)
    assert encap.parse_tlv(buf, 0, len(buf)) == (4, encap.PROTO_GRE)
    with pytest.raises(DecapError):
        encap.parse_tlv(buf, 0, len(buf) - 1)
    buf[0] = 0x10
    with pytest.raises(DecapError):
        encap.parse_tlv(buf, 0, len(buf))


def test_parse_ipv4_outer() -> None:
    """The outer IPv4 header of a raw-socket datagram yields payload offset, protocol and ECN."""
    pkt = ipv4('192.0.2.1', '192.0.2.2', payload=bytes(ipv6(V6_SRC, V6_DST)), proto=41, ecn=CE)
    assert encap.parse_ipv4_outer(pkt, 0, len(pkt)) == (20, 41, CE)
    with pytest.raises(DecapError):
        encap.parse_ipv4_outer(pkt[:10], 0, 10)


def test_check_inner() -> None:
    """Inner packets must match the announced version and hold their own length."""
    pkt = ipv6(V6_SRC, V6_DST)
    encap.check_inner(pkt, 0, len(pkt), 6)
    with pytest.raises(DecapError):
        encap.check_inner(pkt, 0, len(pkt), 4)
    with pytest.raises(DecapError):
        encap.check_inner(pkt, 0, len(pkt) - 1, 6)
    with pytest.raises(DecapError):
        encap.check_inner(ipv4(V4_SRC, V4_DST), 0, 25, 4)


def test_packet_too_big() -> None:
    """The PTB goes back to the sender with the MTU, a valid checksum and the packet's start."""
    orig = ipv6(V6_SRC, V6_DST, payload=bytes(1400), nh=17)
    src = IPv6Address('2001:db8:1::1').packed
    ptb = encap.icmp6_packet_too_big(src, orig, 1400)
    assert ptb is not None and len(ptb) == 1280
    assert ptb[8:24] == src and ptb[24:40] == IPv6Address(V6_SRC).packed
    assert ptb[40] == 2 and struct.unpack('!I', ptb[44:48])[0] == 1400
    assert encap.checksum(src + ptb[24:40] + struct.pack('!I3xB', len(ptb) - 40, 58) + ptb[40:]) == 0
    assert ptb[48:88] == orig[:40]


def test_no_ptb_for_icmp_errors_or_multicast() -> None:
    """No ICMPv6 error answers an ICMPv6 error or a packet from an unspecified source."""
    src = IPv6Address('2001:db8:1::1').packed
    icmp_error = ipv6(V6_SRC, V6_DST, payload=b'\x01\x00' + bytes(40))
    assert encap.icmp6_packet_too_big(src, icmp_error, 1280) is None
    assert encap.icmp6_packet_too_big(src, ipv6('::', V6_DST), 1280) is None


def test_frag_needed() -> None:
    """Fragmentation Needed carries the next-hop MTU and valid IP and ICMP checksums."""
    orig = ipv4(V4_SRC, V4_DST, payload=bytes(1400))
    assert encap.ipv4_df(orig, 0)
    err = encap.icmp4_frag_needed(encap.IPV4_DUMMY, orig, 1300)
    assert err is not None
    assert encap.checksum(err[:20]) == 0 and encap.checksum(err[20:]) == 0
    assert err[12:16] == bytes([192, 0, 0, 8]) and err[16:20] == IPv4Address(V4_SRC).packed
    assert (err[20], err[21]) == (3, 4) and struct.unpack('!H', err[26:28])[0] == 1300
    err_for_err = ipv4(V4_SRC, V4_DST, payload=b'\x03\x04' + bytes(30))
    assert encap.icmp4_frag_needed(encap.IPV4_DUMMY, err_for_err, 1300) is None
