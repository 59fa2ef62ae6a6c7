"""The DHCPv6 codec (RFC 8415 §8-§9, §21) and the MAG's DHCPv6 relay (RFC 5213 §6.11)."""

from __future__ import annotations

import struct
from ipaddress import IPv6Address, IPv6Network

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pmiprouter.access import dhcp6
from pmiprouter.access.dhcp6 import (
    ADVERTISE,
    OPT_CLIENT_LINKLAYER_ADDR,
    OPT_CLIENTID,
    OPT_IA_NA,
    OPT_IA_PD,
    OPT_IAADDR,
    OPT_IAPREFIX,
    OPT_INTERFACE_ID,
    OPT_RELAY_MSG,
    RELAY_FORW,
    RELAY_REPL,
    REPLY,
    REQUEST,
    SOLICIT,
    Dhcp6Message,
    RelayMessage,
    decode,
    duid_mac,
    encode,
    encode_options,
    eui64_mac,
    ia_leases,
)
from pmiprouter.access.dhcp6_relay import Attach6, Deliver6, Dhcp6Relay, Dropped6, Forward6
from pmiprouter.mh.errors import DecodeError
from tests.addresses import HNP2 as HNP  # an MN's home network prefix

MAC = bytes.fromhex('020000000101')
DUID_LLT = struct.pack('!HHI', 1, 1, 123456) + MAC
LINK_LOCAL = IPv6Address('fe80::1234:5678:9abc:def0')  # not EUI-64: the DUID names the MN
SERVER = IPv6Address('2001:db8:12::2')


def solicit(duid: bytes = DUID_LLT, kind: int = SOLICIT) -> bytes:
    return encode(Dhcp6Message(kind, 0xABCDEF, ((OPT_CLIENTID, duid), (OPT_IA_NA, struct.pack('!III', 1, 0, 0)))))


def ia_na(*addresses: str) -> tuple[int, bytes]:
    subs = tuple((OPT_IAADDR, IPv6Address(a).packed + struct.pack('!II', 300, 600)) for a in addresses)
    return OPT_IA_NA, struct.pack('!III', 1, 150, 240) + encode_options(subs)


def ia_pd(prefix: str) -> tuple[int, bytes]:
    network = IPv6Network(prefix)
    sub = (OPT_IAPREFIX, struct.pack('!IIB', 300, 600, network.prefixlen) + network.network_address.packed)
    return OPT_IA_PD, struct.pack('!III', 2, 150, 240) + encode_options((sub,))


# ---- codec ---------------------------------------------------------------------------


def test_client_and_relay_messages_roundtrip() -> None:
    message = Dhcp6Message(SOLICIT, 0x010203, ((OPT_CLIENTID, DUID_LLT),))
    wire = encode(message)
    assert wire[:4] == b'\x01\x01\x02\x03' and decode(wire) == message
    relay = RelayMessage(RELAY_FORW, 0, HNP.network_address, LINK_LOCAL, ((OPT_RELAY_MSG, wire), (OPT_INTERFACE_ID, b'eth1')))
    raw = encode(relay)
    assert len(raw) == 34 + 4 + len(wire) + 4 + 4 and decode(raw) == relay
    assert dhcp6.relayed(relay) == message


@pytest.mark.parametrize(
    'data',
    [b'', b'\x01\x00', b'\x00\x00\x00\x00', b'\x0e\x00\x00\x00', b'\x0c' + bytes(20),
     b'\x01\x00\x00\x01\x00\x01\x00\x09abc', b'\x01\x00\x00\x01\x00'],
)
def test_malformed_messages_raise_decode_error(data: bytes) -> None:
    with pytest.raises(DecodeError):
        decode(data)


def test_duid_and_eui64_give_the_mac() -> None:
    assert duid_mac(DUID_LLT) == MAC
    assert duid_mac(struct.pack('!HH', 3, 1) + MAC) == MAC
    assert duid_mac(struct.pack('!HI', 2, 9) + b'vendor') is None
    assert eui64_mac(IPv6Address('fe80::ff:fe00:101')) == MAC
    assert eui64_mac(LINK_LOCAL) is None


def test_ia_leases_reads_addresses_and_prefixes() -> None:
    leases = ia_leases((ia_na('2001:db8:aaaa:1::100'), ia_pd('2001:db8:aaaa:1:8000::/65'), (OPT_CLIENTID, DUID_LLT)))
    assert [lease.network for lease in leases] == [IPv6Network('2001:db8:aaaa:1::100/128'), IPv6Network('2001:db8:aaaa:1:8000::/65')]
    with pytest.raises(DecodeError):
        ia_leases(((OPT_IA_NA, b'\x00'),))
    with pytest.raises(DecodeError):
        ia_leases(((OPT_IA_PD, bytes(12) + encode_options(((OPT_IAPREFIX, bytes(8) + b'\xff' + bytes(16)),))),))


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=300))
def test_decode_raises_only_decode_error(data: bytes) -> None:
    """Random bytes decode or raise DecodeError; what decodes re-encodes to the same message."""
    try:
        message = decode(data)
        ia_leases(message.options)
    except DecodeError:
        return
    assert decode(encode(message)) == message


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=200))
def test_relay_survives_any_bytes_from_both_sides(data: bytes) -> None:
    """Hostile client or server bytes: forwarded, held or dropped -- never an exception."""
    r = Dhcp6Relay(SERVER)
    r.set_prefixes('eth1', MAC, (HNP,))
    assert isinstance(r.from_client('eth1', LINK_LOCAL, data), (Forward6, Attach6, Dropped6))
    assert isinstance(r.from_server(data), (Deliver6, Dropped6))
    wrapped = encode(RelayMessage(RELAY_REPL, 0, HNP.network_address, LINK_LOCAL, ((OPT_RELAY_MSG, data), (OPT_INTERFACE_ID, b'eth1'))))
    assert isinstance(r.from_server(wrapped), (Deliver6, Dropped6))


# ---- relay -----------------------------------------------------------------------------


def test_solicit_before_the_pba_is_held_and_triggers_attach_then_relayed() -> None:
    """Nothing goes to the server before the HNPs are known; then the held SOLICIT goes out."""
    r = Dhcp6Relay(SERVER)
    assert r.from_client('eth1', LINK_LOCAL, solicit()) == Attach6('eth1', MAC)
    assert r.from_client('eth1', LINK_LOCAL, solicit(kind=REQUEST)) == Dropped6('no-home-prefix')
    (out,) = r.set_prefixes('eth1', MAC, (HNP,))
    relay = decode(out.payload)
    assert out.server == SERVER and isinstance(relay, RelayMessage)
    assert (relay.msg_type, relay.hop_count, relay.link_address, relay.peer_address) == (RELAY_FORW, 0, HNP.network_address, LINK_LOCAL)
    assert relay.link_address in HNP  # RFC 5213 §6.11
    assert relay.option(OPT_INTERFACE_ID) == b'eth1'
    assert relay.option(OPT_CLIENT_LINKLAYER_ADDR) == b'\x00\x01' + MAC
    assert relay.option(OPT_RELAY_MSG) == solicit()


def test_client_messages_after_the_pba_go_straight_to_the_server() -> None:
    r = Dhcp6Relay(SERVER)
    r.set_prefixes('eth1', MAC, (HNP,))
    assert isinstance(r.from_client('eth1', LINK_LOCAL, solicit(kind=REQUEST)), Forward6)


@pytest.mark.parametrize(
    ('source', 'data', 'reason'),
    [
        (LINK_LOCAL, b'\x01', 'malformed'),
        (LINK_LOCAL, encode(Dhcp6Message(ADVERTISE, 1)), 'not-a-client-message'),
        (LINK_LOCAL, encode(RelayMessage(RELAY_FORW, 0, HNP.network_address, LINK_LOCAL)), 'not-a-client-message'),
        (IPv6Address('2001:db8:aaaa:1::5'), solicit(), 'source-not-link-local'),
        (LINK_LOCAL, solicit(duid=struct.pack('!HI', 2, 9) + b'vendor'), 'no-client-mac'),
    ],
)
def test_bad_client_messages_are_dropped_and_counted(source: IPv6Address, data: bytes, reason: str) -> None:
    r = Dhcp6Relay(SERVER)
    assert r.from_client('eth1', source, data) == Dropped6(reason)
    assert r.dropped[reason] == 1


def reply_for(peer: IPv6Address, *options: tuple[int, bytes], ifname: bytes = b'eth1', kind: int = REPLY) -> bytes:
    inner = encode(Dhcp6Message(kind, 0xABCDEF, options))
    return encode(RelayMessage(RELAY_REPL, 0, HNP.network_address, peer, ((OPT_INTERFACE_ID, ifname), (OPT_RELAY_MSG, inner))))


def relayed_relay() -> Dhcp6Relay:
    r = Dhcp6Relay(SERVER)
    r.set_prefixes('eth1', MAC, (HNP,))
    r.from_client('eth1', LINK_LOCAL, solicit())
    return r


def test_reply_inside_the_home_prefix_reaches_the_mn() -> None:
    r = relayed_relay()
    out = r.from_server(reply_for(LINK_LOCAL, ia_na('2001:db8:aaaa:1::100')))
    assert isinstance(out, Deliver6) and (out.ifname, out.peer) == ('eth1', LINK_LOCAL)
    assert decode(out.payload) == Dhcp6Message(REPLY, 0xABCDEF, (ia_na('2001:db8:aaaa:1::100'),))


@pytest.mark.parametrize(
    ('data', 'reason'),
    [
        (reply_for(LINK_LOCAL, ia_na('2001:db8:bbbb::100')), 'address-outside-home-prefix'),
        (reply_for(LINK_LOCAL, ia_pd('2001:db8:aaaa::/48')), 'address-outside-home-prefix'),
        (reply_for(LINK_LOCAL, ia_na('2001:db8:aaaa:1::100'), ifname=b'eth2'), 'unknown-peer'),
        (reply_for(IPv6Address('fe80::99')), 'unknown-peer'),
        (reply_for(LINK_LOCAL, kind=SOLICIT), 'not-a-server-message'),
        (encode(RelayMessage(RELAY_REPL, 0, HNP.network_address, LINK_LOCAL, ((OPT_INTERFACE_ID, b'eth1'),))), 'missing-option'),
        (solicit(), 'not-a-relay-reply'),
        (b'\x0d', 'malformed'),
    ],
)
def test_server_answers_that_must_not_reach_the_mn_are_dropped(data: bytes, reason: str) -> None:
    """Another MN's prefix, a link we do not serve, a peer we never relayed for: dropped and counted."""
    r = relayed_relay()
    assert r.from_server(data) == Dropped6(reason)
    assert r.dropped[reason] == 1


def test_withdrawn_prefixes_stop_the_relay() -> None:
    """After de-registration (RA lifetime 0) answers for the MN are dropped."""
    r = relayed_relay()
    assert r.set_prefixes('eth1', MAC, ()) == []
    assert r.from_server(reply_for(LINK_LOCAL, ia_na('2001:db8:aaaa:1::100'))) == Dropped6('unknown-peer')
    assert r.from_client('eth1', LINK_LOCAL, solicit(kind=REQUEST)) == Dropped6('no-home-prefix')


def test_held_solicits_are_bounded_oldest_evicted() -> None:
    """A flood of SOLICITs with invented DUIDs keeps at most MAX_HELD waiting, the newest kept."""
    from pmiprouter.access.dhcp6_relay import MAX_HELD

    r = Dhcp6Relay(SERVER)
    macs = [i.to_bytes(6, 'big') for i in range(MAX_HELD + 5)]
    for mac in macs:
        duid = struct.pack('!HH', 3, 1) + mac
        assert r.from_client('eth1', LINK_LOCAL, solicit(duid)) == Attach6('eth1', mac)
    assert len(r.held) == MAX_HELD and r.dropped['held-evicted'] == 5
    assert ('eth1', macs[0]) not in r.held and ('eth1', macs[-1]) in r.held
