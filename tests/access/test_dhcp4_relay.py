"""The MAG's DHCPv4 relay (RFC 5844 §3.4, RFC 1542 §4, RFC 3046): what may pass, what is dropped."""

from __future__ import annotations

from dataclasses import replace
from ipaddress import IPv4Address

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pmiprouter.access.dhcp4 import (
    ACK,
    AGENT_CIRCUIT_ID,
    AGENT_REMOTE_ID,
    BOOTREPLY,
    BOOTREQUEST,
    DISCOVER,
    NAK,
    OFFER,
    OPT_MESSAGE_TYPE,
    OPT_RELAY_AGENT_INFO,
    OPT_SERVER_ID,
    RELEASE,
    REQUEST,
    ZERO,
    DhcpMessage,
    Lease,
    decode,
    decode_suboptions,
    encode,
    encode_suboptions,
)
from pmiprouter.access.dhcp4_relay import Dhcp4Relay, Dropped, ToClient, ToServer
from pmiprouter.mh.errors import DecodeError
from tests.addresses import HOA_ADDRESS, HOA_PREFIX_LENGTH, ROUTER

SERVER = IPv4Address('192.0.2.2')
MAC, OTHER = bytes.fromhex('020000000101'), bytes.fromhex('020000000202')
LEASE = Lease(HOA_ADDRESS, HOA_PREFIX_LENGTH, ROUTER, 1460)
OTHER_LEASE = Lease(IPv4Address('10.1.0.3'), 24, ROUTER, 1460)


def request(kind: int, mac: bytes = MAC, **fields: object) -> DhcpMessage:
    return DhcpMessage(BOOTREQUEST, 0x1234, mac, ((OPT_MESSAGE_TYPE, bytes((kind,))),), **fields)  # type: ignore[arg-type]


def relay() -> Dhcp4Relay:
    r = Dhcp4Relay(SERVER)
    r.grant('eth1', MAC, LEASE)
    return r


def server_reply(relayed: DhcpMessage, kind: int, yiaddr: IPv4Address, echo_agent: bool = True) -> DhcpMessage:
    options = [(OPT_MESSAGE_TYPE, bytes((kind,)))]
    agent = relayed.option(OPT_RELAY_AGENT_INFO)
    if echo_agent and agent is not None:
        options.append((OPT_RELAY_AGENT_INFO, agent))
    return DhcpMessage(BOOTREPLY, relayed.xid, relayed.chaddr, tuple(options), yiaddr=yiaddr, giaddr=relayed.giaddr)


def test_request_is_relayed_with_giaddr_hops_and_agent_information() -> None:
    """giaddr = the MN's default router, hops + 1, option 82 last with circuit-id and remote-id."""
    out = relay().from_client('eth1', request(DISCOVER))
    assert isinstance(out, ToServer)
    assert (out.server, out.giaddr, out.message.giaddr, out.message.hops) == (SERVER, ROUTER, ROUTER, 1)
    code, body = out.message.options[-1]
    assert code == OPT_RELAY_AGENT_INFO
    assert dict(decode_suboptions(body)) == {AGENT_CIRCUIT_ID: b'eth1', AGENT_REMOTE_ID: MAC}
    assert decode(encode(out.message)) == out.message


@pytest.mark.parametrize(
    ('message', 'reason'),
    [
        (request(DISCOVER, OTHER), 'no-home-address'),  # before its PBA
        (request(DISCOVER, giaddr=IPv4Address('10.9.9.9')), 'client-set-giaddr'),
        (request(DISCOVER, hops=16), 'too-many-hops'),
        (DhcpMessage(BOOTREPLY, 1, MAC, ((OPT_MESSAGE_TYPE, bytes((OFFER,))),)), 'not-a-request'),
        (DhcpMessage(BOOTREQUEST, 1, MAC, ((OPT_MESSAGE_TYPE, bytes((DISCOVER,))), (OPT_RELAY_AGENT_INFO, b''))),
         'client-sent-agent-info'),
    ],
)
def test_requests_that_must_not_be_relayed_are_dropped_and_counted(message: DhcpMessage, reason: str) -> None:
    r = relay()
    assert r.from_client('eth1', message) == Dropped(reason)
    assert r.dropped[reason] == 1


def test_a_lease_without_default_router_cannot_be_relayed() -> None:
    """No IPv4 default router from the LMA: nothing to use as giaddr."""
    r = Dhcp4Relay(SERVER)
    r.grant('eth1', MAC, Lease(LEASE.address, 24, None, 1460))
    assert r.from_client('eth1', request(DISCOVER)) == Dropped('no-home-address')


def test_offer_of_the_home_address_reaches_the_mn_without_option_82() -> None:
    r = relay()
    out = r.from_client('eth1', request(DISCOVER))
    assert isinstance(out, ToServer)
    delivered = r.from_server(server_reply(out.message, OFFER, LEASE.address), frozenset({ROUTER}))
    assert isinstance(delivered, ToClient)
    assert delivered.ifname == 'eth1' and delivered.broadcast  # the MN has no address yet
    assert delivered.message.yiaddr == LEASE.address
    assert delivered.message.option(OPT_RELAY_AGENT_INFO) is None  # RFC 3046 §2.2


@pytest.mark.parametrize('address', ['10.1.0.3', '10.1.0.9', '0.0.0.0'])
def test_offer_of_any_other_address_is_dropped(address: str) -> None:
    """An MN never gets an address that is not its own HoA -- another MN's included."""
    r = relay()
    r.grant('eth2', OTHER, OTHER_LEASE)
    out = r.from_client('eth1', request(DISCOVER))
    assert isinstance(out, ToServer)
    assert r.from_server(server_reply(out.message, OFFER, IPv4Address(address))) == Dropped('address-not-the-home-address')
    assert r.relayed['to-client'] == 0


def test_ack_nak_and_server_without_option_82() -> None:
    """ACK of the HoA passes; a NAK passes (no address); a server that drops option 82 is routed by MAC."""
    r = relay()
    out = r.from_client('eth1', request(REQUEST))
    assert isinstance(out, ToServer)
    assert isinstance(r.from_server(server_reply(out.message, ACK, LEASE.address, echo_agent=False)), ToClient)
    nak = r.from_server(server_reply(out.message, NAK, ZERO))
    assert isinstance(nak, ToClient) and nak.broadcast


def test_replies_for_unknown_clients_foreign_giaddr_or_bad_circuit_are_dropped() -> None:
    r = relay()
    out = r.from_client('eth1', request(DISCOVER))
    assert isinstance(out, ToServer)
    reply = server_reply(out.message, OFFER, LEASE.address)
    assert r.from_server(reply, frozenset({IPv4Address('10.7.7.7')})) == Dropped('foreign-giaddr')
    stranger = DhcpMessage(BOOTREPLY, 1, OTHER, reply.options, yiaddr=LEASE.address, giaddr=ROUTER)
    assert r.from_server(stranger) == Dropped('no-circuit')  # remote-id names another MAC
    bad_agent = encode_suboptions(((AGENT_CIRCUIT_ID, b'eth9'), (AGENT_REMOTE_ID, MAC)))
    wrong_link = DhcpMessage(BOOTREPLY, 1, MAC, ((OPT_MESSAGE_TYPE, bytes((OFFER,))), (OPT_RELAY_AGENT_INFO, bad_agent)),
                             yiaddr=LEASE.address)
    assert r.from_server(wrong_link) == Dropped('no-circuit')
    truncated = DhcpMessage(BOOTREPLY, 1, MAC, ((OPT_MESSAGE_TYPE, bytes((OFFER,))), (OPT_RELAY_AGENT_INFO, b'\x01\x09')),
                            yiaddr=LEASE.address)
    assert r.from_server(truncated) == Dropped('no-circuit')
    assert r.from_server(request(DISCOVER)) == Dropped('not-a-reply')


def test_revoked_mn_is_no_longer_relayed() -> None:
    """After RevokeIpv4 (de-registration) neither its requests nor answers for it pass."""
    r = relay()
    out = r.from_client('eth1', request(RELEASE))
    assert isinstance(out, ToServer)
    r.revoke('eth1', MAC)
    assert r.from_client('eth1', request(DISCOVER)) == Dropped('no-home-address')
    assert isinstance(r.from_server(server_reply(out.message, ACK, LEASE.address)), Dropped)


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=400))
def test_relay_survives_any_decodable_bytes_from_either_side(data: bytes) -> None:
    """Whatever decodes is relayed or dropped by reason, from the MN or the server -- never an exception."""
    try:
        message = decode(data)
    except DecodeError:
        return
    r = relay()
    assert isinstance(r.from_client('eth1', message), (ToServer, Dropped))
    out = r.from_server(message, frozenset({ROUTER}))
    assert isinstance(out, (ToClient, Dropped))
    if isinstance(out, ToClient):
        assert out.message.yiaddr in (LEASE.address, ZERO)


def test_relay_stands_in_as_server_identifier_and_restores_the_servers_own() -> None:
    """The MN sees its default router as server id (so RENEW/RELEASE come to the MAG); the server sees its own."""
    r = relay()
    out = r.from_client('eth1', request(DISCOVER))
    assert isinstance(out, ToServer)
    offer = server_reply(out.message, OFFER, LEASE.address)
    offer = DhcpMessage(offer.op, offer.xid, offer.chaddr, (*offer.options, (OPT_SERVER_ID, SERVER.packed)),
                        yiaddr=offer.yiaddr, giaddr=offer.giaddr)
    delivered = r.from_server(offer)
    assert isinstance(delivered, ToClient) and delivered.message.option(OPT_SERVER_ID) == ROUTER.packed
    selecting = DhcpMessage(BOOTREQUEST, 2, MAC, ((OPT_MESSAGE_TYPE, bytes((REQUEST,))), (OPT_SERVER_ID, ROUTER.packed)))
    forwarded = r.from_client('eth1', selecting)
    assert isinstance(forwarded, ToServer) and forwarded.message.option(OPT_SERVER_ID) == SERVER.packed
    renew = r.from_client('eth1', request(REQUEST, ciaddr=LEASE.address))
    assert isinstance(renew, ToServer) and renew.message.giaddr == ROUTER and renew.message.ciaddr == LEASE.address
    ack = r.from_server(replace(server_reply(renew.message, ACK, LEASE.address), ciaddr=LEASE.address))
    assert isinstance(ack, ToClient) and not ack.broadcast  # the MN has its address: unicast


def test_agent_address_is_giaddr_and_link_selection_names_the_home_subnet() -> None:
    """RFC 3527: with the MAG's own address as giaddr, sub-option 5 carries the MN's default router."""
    from pmiprouter.access.dhcp4 import AGENT_LINK_SELECTION

    agent = IPv4Address('192.0.2.1')
    r = Dhcp4Relay(SERVER, agent)
    r.grant('eth1', MAC, LEASE)
    out = r.from_client('eth1', request(DISCOVER))
    assert isinstance(out, ToServer) and out.giaddr == agent and out.message.giaddr == agent
    body = out.message.option(OPT_RELAY_AGENT_INFO)
    assert body is not None and dict(decode_suboptions(body))[AGENT_LINK_SELECTION] == ROUTER.packed
    assert isinstance(r.from_server(server_reply(out.message, OFFER, LEASE.address), frozenset({agent})), ToClient)
