"""MAG: attachment, PBU contents and Handoff Indicator choices (RFC 5213 §6.9.1.1, §6.9.1.3-§6.9.1.4)."""

from __future__ import annotations

from dataclasses import replace
from ipaddress import IPv4Address, IPv6Address

import pytest

from pmiprouter.core.actions import SendMessage
from pmiprouter.core.events import Transport
from pmiprouter.core.mag_events import AttachHint, AttachTrigger, MobileNodeDetached
from pmiprouter.core.mag_policy import MagProfile
from pmiprouter.core.seqno import timestamp_from_seconds
from pmiprouter.mh import (
    BindingUpdate,
    BUFlags,
    GREKey,
    HomeNetworkPrefix,
    IPv4HomeAddressRequest,
    LinkLocalAddress,
    MNIdentifierSubtype,
    MobileNodeIdentifier,
    MobileNodeLinkLayerIdentifier,
    Timestamp,
)
from tests.core.harness import LMAA, LMAA4, MAG1, MAG1_V4, T0
from tests.core.mag_harness import (
    ETH,
    HOA,
    MAC1,
    MAC_DUAL,
    MAC_STATIC,
    MAC_UNKNOWN,
    MAC_V4,
    STATIC_HNP,
    WLAN,
    MagHarness,
    att_of,
    hi_of,
    logged,
    mag_policy,
    pbus,
    stamp,
)


def test_attach_sends_a_pbu_with_the_rfc_5213_options() -> None:
    """MN-ID (NAI), one ALL_ZERO HNP, HI 1, ATT, MN-LL-ID, Timestamp; A and P set; to the LMAA."""
    h = MagHarness()
    actions = h.attach()
    (send,) = [a for a in actions if isinstance(a, SendMessage)]
    assert (send.src, send.dst, send.transport, send.dport) == (MAG1, LMAA, Transport.IPV6, None)
    pbu = send.message
    assert isinstance(pbu, BindingUpdate)
    assert pbu.flags & BUFlags.A and pbu.flags & BUFlags.P and pbu.lifetime_s == 600 and pbu.sequence == 1
    assert pbu.option(MobileNodeIdentifier) == MobileNodeIdentifier.nai('mn1@example.com')
    assert pbu.options_of(HomeNetworkPrefix) == (HomeNetworkPrefix(0, IPv6Address(0)),)
    assert hi_of(pbu) == 1
    assert att_of(pbu) == 3
    assert pbu.option(MobileNodeLinkLayerIdentifier) == MobileNodeLinkLayerIdentifier(MAC1)
    assert pbu.option(Timestamp) == Timestamp(timestamp_from_seconds(T0))
    assert pbu.option(LinkLocalAddress) is None  # the domain fixes the RFC 6543 link-local
    assert pbu.option(IPv4HomeAddressRequest) is None and pbu.option(GREKey) is None
    assert h.timers[('mag-pbu', 1)] == T0 + 1


def test_att_comes_from_the_access_interface() -> None:
    """An MN on the 802.11 interface is registered with ATT 4."""
    pbu = pbus(MagHarness().attach(ifname=WLAN))[0]
    assert att_of(pbu) == 4


def test_static_prefix_profile_asks_for_its_prefix() -> None:
    """A profile with a static HNP asks for it instead of ALL_ZERO."""
    pbu = pbus(MagHarness().attach(MAC_STATIC))[0]
    assert pbu.options_of(HomeNetworkPrefix) == (HomeNetworkPrefix.of(STATIC_HNP),)


def test_dual_stack_profile_adds_an_ipv4_home_address_request() -> None:
    """RFC 5844 §3.2.2: exactly one IPv4 HoA Request, 0.0.0.0 to let the LMA allocate."""
    pbu = pbus(MagHarness().attach(MAC_DUAL))[0]
    assert pbu.options_of(IPv4HomeAddressRequest) == (IPv4HomeAddressRequest(0, IPv4Address(0)),)
    assert pbu.options_of(HomeNetworkPrefix)


def test_ipv4_only_profile_sends_no_hnp() -> None:
    """An IPv4-only MN: IPv4 HoA Request, no HNP option."""
    pbu = pbus(MagHarness().attach(MAC_V4))[0]
    assert pbu.option(IPv4HomeAddressRequest) is not None and not pbu.options_of(HomeNetworkPrefix)


def test_static_ipv4_home_address_is_requested() -> None:
    """A profile's IPv4 HoA goes into the request with its prefix length."""
    policy = mag_policy()
    profiles = {**policy.profiles, MAC_V4: replace(policy.profiles[MAC_V4], ipv4_home_address=HOA)}
    pbu = pbus(MagHarness(replace(policy, profiles=profiles)).attach(MAC_V4))[0]
    assert pbu.option(IPv4HomeAddressRequest) == IPv4HomeAddressRequest(24, HOA.ip)


def test_unknown_mac_is_not_served_by_default() -> None:
    """No profile and serve_unknown off: no PBU, a log line."""
    actions = MagHarness().attach(MAC_UNKNOWN)
    assert not pbus(actions) and logged(actions, 'mn-not-served')


def test_unknown_mac_is_served_with_the_mac_as_identifier() -> None:
    """serve_unknown: the MN-ID is the MAC as an EUI-48 identifier (what the LMA keys MAC profiles by)."""
    pbu = pbus(MagHarness(mag_policy(serve_unknown=True)).attach(MAC_UNKNOWN))[0]
    assert pbu.option(MobileNodeIdentifier) == MobileNodeIdentifier(MNIdentifierSubtype.EUI_48, MAC_UNKNOWN)


def test_disabled_profile_and_unknown_interface_are_not_served() -> None:
    """A disabled profile or an interface we do not serve gets no PBU."""
    policy = mag_policy()
    disabled = replace(policy, profiles={**policy.profiles, MAC1: MagProfile(MAC1, nai='mn1@example.com', enabled=False)})
    assert not pbus(MagHarness(disabled).attach())
    assert not pbus(MagHarness().attach(ifname='eth9'))


def test_duplicate_attach_triggers_send_one_pbu() -> None:
    """Link, neighbour and DHCP triggers for the same MN start one registration only."""
    h = MagHarness()
    h.attach()
    assert not pbus(h.attach(trigger=AttachTrigger.NEIGHBOUR) + h.attach(trigger=AttachTrigger.DHCP))


def test_link_local_is_asked_from_the_lma_when_the_domain_fixes_none() -> None:
    """FixedMAGLinkLocalAddressOnAllAccessLinks ALL_ZERO: the PBU carries an ALL_ZERO Link-local Address."""
    pbu = pbus(MagHarness(mag_policy(fixed_link_local=None)).attach())[0]
    assert pbu.option(LinkLocalAddress) == LinkLocalAddress(IPv6Address(0))


def test_gre_key_option_carries_the_downlink_key() -> None:
    """RFC 5845: with GRE on, the PBU carries our downlink key (the profile's when configured)."""
    assert pbus(MagHarness(mag_policy(gre=True)).attach())[0].option(GREKey) == GREKey(1)
    policy = mag_policy(gre=True)
    keyed = replace(policy, profiles={**policy.profiles, MAC1: MagProfile(MAC1, nai='mn1@example.com', gre_key=77)})
    assert pbus(MagHarness(keyed).attach())[0].option(GREKey) == GREKey(77)


def test_ipv4_transport_sends_over_udp_to_the_ipv4_lmaa() -> None:
    """RFC 5844 §4: IPv4-Proxy-CoA to IPv4-LMAA, UDP port 5436; F flag when forcing UDP."""
    actions = MagHarness(mag_policy(transport=Transport.UDP4, force_udp=True)).attach()
    (send,) = [a for a in actions if isinstance(a, SendMessage)]
    assert (send.src, send.dst, send.transport, send.dport) == (MAG1_V4, LMAA4, Transport.UDP4, 5436)
    assert isinstance(send.message, BindingUpdate) and send.message.flags & BUFlags.F


def test_sequence_numbers_without_timestamps_increase_per_mag_and_wrap() -> None:
    """Sequence-number domain: no Timestamp option; one counter for all MNs, wrapping at 2**16."""
    h = MagHarness(mag_policy(use_timestamps=False), initial_sequence=65534)
    first = pbus(h.attach())[0]
    second = pbus(h.attach(MAC_DUAL))[0]
    assert first.option(Timestamp) is None
    assert (first.sequence, second.sequence) == (65535, 0)


@pytest.mark.parametrize(
    ('trigger', 'hint', 'expected'),
    [
        (AttachTrigger.LINK, None, 1),
        (AttachTrigger.ROUTER_SOLICITATION, None, 4),
        (AttachTrigger.DHCP, None, 4),
        (AttachTrigger.NEIGHBOUR, None, 4),
        (AttachTrigger.LINK, AttachHint.FROM_OTHER_MAG, 3),
        (AttachTrigger.LINK, AttachHint.UNKNOWN, 4),
        (AttachTrigger.ROUTER_SOLICITATION, AttachHint.NEW, 1),
    ],
)
def test_handoff_indicator_of_the_initial_pbu(trigger: AttachTrigger, hint: AttachHint | None, expected: int) -> None:
    """Decision table: 1 new attach, 3 same interface from another MAG when L2 knows, 4 cannot tell."""
    assert hi_of(pbus(MagHarness().attach(trigger=trigger, hint=hint))[0]) == expected


def test_handoff_indicator_of_renewal_and_deregistration() -> None:
    """Re-registration carries HI 5, de-registration HI 4 (§6.9.1.3, §6.9.1.4)."""
    h = MagHarness(mag_policy(probe_before_renewal=False))
    h.registered()
    renewal = pbus(h.advance(T0 + 540))[0]
    assert hi_of(renewal) == 5
    dereg = pbus(h.feed(MobileNodeDetached(ETH, MAC1), T0 + 541))[0]
    assert hi_of(dereg) == 4 and dereg.lifetime_s == 0


def test_timestamps_strictly_increase_within_one_clock_tick() -> None:
    """Two PBUs at the same instant (registration, then de-registration) never carry equal timestamps."""
    h = MagHarness()
    first = pbus(h.attach())[0]
    second = pbus(h.feed(MobileNodeDetached(ETH, MAC1), T0))[0]
    assert stamp(second) == stamp(first) + 1
