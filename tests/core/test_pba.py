"""build_pba: the PBA's options and flags, and the constant options it shares (pure)."""

from __future__ import annotations

from ipaddress import IPv4Address, IPv6Address, IPv6Network

import pytest

from pmiprouter.core import pba as pba_module
from pmiprouter.core.events import MessageReceived
from pmiprouter.core.pba import ALL_ZERO_HNP, Grant, build_pba
from pmiprouter.core.policy import Ipv4HomeAddress
from pmiprouter.core.request import ProxyRegistration
from pmiprouter.mh import codec
from pmiprouter.mh.codec import decode, encode
from pmiprouter.mh.iana import BAFlags, BAStatus, BUFlags
from pmiprouter.mh.messages import BindingUpdate
from pmiprouter.mh.options_ipv4 import IPv4DefaultRouterAddress, IPv4DHCPSupportMode, IPv4HomeAddressRequest
from pmiprouter.mh.options_mipv6 import MobileNodeIdentifier
from pmiprouter.mh.options_pmip import (
    AccessTechnologyTypeOption,
    HandoffIndicatorOption,
    HomeNetworkPrefix,
    LinkLocalAddress,
    MobileNodeLinkLayerIdentifier,
)
from tests.mh.reference import reference_encode
from tests.addresses import LMAA, MAG1 as MAG

ROUTER = IPv4Address('10.0.0.1')


def request(*extra: object, flags: BUFlags = BUFlags(0), mn: str = 'mn@example.com') -> ProxyRegistration:
    options = (MobileNodeIdentifier.nai(mn), HomeNetworkPrefix.of('::/0'), HandoffIndicatorOption(1),
               AccessTechnologyTypeOption(3), MobileNodeLinkLayerIdentifier(b'\0\0\0\0\0\1'), *extra)
    pbu = decode(encode(BindingUpdate.proxy(9, 400, options, flags)))  # type: ignore[arg-type]
    return ProxyRegistration.parse(MessageReceived(MAG, LMAA, pbu))


def grant(**changes: object) -> Grant:
    values: dict[str, object] = dict(lifetime_s=400, prefixes=(IPv6Network('2001:db8:0:7::/64'),), ipv4=None,
                                     ipv4_router=None, link_local=None, gre_key_in=None, use_gre=False, tlv=False,
                                     udp=False, dhcp_server_mode=None)
    values.update(changes)
    return Grant(**values)  # type: ignore[arg-type]


def test_accepted_pba_echoes_the_request_and_names_the_granted_prefix() -> None:
    req = request()
    pba = build_pba(req, BAStatus.ACCEPTED, 0.0, grant())
    assert (pba.status, pba.flags, pba.sequence, pba.lifetime_s) == (BAStatus.ACCEPTED, BAFlags.P, 9, 400)
    assert pba.options[0] is req.mn_id and pba.options[4] is req.mn_ll_id_option
    assert pba.options[1] == HomeNetworkPrefix.of('2001:db8:0:7::/64')
    assert pba.options[2:4] == (HandoffIndicatorOption(1), AccessTechnologyTypeOption(3))
    assert encode(pba) == reference_encode(pba)


def test_flags_echo_p_and_add_t_for_a_tlv_grant() -> None:
    proxy, plain = request(), request()._replace(message=BindingUpdate(9, BUFlags.A, 400))
    assert build_pba(proxy, BAStatus.ACCEPTED, 0.0, grant(tlv=True)).flags == BAFlags.P | BAFlags.T
    assert build_pba(plain, BAStatus.ACCEPTED, 0.0, grant(tlv=True)).flags == BAFlags.T
    assert build_pba(plain, BAStatus.ACCEPTED, 0.0, grant()).flags == BAFlags(0)
    rejected = build_pba(proxy, BAStatus.NOT_LMA_FOR_THIS_MOBILE_NODE, 0.0, grant(tlv=True))
    assert rejected.flags == BAFlags.P and rejected.lifetime_s == 0  # a rejection grants nothing


def test_constant_options_are_shared_with_their_encoding() -> None:
    first, second = build_pba(request(), BAStatus.ACCEPTED, 0.0, grant()), build_pba(request(mn='b@x'), BAStatus.ACCEPTED, 0.0, grant())
    assert first.options[2] is second.options[2] and first.options[3] is second.options[3]
    assert first.options[2] in codec._encoded and ALL_ZERO_HNP in codec._encoded


def test_address_options_are_shared_per_address_object() -> None:
    ipv4 = Ipv4HomeAddress(IPv4Address('10.0.0.9'), 8)
    req = request(IPv4HomeAddressRequest())
    one = build_pba(req, BAStatus.ACCEPTED, 0.0, grant(ipv4=ipv4, ipv4_router=ROUTER, dhcp_server_mode=True))
    two = build_pba(req, BAStatus.ACCEPTED, 0.0, grant(ipv4=ipv4, ipv4_router=ROUTER, dhcp_server_mode=True))
    router = [o for o in one.options if type(o) is IPv4DefaultRouterAddress]
    assert router == [IPv4DefaultRouterAddress(ROUTER)] and router[0] is [o for o in two.options if type(o) is IPv4DefaultRouterAddress][0]
    assert IPv4DHCPSupportMode(True) in one.options
    other = build_pba(req, BAStatus.ACCEPTED, 0.0, grant(ipv4=ipv4, ipv4_router=IPv4Address('10.0.0.254')))
    assert IPv4DefaultRouterAddress(IPv4Address('10.0.0.254')) in other.options
    lla = IPv6Address('fe80::1')
    with_lla = build_pba(request(LinkLocalAddress(IPv6Address(0))), BAStatus.ACCEPTED, 0.0, grant(link_local=lla))
    assert LinkLocalAddress(lla) in with_lla.options
    for pba in (one, other, with_lla):
        assert encode(pba) == reference_encode(pba)


def test_the_address_option_table_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    table = pba_module._router_option
    table.clear()
    monkeypatch.setattr(table, 'bound', 2)
    ipv4 = Ipv4HomeAddress(IPv4Address('10.0.0.9'), 8)
    req = request(IPv4HomeAddressRequest())
    made = []
    for last in range(1, 6):
        router = IPv4Address(f'10.0.0.{last}')
        built = build_pba(req, BAStatus.ACCEPTED, 0.0, grant(ipv4=ipv4, ipv4_router=router))
        assert IPv4DefaultRouterAddress(router) in built.options
        assert len(table) <= 2
        made += [o for o in built.options if type(o) is IPv4DefaultRouterAddress]
    assert made[0] not in codec._encoded and made[-1] in codec._encoded  # a dropped option's encoding goes too
