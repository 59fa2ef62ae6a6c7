"""ProxyRegistration.parse: what the LMA reads from a PBU, picked out once."""

from __future__ import annotations

from ipaddress import IPv4Address, IPv6Address

import pytest

from pmiprouter.core.events import MessageReceived, Transport
from pmiprouter.core.request import ProxyRegistration
from pmiprouter.mh import (
    AccessTechnologyTypeOption,
    AlternateCareofAddress,
    BindingUpdate,
    HandoffIndicatorOption,
    HomeNetworkPrefix,
    IPv4HomeAddressRequest,
    MobileNodeIdentifier,
    MobileNodeLinkLayerIdentifier,
    Timestamp,
)
from tests.addresses import LMAA, MAG1 as MAG



def parse(options: tuple[object, ...], lifetime: int = 400, src: object = MAG, transport: Transport = Transport.IPV6) -> ProxyRegistration:
    message = BindingUpdate.proxy(17, lifetime, options)  # type: ignore[arg-type]
    return ProxyRegistration.parse(MessageReceived(src, LMAA, message, transport))  # type: ignore[arg-type]


def test_fields_are_read_once_from_the_options_and_the_header() -> None:
    mn_id = MobileNodeIdentifier.nai('mn@example.com')
    hnps = (HomeNetworkPrefix.of('::/0'), HomeNetworkPrefix.of('2001:db8:9::/64'))
    ll_id = MobileNodeLinkLayerIdentifier(b'\0\0\0\0\0\0')
    request = parse((mn_id, *hnps, HandoffIndicatorOption(2), AccessTechnologyTypeOption(4), ll_id,
                     IPv4HomeAddressRequest(0, IPv4Address(0)), Timestamp(99), MobileNodeIdentifier.nai('second@x')))
    assert request.mn_id is mn_id  # the first of a kind
    assert request.hnps == hnps and request.non_zero_prefixes == (hnps[1],)
    assert (request.handoff, request.att, request.timestamp) == (2, 4, 99)
    assert request.mn_ll_id is None and request.mn_ll_id_option is ll_id  # all zero: not an identifier, still echoed
    assert (request.sequence, request.lifetime_s, request.is_deregistration) == (17, 400, False)
    assert request.wants_ipv4 and request.wants_ipv6 and request.ipv4_request == IPv4HomeAddressRequest(0, IPv4Address(0))
    assert request.proxy_coa == MAG and request.gre_key is None and request.link_local is None
    assert len(request) == len(ProxyRegistration._fields)  # parse fills every field, in order
    assert request == request._replace()  # and is an ordinary named tuple
    with pytest.raises(AttributeError):
        request.sequence = 1  # type: ignore[misc]  # immutable


def test_deregistration_alternate_coa_and_missing_options() -> None:
    other = IPv6Address('2001:db8:7::7')
    request = parse((AlternateCareofAddress(other),), lifetime=0)
    assert request.is_deregistration and request.proxy_coa == other
    assert request.mn_id is None and request.hnps == () and request.non_zero_prefixes == ()
    assert request.handoff is None and request.att is None and not request.wants_ipv4


def test_repeated_prefixes_and_ipv4_requests_are_all_kept_in_wire_order() -> None:
    hnps = (HomeNetworkPrefix.of('2001:db8:1::/64'), HomeNetworkPrefix.of('::/0'), HomeNetworkPrefix.of('2001:db8:2::/64'))
    v4 = (IPv4HomeAddressRequest(0, IPv4Address(0)), IPv4HomeAddressRequest(24, IPv4Address('10.0.0.5')))
    request = parse((hnps[0], v4[0], MobileNodeIdentifier.nai('mn@x'), hnps[1], v4[1], hnps[2]))
    assert request.hnps == hnps and request.non_zero_prefixes == (hnps[0], hnps[2])
    assert request.ipv4_requests == v4 and request.mn_id == MobileNodeIdentifier.nai('mn@x')
    single = parse((v4[1], hnps[1]))
    assert single.ipv4_requests == (v4[1],) and single.hnps == (hnps[1],) and single.non_zero_prefixes == ()
