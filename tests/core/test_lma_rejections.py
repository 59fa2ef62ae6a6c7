"""LMA: every rejection status and its PBA (RFC 5213 §5.3.1, §5.3.6, RFC 5844 §3.1.2, RFC 5845 §5.2)."""

from __future__ import annotations

from ipaddress import IPv4Address, IPv4Network, IPv6Network

import pytest

from pmiprouter.core.lma import LocalMobilityAnchor
from pmiprouter.core.events import DataplaneFailed, Transport
from pmiprouter.core.policy import GreMode
from pmiprouter.mh import (
    BAStatus,
    BUFlags,
    HomeNetworkPrefix,
    IPv4HomeAddressReply,
    MobileNodeIdentifier,
    Timestamp,
)
from tests.core.harness import LMAA, MAG1_V4, MAG2, T0, Harness, gre, ipv4_request, only_pba, pbu, policy


def status_of(harness: Harness, message: object, **kwargs: object) -> int:
    return int(only_pba(harness.send(message, **kwargs)).status)  # type: ignore[arg-type]


def test_missing_mn_id_160_with_zero_length_identifier() -> None:
    """No MN-ID: 160, and the PBA carries an MN-ID with a zero-length identifier."""
    pba = only_pba(Harness().send(pbu(nai=None)))
    assert pba.status == BAStatus.MISSING_MN_IDENTIFIER_OPTION
    assert pba.option(MobileNodeIdentifier) == MobileNodeIdentifier(1, b'')
    assert pba.option(HomeNetworkPrefix) == HomeNetworkPrefix.of('::/0')


def test_unauthorized_mag_154() -> None:
    """A sender that is not a configured MAG gets 154 (unless dynamic MAG learning is on)."""
    from ipaddress import IPv6Address

    stranger = IPv6Address('2001:db8:66::1')
    assert status_of(Harness(), pbu(), src=stranger) == BAStatus.MAG_NOT_AUTHORIZED_FOR_PROXY_REG
    learning = Harness(lma=LocalMobilityAnchor(policy(dynamic_mag_learning=True)))
    assert status_of(learning, pbu(), src=stranger) == BAStatus.ACCEPTED


def test_own_address_as_mag_154() -> None:
    """A PBU from one of the LMA's own addresses (spoofed, or looped back) is refused even with
    dynamic MAG learning: a tunnel to ourselves cannot exist, and the session would be stuck."""
    learning = Harness(lma=LocalMobilityAnchor(policy(dynamic_mag_learning=True)))
    assert status_of(learning, pbu(), src=LMAA) == BAStatus.MAG_NOT_AUTHORIZED_FOR_PROXY_REG
    assert len(learning.lma.cache) == 0


def test_unknown_mn_153() -> None:
    """An MN-ID without a profile gets 153."""
    assert status_of(Harness(), pbu(nai='nobody@example.com')) == BAStatus.NOT_LMA_FOR_THIS_MOBILE_NODE


def test_proxy_registration_disabled_152() -> None:
    """A profile without network-based mobility gets 152."""
    assert status_of(Harness(), pbu(nai='off@example.com')) == BAStatus.PROXY_REG_NOT_ENABLED


def test_timestamp_outside_window_156_carries_lma_time() -> None:
    """A timestamp 1 s off (window 300 ms) gets 156 and the LMA's current time in the PBA."""
    pba = only_pba(Harness().send(pbu(ts=T0 - 1.0), T0))
    assert pba.status == BAStatus.TIMESTAMP_MISMATCH and pba.option(Timestamp) == Timestamp.from_unix(T0)


def test_mn_generated_timestamps_skip_the_window() -> None:
    """With MobileNodeGeneratedTimestampInUse only the order counts."""
    h = Harness(lma=LocalMobilityAnchor(policy(mn_generated_timestamps=True)))
    assert status_of(h, pbu(ts=T0 - 1000)) == BAStatus.ACCEPTED


def test_older_timestamp_157() -> None:
    """A PBU older than the last accepted for the binding gets 157 with the LMA's time."""
    h = Harness()
    h.send(pbu(ts=T0 + 0.2), T0 + 0.2)
    pba = only_pba(h.send(pbu(seq=2, ts=T0 + 0.1, hnps=('2001:db8:aaaa::/64',), hi=5), T0 + 0.2))
    assert pba.status == BAStatus.TIMESTAMP_LOWER_THAN_PREV_ACCEPTED
    assert pba.option(Timestamp) == Timestamp.from_unix(T0 + 0.2)


@pytest.mark.parametrize(
    ('kwargs', 'status'),
    [
        ({'hnps': ()}, BAStatus.MISSING_HOME_NETWORK_PREFIX_OPTION),
        ({'hi': None}, BAStatus.MISSING_HANDOFF_INDICATOR_OPTION),
        ({'att': None}, BAStatus.MISSING_ACCESS_TECH_TYPE_OPTION),
    ],
)
def test_missing_options(kwargs: dict[str, object], status: BAStatus) -> None:
    """No HNP (nor IPv4 request): 158; no HI: 161; no ATT: 162."""
    assert status_of(Harness(), pbu(**kwargs)) == status  # type: ignore[arg-type]


def test_check_order_is_the_rfc_order() -> None:
    """With several faults the first in RFC 5213 §5.3.1 order wins: 154 before 153 before 161."""
    from ipaddress import IPv6Address

    assert status_of(Harness(), pbu(nai='nobody@example.com', hi=None), src=IPv6Address('2001:db8:66::1')) == 154
    assert status_of(Harness(), pbu(nai='nobody@example.com', hi=None)) == 153


def test_ipv6_not_entitled_172_and_ipv4_not_entitled_170() -> None:
    """HNP for an IPv4-only MN: 172; IPv4 request for an IPv6-only MN: 170."""
    assert status_of(Harness(), pbu(nai='v4only@example.com')) == BAStatus.NOT_AUTHORIZED_FOR_IPV6_MOBILITY_SERVICE
    v4 = pbu(nai='v6only@example.com', hnps=(), extra=(ipv4_request(),))
    assert status_of(Harness(), v4) == BAStatus.NOT_AUTHORIZED_FOR_IPV4_MOBILITY_SERVICE


def test_two_ipv4_requests_173() -> None:
    """More than one IPv4 HoA Request option: 173."""
    assert status_of(Harness(), pbu(extra=(ipv4_request(), ipv4_request()))) == 173


def test_unauthorized_ipv4_address_171_with_reply_129() -> None:
    """A specific IPv4 HoA outside our pools: 171, and the IPv4 HoA Reply echoes it with status 129."""
    pba = only_pba(Harness().send(pbu(extra=(ipv4_request('192.168.7.7', 32),))))
    assert pba.status == BAStatus.NOT_AUTHORIZED_FOR_IPV4_HOME_ADDRESS
    assert pba.option(IPv4HomeAddressReply) == IPv4HomeAddressReply(129, 32, IPv4Address('192.168.7.7'))


def test_ipv4_pool_exhausted_130_with_reply_128() -> None:
    """No IPv4 address left: 130, and the Reply carries status 128."""
    h = Harness(lma=LocalMobilityAnchor(policy(ipv4_pools=(IPv4Network('10.9.0.0/30'),))))
    assert status_of(h, pbu(extra=(ipv4_request(),))) == 0
    pba = only_pba(h.send(pbu(nai='mn2@example.com', mac='00:00:00:00:00:02', extra=(ipv4_request(),))))
    assert pba.status == BAStatus.INSUFFICIENT_RESOURCES and pba.option(IPv4HomeAddressReply).status == 128  # type: ignore[union-attr]


def test_prefix_pool_exhausted_130() -> None:
    """No prefix left: 130 and nothing is half-allocated (the IPv4 address is free again)."""
    h = Harness(lma=LocalMobilityAnchor(policy(hnp_pools=((IPv6Network('2001:db8:aaaa::/64'), 64),))))
    assert status_of(h, pbu()) == 0
    assert status_of(h, pbu(nai='mn2@example.com', mac='00:00:00:00:00:02', extra=(ipv4_request(),))) == 130
    assert h.lma.sessions.addresses.ipv4_pools[0].in_use == 0


def test_forced_udp_refused_129() -> None:
    """F flag while AcceptForcedIPv4UDPEncapsulationRequest is 0: 129 (RFC 5844 §4.1.3.1)."""
    msg = pbu(flags=BUFlags.F)
    assert status_of(Harness(), msg, src=MAG1_V4, transport=Transport.UDP4, sport=5436) == 129


def test_gre_required_163_and_not_needed_2_and_no_tlv_3() -> None:
    """GRE required without a key: 163; GRE off with a key: accepted with 2; TLV unsupported: 3."""
    required = Harness(lma=LocalMobilityAnchor(policy(gre=GreMode.REQUIRED)))
    assert status_of(required, pbu()) == BAStatus.GRE_KEY_OPTION_REQUIRED
    off = Harness(lma=LocalMobilityAnchor(policy(gre=GreMode.OFF)))
    assert status_of(off, pbu(extra=(gre(5),))) == BAStatus.GRE_KEY_OPTION_NOT_REQUIRED
    no_tlv = Harness(lma=LocalMobilityAnchor(policy(gre_tlv_supported=False)))
    msg = pbu(extra=(gre(5),), flags=BUFlags.T)
    assert status_of(no_tlv, msg, src=MAG1_V4, transport=Transport.UDP4, sport=5436) == 3


def test_prefix_of_another_mn_155_and_other_prefix_set_159() -> None:
    """Asking for another MN's prefix: 155; the right MN with a different prefix set: 159."""
    h = Harness()
    h.send(pbu())
    other = pbu(nai='mn2@example.com', mac='00:00:00:00:00:02', hnps=('2001:db8:aaaa::/64',))
    assert status_of(h, other) == BAStatus.NOT_AUTHORIZED_FOR_HOME_NETWORK_PREFIX
    both = pbu(seq=2, ts=T0 + 0.1, hnps=('2001:db8:aaaa::/64', '2001:db8:aaaa:9::/64'), hi=5)
    assert status_of(h, both, now=T0 + 0.1) == BAStatus.BCE_PBU_PREFIX_SET_DO_NOT_MATCH


def test_rejected_pba_echoes_the_requested_prefixes() -> None:
    """A rejected PBU's HNP options come back unchanged."""
    pba = only_pba(Harness().send(pbu(nai='nobody@example.com', hnps=('2001:db8:aaaa:5::/64',))))
    assert pba.options_of(HomeNetworkPrefix) == (HomeNetworkPrefix.of('2001:db8:aaaa:5::/64'),)


def test_sequence_numbers_135_carries_the_last_accepted() -> None:
    """Without timestamps an old sequence number gets 135 with the last accepted one; wrap-around is newer."""
    h = Harness(lma=LocalMobilityAnchor(policy(use_timestamps=False)))
    assert status_of(h, pbu(seq=65535, ts=None)) == 0
    assert status_of(h, pbu(seq=2, ts=None, hnps=('2001:db8:aaaa::/64',), hi=5)) == 0  # 65535 -> 2 wraps
    pba = only_pba(h.send(pbu(seq=65000, ts=None, hnps=('2001:db8:aaaa::/64',), hi=5)))
    assert pba.status == BAStatus.SEQUENCE_NUMBER_OUT_OF_WINDOW and pba.sequence == 2


def test_dataplane_failure_answers_130_and_forgets_the_session() -> None:
    """If the tunnel cannot be built the MAG gets 130 and the addresses are released."""
    h = Harness(auto_apply=False)
    h.send(pbu())
    pba = only_pba(h.feed(DataplaneFailed(h.dataplane[0].ticket, 'EPERM'), T0))
    assert pba.status == BAStatus.INSUFFICIENT_RESOURCES
    assert not h.lma.bindings() and h.lma.sessions.addresses.prefix_pools[0].in_use == 0
    assert h.dataplane[-1].remove_tunnels and h.dataplane[-1].remove_routes
    assert MAG2 not in {t.remote for t in h.lma.tunnel_users}
