"""DHCPv4 codec and the MAG's co-located server (RFC 2131, RFC 5844 §3.4.1)."""

from __future__ import annotations

from ipaddress import IPv4Address

import pytest

from pmiprouter.access.dhcp4 import (
    ACK,
    BOOTREQUEST,
    DISCOVER,
    INFORM,
    NAK,
    OFFER,
    OPT_INTERFACE_MTU,
    OPT_MESSAGE_TYPE,
    OPT_REQUESTED_IP,
    OPT_ROUTER,
    OPT_SERVER_ID,
    OPT_SUBNET_MASK,
    REQUEST,
    DhcpMessage,
    DhcpServer,
    Lease,
    decode,
    encode,
)
from pmiprouter.mh.errors import DecodeError
from tests.addresses import HOA_ADDRESS, HOA_PREFIX_LENGTH, ROUTER

MAC = bytes.fromhex('020000000101')
LEASE = Lease(HOA_ADDRESS, HOA_PREFIX_LENGTH, ROUTER, 1460)


def client(kind: int, *options: tuple[int, bytes], xid: int = 7) -> DhcpMessage:
    return DhcpMessage(BOOTREQUEST, xid, MAC, ((OPT_MESSAGE_TYPE, bytes((kind,))), *options))


def test_codec_roundtrip() -> None:
    """A message survives encode/decode, options in order; the wire form is at least 300 bytes."""
    message = client(DISCOVER, (OPT_REQUESTED_IP, IPv4Address('10.1.0.2').packed))
    wire = encode(message)
    assert len(wire) >= 300 and decode(wire) == message


@pytest.mark.parametrize('data', [b'', bytes(240), encode(client(DISCOVER))[:-80][:236] + b'\x63\x82\x53\x63' + b'\x35\x05\x01'])
def test_malformed_messages_raise_decode_error(data: bytes) -> None:
    """Short messages, a missing magic cookie or an option past the end are refused."""
    with pytest.raises(DecodeError):
        decode(data)


def test_nothing_is_offered_before_the_pba() -> None:
    """Without a lease from the LMA the server stays silent (RFC 5844 §3.4.1)."""
    assert DhcpServer().handle('acc0', client(DISCOVER)) is None


def test_offer_and_ack_carry_the_pba_address_mask_router_and_mtu() -> None:
    """DISCOVER -> OFFER and REQUEST -> ACK with the HoA, subnet mask, router = server id, interface MTU."""
    server = DhcpServer()
    server.grant('acc0', MAC, LEASE)
    offer = server.handle('acc0', client(DISCOVER))
    assert offer is not None and offer.message.message_type == OFFER and offer.message.yiaddr == LEASE.address
    assert offer.message.option(OPT_SUBNET_MASK) == IPv4Address('255.255.255.0').packed
    assert offer.message.option(OPT_ROUTER) == offer.message.option(OPT_SERVER_ID) == LEASE.router.packed  # type: ignore[union-attr]
    assert offer.message.option(OPT_INTERFACE_MTU) == (1460).to_bytes(2, 'big') and offer.broadcast
    request = client(REQUEST, (OPT_REQUESTED_IP, LEASE.address.packed), (OPT_SERVER_ID, LEASE.router.packed))  # type: ignore[union-attr]
    ack = server.handle('acc0', request)
    assert ack is not None and ack.message.message_type == ACK and ack.message.yiaddr == LEASE.address


def test_request_for_another_address_is_nakked() -> None:
    """A client asking for an address it was not granted gets a NAK."""
    server = DhcpServer()
    server.grant('acc0', MAC, LEASE)
    reply = server.handle('acc0', client(REQUEST, (OPT_REQUESTED_IP, IPv4Address('10.1.0.99').packed)))
    assert reply is not None and reply.message.message_type == NAK


def test_leases_are_per_link_and_revocable() -> None:
    """A lease granted on one interface does not serve the same MAC on another; revoke ends it."""
    server = DhcpServer()
    server.grant('acc0', MAC, LEASE)
    assert server.handle('acc1', client(DISCOVER)) is None
    assert server.handle('acc0', client(INFORM)) is not None
    server.revoke('acc0', MAC)
    assert server.handle('acc0', client(DISCOVER)) is None
