"""MAG: Binding Update List lookups, the policy helpers and engine edge cases (RFC 5213 §6.1, §6.2)."""

from __future__ import annotations

from ipaddress import IPv6Address

import pytest

from pmiprouter.core.binding_update_list import KEEP_SEQUENCES, BindingUpdateList, BulEntry, BulState
from pmiprouter.core.errors import InternalInvariantError
from pmiprouter.core.events import MalformedReceived, Transport
from pmiprouter.core.mag_events import AttachHint, MobileNodeDetached
from pmiprouter.core.mag_policy import MagProfile, format_mac, parse_mac
from pmiprouter.mh import BAFlags, BAStatus, BindingAcknowledgement, HomeNetworkPrefix, MobileNodeIdentifier
from pmiprouter.mh.errors import Truncated
from tests.core.harness import LMAA, MAG1, T0
from tests.core.mag_harness import ETH, HNP1, MAC1, MAC2, MagHarness, logged, mag_policy, pbus

NAI = MobileNodeIdentifier.nai('mn1@example.com')


def entry(entry_id: int, mac: bytes = MAC1, ifname: str = ETH, mn_id: MobileNodeIdentifier = NAI) -> BulEntry:
    return BulEntry(
        entry_id, ifname, mac, mn_id, MagProfile(mac), 3, mac, MAG1, LMAA, Transport.IPV6, AttachHint.NEW, True, False
    )


def test_lookups_by_link_and_by_mn_identifier() -> None:
    """One MN-ID on two interfaces: two entries found by (ifname, MAC), both by MN-ID."""
    bul = BindingUpdateList()
    first, second = entry(1), entry(2, MAC2, 'wlan0')
    bul.add(first)
    bul.add(second)
    assert bul.at(ETH, MAC1) is first and bul.at('wlan0', MAC2) is second and bul.at(ETH, MAC2) is None
    assert bul.of_mn(NAI) == [first, second]
    bul.remove(first)
    assert bul.of_mn(NAI) == [second] and len(bul) == 1
    bul.remove(second)
    assert not bul.by_mn and not bul.by_link


def test_two_entries_for_one_link_are_a_bug() -> None:
    """The point-to-point model has one session per (interface, MAC)."""
    bul = BindingUpdateList()
    bul.add(entry(1))
    with pytest.raises(InternalInvariantError):
        bul.add(entry(2))


def test_match_needs_an_outstanding_pbu_with_that_sequence() -> None:
    """A PBA matches only an entry waiting for it, by one of its last few sequence numbers."""
    bul = BindingUpdateList()
    e = entry(1)
    e.state = BulState.REGISTERING
    bul.add(e)
    for sequence in range(1, 20):
        e.remember(sequence)
    assert bul.match(NAI, 19) is e and bul.match(NAI, 19 - KEEP_SEQUENCES) is None
    e.state = BulState.REGISTERED
    assert bul.match(NAI, 19) is None and bul.outstanding_of(NAI) is None


def test_mac_parsing_and_formatting() -> None:
    """MACs are accepted in the usual notations and shown colon-separated."""
    assert parse_mac('0011.2233.4455') == parse_mac('00-11-22-33-44-55') == MAC1
    assert format_mac(MAC1) == '00:11:22:33:44:55'
    with pytest.raises(ValueError):
        parse_mac('00:11:22')


def test_missing_transport_addresses_are_reported() -> None:
    """A MAG without an IPv4 address cannot register over IPv4: logged, no PBU."""
    actions = MagHarness(mag_policy(transport=Transport.UDP4, mag_address_v4=None)).attach()
    assert not pbus(actions) and logged(actions, 'no-lma')


def test_profile_lma_overrides_the_default() -> None:
    """A profile naming its own LMA sends the PBU there."""
    other = IPv6Address('2001:db8:2::99')
    policy = mag_policy()
    policy = mag_policy(profiles={**policy.profiles, MAC1: MagProfile(MAC1, nai='mn1@example.com', lma=other)})
    h = MagHarness(policy)
    h.attach()
    assert h.mag.entries()[0].lma == other


def test_accepted_pba_without_addresses_counts_as_a_failure() -> None:
    """Status 0 without any HNP or IPv4 HoA: nothing to serve, retried like 128."""
    h = MagHarness()
    h.attach()
    pba = BindingAcknowledgement(BAStatus.ACCEPTED, BAFlags.P, 1, 600, (NAI,))
    actions = h.receive(pba)
    assert logged(actions, 'pba-accepted-empty') and h.mag.entries()[0].state is BulState.REGISTERING


def test_binding_expiring_while_programming_is_dropped() -> None:
    """The data plane never answered and the lifetime ran out: routes removed, entry gone."""
    h = MagHarness(auto_apply=False)
    h.attach()
    h.reply(lifetime=60)
    assert h.timers[('mag-expiry', 1)] == T0 + 60
    actions = h.advance(T0 + 60)
    assert logged(actions, 'binding-expired') and not h.mag.entries()


def test_detach_of_an_unknown_mn_does_nothing() -> None:
    """No entry, no action."""
    assert MagHarness().feed(MobileNodeDetached(ETH, MAC2)) == []


def test_malformed_message_is_counted() -> None:
    """Undecodable bytes are logged and counted, never answered by the MAG."""
    h = MagHarness()
    actions = h.feed(MalformedReceived(LMAA, MAG1, Truncated(0, 8, 2, 'Mobility Header')))
    assert logged(actions, 'malformed') and h.mag.stats.received['malformed'] == 1


def test_duplicate_pba_after_registration_is_unmatched() -> None:
    """A repeated PBA for an already registered MN changes nothing."""
    h = MagHarness()
    h.registered()
    pba = BindingAcknowledgement(BAStatus.ACCEPTED, BAFlags.P, 1, 600, (NAI, HomeNetworkPrefix.of(HNP1)))
    assert logged(h.receive(pba), 'pba-unmatched') and h.mag.entries()[0].state is BulState.REGISTERED


def test_reconfigure_drops_halted_entries() -> None:
    """The administrative action removes halted entries so the MN can start over."""
    h = MagHarness()
    h.attach()
    h.reply(BAStatus.PROXY_REG_NOT_ENABLED)
    assert h.mag.entries()[0].state is BulState.HALTED
    assert logged(h.mag.reconfigure(h.policy), 'entry-deleted') and not h.mag.entries()
