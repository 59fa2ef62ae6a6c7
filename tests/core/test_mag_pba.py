"""MAG: PBA handling for every status, matching and mismatches (RFC 5213 §6.9.1.2, RFC 5844, RFC 5845)."""

from __future__ import annotations

from dataclasses import replace
from ipaddress import IPv4Address, IPv6Address

import pytest

from pmiprouter.core.actions import ApplyDataplane
from pmiprouter.core.binding_update_list import BulState
from pmiprouter.core.events import DataplaneFailed, Transport
from pmiprouter.core.mag_events import MobileNodeDetached, OfferIpv4, SetLinkLocal
from pmiprouter.dataplane.interface import Role, TunnelMode
from pmiprouter.mh import (
    BAFlags,
    BAStatus,
    BindingAcknowledgement,
    GREKey,
    HandoffIndicatorOption,
    HomeNetworkPrefix,
    IPv4HomeAddressReply,
    IPv4HomeAddressRequest,
    MobileNodeIdentifier,
)
from tests.core.harness import LMAA, LMAA4, MAG1, MAG1_V4, MAG2, T0
from tests.core.mag_harness import (
    ETH,
    HNP1,
    HNP2,
    HOA,
    MAC1,
    MAC2,
    MAC_DUAL,
    MAC_STATIC,
    MAC_V4,
    ROUTER,
    WLAN,
    MagHarness,
    logged,
    mag_policy,
    of_type,
    pbus,
    ras,
    stamp,
)


def state(h: MagHarness, index: int = 0) -> BulState | None:
    return h.mag.entries()[index].state


# ---- status 0 ------------------------------------------------------------------------------


def test_accepted_programs_the_tunnel_before_any_router_advertisement() -> None:
    """Status 0: tunnel and MAG routes first; the RA with the HNP only after DataplaneApplied."""
    h = MagHarness(auto_apply=False)
    h.attach()
    actions = h.reply()
    assert not ras(actions) and state(h) is BulState.PROGRAMMING
    (apply,) = of_type(actions, ApplyDataplane)
    (tunnel,) = apply.ensure_tunnels
    assert (tunnel.local, tunnel.remote, tunnel.mode) == (MAG1, LMAA, TunnelMode.IP6_ANY)
    (route,) = apply.ensure_routes
    assert route.role is Role.MAG and route.hnps == (HNP1,) and route.access_ifname == ETH
    from pmiprouter.core.events import DataplaneApplied

    done = h.feed(DataplaneApplied(apply.ticket))
    (ra,) = ras(done)
    assert (ra.ifname, ra.mac, ra.prefixes, ra.lifetime, ra.mtu) == (ETH, MAC1, (HNP1,), 600, 1460)
    assert ra.source == IPv6Address('fe80::200:5eff:fe00:5213') and ra.router_lifetime == 1800
    assert ra.source_mac == bytes.fromhex('00005e005213')  # RFC 6543: same router on every MAG
    assert state(h) is BulState.REGISTERED and ('mag-pbu', 1) not in h.timers


def test_ra_mtu_is_the_smaller_of_tunnel_and_access_link() -> None:
    """RFC 5213 §6.9.5: the 1400-byte access link wins over the 1460-byte tunnel."""
    h = MagHarness()
    h.attach(ifname=WLAN)
    assert ras(h.reply())[0].mtu == 1400


def test_tunnel_is_shared_by_the_mns_of_one_lma() -> None:
    """A second MN reuses the tunnel: its ApplyDataplane ensures no tunnel."""
    h = MagHarness()
    h.registered()
    h.attach(MAC2)
    h.reply(prefixes=(HNP2,))
    assert h.dataplane[0].ensure_tunnels and not h.dataplane[1].ensure_tunnels
    assert h.dataplane[1].ensure_routes[0].hnps == (HNP2,)


def test_dataplane_failure_gives_the_binding_back() -> None:
    """DataplaneFailed: no RA; a de-registration PBU (lifetime 0) goes to the LMA."""
    h = MagHarness(auto_apply=False)
    h.attach()
    apply = of_type(h.reply(), ApplyDataplane)[0]
    actions = h.feed(DataplaneFailed(apply.ticket, 'netlink said no'))
    assert not ras(actions) and pbus(actions)[0].lifetime_s == 0
    assert state(h) is BulState.DEREGISTERING


def test_link_local_from_the_lma_is_configured_and_used_as_ra_source() -> None:
    """A NON_ZERO Link-local Address in the PBA is set on the access link and sources the RA."""
    h = MagHarness(mag_policy(fixed_link_local=None))
    h.attach()
    actions = h.reply(link_local=IPv6Address('fe80::1'))
    assert SetLinkLocal(ETH, IPv6Address('fe80::1')) in actions
    assert ras(actions)[0].source == IPv6Address('fe80::1')


def test_ipv4_home_address_is_routed_and_offered_to_dhcp() -> None:
    """RFC 5844 §3.2.3.2: the HoA is routed via the tunnel; the DHCP server may offer it with the router."""
    h = MagHarness()
    h.attach(MAC_DUAL)
    actions = h.reply(ipv4=HOA, ipv4_router=ROUTER)
    assert h.dataplane[-1].ensure_routes[0].ipv4_hoa == HOA.ip
    assert OfferIpv4(ETH, MAC_DUAL, HOA.ip, 24, ROUTER, 1460) in actions


def test_failed_ipv4_reply_means_no_ipv4_service() -> None:
    """An accepted PBA whose IPv4 HoA Reply failed: IPv6 only, no offer, no request on renewal."""
    h = MagHarness()
    h.attach(MAC_DUAL)
    pba = BindingAcknowledgement(
        BAStatus.ACCEPTED,
        BAFlags.P,
        h.last.sequence,
        600,
        (
            MobileNodeIdentifier.nai('dual@example.com'),
            HomeNetworkPrefix.of(HNP1),
            HandoffIndicatorOption(1),
            IPv4HomeAddressReply(128, 0, IPv4Address(0)),
        ),
    )
    actions = h.receive(pba)
    assert not of_type(actions, OfferIpv4) and h.dataplane[-1].ensure_routes[0].ipv4_hoa is None
    assert h.mag.entries()[0].want_ipv4 is False


def test_gre_keys_make_a_per_mn_gre_tunnel() -> None:
    """RFC 5845: our downlink key in, the LMA's uplink key out, GRE over IPv6."""
    h = MagHarness(mag_policy(gre=True))
    h.attach()
    h.reply(use_gre=True, gre_key_in=900)
    tunnel = h.dataplane[-1].ensure_tunnels[0]
    assert (tunnel.mode, tunnel.gre_key_in, tunnel.gre_key_out) == (TunnelMode.GRE6, 1, 900)


def test_status_2_drops_gre_for_the_session() -> None:
    """GRE_KEY_OPTION_NOT_REQUIRED: plain tunnel; the renewal carries no GRE Key."""
    h = MagHarness(mag_policy(gre=True, probe_before_renewal=False))
    h.attach()
    h.reply(BAStatus.GRE_KEY_OPTION_NOT_REQUIRED)
    assert h.dataplane[-1].ensure_tunnels[0].mode is TunnelMode.IP6_ANY
    assert pbus(h.advance(T0 + 540))[0].option(GREKey) is None


def test_accepted_without_gre_key_means_the_lma_does_not_do_gre() -> None:
    """A success without a GRE Key after we sent one: stop including it (RFC 5845 §4.1)."""
    h = MagHarness(mag_policy(gre=True))
    h.attach()
    h.reply()
    assert h.mag.entries()[0].use_gre is False and h.dataplane[-1].ensure_tunnels[0].mode is TunnelMode.IP6_ANY


def test_ipv4_transport_tunnel_modes() -> None:
    """IPv4 transport: plain IPv4 tunnel; NAT Detection F=1 in the PBA selects IPv4-UDP (RFC 5844 §4.2.2)."""
    h = MagHarness(mag_policy(transport=Transport.UDP4))
    h.attach()
    h.reply()
    tunnel = h.dataplane[-1].ensure_tunnels[0]
    assert (tunnel.local, tunnel.remote, tunnel.mode) == (MAG1_V4, LMAA4, TunnelMode.IP4)
    h.attach(MAC2)
    h.reply(prefixes=(HNP2,), udp=True)
    assert h.dataplane[-1].ensure_tunnels[0].mode is TunnelMode.UDP4


# ---- rejections ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    'status',
    [
        BAStatus.PROXY_REG_NOT_ENABLED,
        BAStatus.NOT_LMA_FOR_THIS_MOBILE_NODE,
        BAStatus.MAG_NOT_AUTHORIZED_FOR_PROXY_REG,
        BAStatus.ADMINISTRATIVELY_PROHIBITED,
        BAStatus.MISSING_HANDOFF_INDICATOR_OPTION,
    ],
)
def test_fatal_statuses_stop_until_administrative_action(status: BAStatus) -> None:
    """152 (and the other configuration errors): no retransmission, no service, even after re-attach."""
    h = MagHarness()
    h.attach()
    actions = h.reply(status)
    assert not ras(actions) and not h.dataplane and state(h) is BulState.HALTED
    assert ('mag-pbu', 1) not in h.timers and not pbus(h.advance(T0 + 100))
    h.feed(MobileNodeDetached(ETH, MAC1), T0 + 101)
    assert not h.mag.entries() and not pbus(h.attach(now=T0 + 102))
    h.mag.reconfigure(h.policy)  # the administrative action
    assert pbus(h.attach(now=T0 + 103))


def test_157_re_registers_at_once_but_only_once() -> None:
    """TIMESTAMP_LOWER_THAN_PREV_ACCEPTED: an immediate PBU with a newer timestamp; a second 157 waits."""
    h = MagHarness()
    first = pbus(h.attach())[0]
    retry = pbus(h.reply(BAStatus.TIMESTAMP_LOWER_THAN_PREV_ACCEPTED, now=T0 + 0.2))
    assert len(retry) == 1 and retry[0].sequence == first.sequence + 1
    assert stamp(retry[0]) > stamp(first)
    assert not pbus(h.reply(BAStatus.TIMESTAMP_LOWER_THAN_PREV_ACCEPTED, now=T0 + 0.3))
    assert h.timers[('mag-pbu', 1)] == T0 + 1.2 and state(h) is BulState.REGISTERING


@pytest.mark.parametrize('status', [BAStatus.TIMESTAMP_MISMATCH, BAStatus.INSUFFICIENT_RESOURCES, BAStatus.REASON_UNSPECIFIED, 200])
def test_transient_statuses_keep_the_retransmission_schedule(status: int) -> None:
    """156 (clock not in sync), 128, 130 and unknown statuses: no extra PBU; the backoff timer retries."""
    h = MagHarness()
    h.attach()
    assert not pbus(h.reply(status, now=T0 + 0.1))
    assert h.timers[('mag-pbu', 1)] == T0 + 1 and len(pbus(h.advance(T0 + 1))) == 1


@pytest.mark.parametrize('status', [BAStatus.NOT_AUTHORIZED_FOR_HOME_NETWORK_PREFIX, BAStatus.BCE_PBU_PREFIX_SET_DO_NOT_MATCH])
def test_prefix_refusal_retries_with_all_zero(status: BAStatus) -> None:
    """155 (and 159): do not ask for the same prefix again; retry with one ALL_ZERO HNP, then stop."""
    h = MagHarness()
    h.attach(MAC_STATIC)
    (retry,) = pbus(h.reply(status))
    assert retry.options_of(HomeNetworkPrefix) == (HomeNetworkPrefix(0, IPv6Address(0)),)
    assert not pbus(h.reply(status)) and state(h) is BulState.HALTED


def test_163_resends_with_a_gre_key() -> None:
    """GRE_KEY_OPTION_REQUIRED: the same registration again, now with our GRE Key."""
    h = MagHarness()
    assert pbus(h.attach())[0].option(GREKey) is None
    (retry,) = pbus(h.reply(BAStatus.GRE_KEY_OPTION_REQUIRED))
    assert retry.option(GREKey) == GREKey(1)
    assert not pbus(h.reply(BAStatus.GRE_KEY_OPTION_REQUIRED)) and state(h) is BulState.HALTED


def test_170_stops_asking_for_ipv4() -> None:
    """NOT_AUTHORIZED_FOR_IPV4_MOBILITY_SERVICE: a dual MN retries IPv6-only; an IPv4-only MN stops."""
    h = MagHarness()
    h.attach(MAC_DUAL)
    (retry,) = pbus(h.reply(BAStatus.NOT_AUTHORIZED_FOR_IPV4_MOBILITY_SERVICE))
    assert retry.option(IPv4HomeAddressRequest) is None and retry.options_of(HomeNetworkPrefix)
    h.attach(MAC_V4)
    assert not pbus(h.reply(BAStatus.NOT_AUTHORIZED_FOR_IPV4_MOBILITY_SERVICE)) and state(h, 1) is BulState.HALTED


def test_171_retries_with_0_0_0_0() -> None:
    """NOT_AUTHORIZED_FOR_IPV4_HOME_ADDRESS: a requested static HoA is replaced by 0.0.0.0."""
    policy = mag_policy()
    profiles = {**policy.profiles, MAC_V4: replace(policy.profiles[MAC_V4], ipv4_home_address=HOA)}
    h = MagHarness(replace(policy, profiles=profiles))
    h.attach(MAC_V4)
    (retry,) = pbus(h.reply(BAStatus.NOT_AUTHORIZED_FOR_IPV4_HOME_ADDRESS))
    assert retry.option(IPv4HomeAddressRequest) == IPv4HomeAddressRequest(0, IPv4Address(0))


def test_172_stops_sending_hnps() -> None:
    """NOT_AUTHORIZED_FOR_IPV6_MOBILITY_SERVICE: a dual MN retries with the IPv4 request alone."""
    h = MagHarness()
    h.attach(MAC_DUAL)
    (retry,) = pbus(h.reply(BAStatus.NOT_AUTHORIZED_FOR_IPV6_MOBILITY_SERVICE))
    assert not retry.options_of(HomeNetworkPrefix) and retry.option(IPv4HomeAddressRequest) is not None
    h.attach()
    assert not pbus(h.reply(BAStatus.NOT_AUTHORIZED_FOR_IPV6_MOBILITY_SERVICE)) and state(h, 1) is BulState.HALTED


def test_135_jumps_above_the_lmas_sequence_number() -> None:
    """Sequence domain: the 135 PBA carries the LMA's last accepted number; we resend above it."""
    h = MagHarness(mag_policy(use_timestamps=False))
    h.attach()
    pba = BindingAcknowledgement(
        BAStatus.SEQUENCE_NUMBER_OUT_OF_WINDOW, BAFlags.P, 500, 0, (MobileNodeIdentifier.nai('mn1@example.com'), HandoffIndicatorOption(1))
    )
    (retry,) = pbus(h.receive(pba))
    assert retry.sequence == 501


# ---- matching -------------------------------------------------------------------------------


def test_pba_for_an_unknown_mn_or_sequence_is_ignored_and_counted() -> None:
    """Unmatched PBAs change nothing and are counted (§6.9.1.2 step 2)."""
    h = MagHarness()
    first = h.last if h.attach() else None
    stray = BindingAcknowledgement(BAStatus.ACCEPTED, BAFlags.P, 1, 600, (MobileNodeIdentifier.nai('nobody@example.com'),))
    assert logged(h.receive(stray), 'pba-unmatched')
    h.reply(pbu=replace(first, sequence=99))  # type: ignore[type-var]
    assert h.mag.stats.events['pba-unmatched'] == 2 and state(h) is BulState.REGISTERING


def test_pba_from_another_address_is_ignored() -> None:
    """Only the LMA we registered with can answer."""
    h = MagHarness()
    h.attach()
    pba = BindingAcknowledgement(BAStatus.ACCEPTED, BAFlags.P, 1, 600, (MobileNodeIdentifier.nai('mn1@example.com'), HomeNetworkPrefix.of(HNP1)))
    h.receive(pba, src=MAG2)
    assert state(h) is BulState.REGISTERING and h.mag.stats.events['pba-unmatched'] == 1


def test_late_pba_for_an_earlier_retransmission_still_matches() -> None:
    """The LMA may answer the first PBU after we retransmitted it: that PBA is accepted."""
    h = MagHarness()
    first = pbus(h.attach())[0]
    h.advance(T0 + 1)
    h.reply(pbu=first, now=T0 + 1.5)
    assert state(h) is BulState.REGISTERED


@pytest.mark.parametrize('field', ['hi', 'att', 'll'])
def test_mismatched_pba_is_ignored_and_stops_retransmission(field: str) -> None:
    """§6.9.1.2 step 3: another HI, ATT or MN-LL-ID: ignore the PBA, send nothing more."""
    from pmiprouter.mh import AccessTechnologyTypeOption, MobileNodeLinkLayerIdentifier

    h = MagHarness()
    h.attach()
    wrong = {
        'hi': HandoffIndicatorOption(3),
        'att': AccessTechnologyTypeOption(4),
        'll': MobileNodeLinkLayerIdentifier(bytes(6) + b'\x01'),
    }[field]
    options = (MobileNodeIdentifier.nai('mn1@example.com'), HomeNetworkPrefix.of(HNP1), wrong)
    actions = h.receive(BindingAcknowledgement(BAStatus.ACCEPTED, BAFlags.P, 1, 600, options))
    assert logged(actions, 'pba-mismatch') and not h.dataplane and state(h) is BulState.HALTED
    assert not pbus(h.advance(T0 + 100))
