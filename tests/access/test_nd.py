"""Router Solicitation / Advertisement codec: round trips, malformed input, and tshark agreeing."""

from __future__ import annotations

import shutil
import subprocess
from ipaddress import IPv6Address
from pathlib import Path

import pytest

from pmiprouter.access.nd import ALL_NODES, RouterAdvertisement, decode_ra, decode_rs, encode_ra, home_link_ra
from pmiprouter.mh.checksum import internet_checksum, pseudo_header
from pmiprouter.mh.errors import DecodeError
from pmiprouter.mh.framing import ipv6_packet
from pmiprouter.pcap import pcap_bytes
from tests.addresses import HNP2 as HNP  # an MN's home network prefix

MAC = bytes.fromhex('00005e005213')
LLA = IPv6Address('fe80::200:5eff:fe00:5213')


def test_home_link_ra_roundtrip() -> None:
    """The RA for an MN carries its HNP on-link and autonomous, the MTU and the shared MAC."""
    ra = home_link_ra((HNP,), 600, 1460, MAC)
    decoded = decode_ra(encode_ra(ra))
    assert decoded == ra
    assert decoded.prefixes[0].on_link and decoded.prefixes[0].autonomous and decoded.mtu == 1460


def test_withdrawal_has_zero_lifetimes() -> None:
    """At de-registration the prefix is advertised with lifetime 0 (RFC 5213 §6.12)."""
    ra = decode_ra(encode_ra(home_link_ra((HNP,), 0, None, MAC)))
    assert ra.prefixes[0].valid_lifetime_s == 0 and ra.router_lifetime_s == 0


def test_checksum_with_pseudo_header() -> None:
    """With addresses given, the ICMPv6 checksum verifies over the pseudo-header."""
    wire = encode_ra(home_link_ra((HNP,), 600, 1460, MAC), LLA, ALL_NODES)
    assert internet_checksum(pseudo_header(LLA, ALL_NODES, len(wire), 58) + wire) == 0


def test_rs_with_and_without_source_link_layer_address() -> None:
    """An RS yields the host's MAC when it sent the SLLA option."""
    assert decode_rs(bytes((133, 0, 0, 0, 0, 0, 0, 0, 1, 1)) + MAC).source_mac == MAC
    assert decode_rs(bytes((133, 0, 0, 0, 0, 0, 0, 0))).source_mac is None


@pytest.mark.parametrize(
    'data',
    [b'', bytes((134, 0, 0, 0)), bytes((133, 0, 0, 0, 0, 0, 0, 0, 1, 0)), bytes((133, 0, 0, 0, 0, 0, 0, 0, 1, 2, 0, 0)), bytes((135, 0) + (0,) * 6)],
)
def test_malformed_rs_raises_decode_error(data: bytes) -> None:
    """Short RS, zero-length or overlong options and other ICMPv6 types are refused with DecodeError."""
    with pytest.raises(DecodeError):
        decode_rs(data)


@pytest.mark.skipif(shutil.which('tshark') is None, reason='tshark not installed')
def test_tshark_reads_our_ra(tmp_path: Path) -> None:
    """tshark decodes the RA with a good checksum, our prefix, flags, MTU and source MAC."""
    ra = RouterAdvertisement(1800, home_link_ra((HNP,), 600, 1460, MAC).prefixes, 1460, MAC)
    wire = encode_ra(ra, LLA, ALL_NODES)
    pcap = tmp_path / 'ra.pcap'
    pcap.write_bytes(pcap_bytes([ipv6_packet(LLA, ALL_NODES, wire, next_header=58, hop_limit=255)]))
    fields = ['icmpv6.type', 'icmpv6.checksum.status', 'icmpv6.opt.prefix', 'icmpv6.opt.prefix.length',
              'icmpv6.opt.prefix.flag.l', 'icmpv6.opt.prefix.flag.a', 'icmpv6.opt.mtu', 'icmpv6.opt.linkaddr']
    out = subprocess.run(
        ['tshark', '-r', str(pcap), '-T', 'fields'] + [x for f in fields for x in ('-e', f)],
        capture_output=True, text=True, check=True,
    ).stdout.strip().split('\t')
    assert out[0] == '134' and out[1] == '1'  # checksum status 1: Good
    assert out[2:6] == ['2001:db8:aaaa:1::', '64', '1', '1']
    assert out[6] == '1460' and out[7] == '00:00:5e:00:52:13'
