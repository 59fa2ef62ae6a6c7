"""MAG: home-link emulation (RS/RA, DHCPv4 triggers), heartbeats and the BUL state table (RFC 5213 §6.6-§6.9.2)."""

from __future__ import annotations

from dataclasses import replace

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pmiprouter.core.actions import SendMessage
from pmiprouter.core.binding_update_list import TRANSITIONS, BulState, Trigger, advance
from pmiprouter.core.errors import InternalInvariantError
from pmiprouter.core.events import MessageReceived, MessageSent
from pmiprouter.core.mag_events import DhcpDiscover, OfferIpv4, RouterSolicitationReceived
from pmiprouter.mh import Heartbeat, RestartCounter
from tests.core.harness import LMAA, MAG1, T0
from tests.core.mag_harness import ETH, HNP1, HOA, MAC1, MAC_DUAL, ROUTER, MagHarness, hi_of, logged, of_type, pbus, ras


def test_rs_from_an_unknown_mn_triggers_the_registration_with_hi_4() -> None:
    """An RS is an attach trigger; without a link event the MAG cannot tell new from handoff."""
    h = MagHarness()
    (pbu,) = pbus(h.feed(RouterSolicitationReceived(ETH, MAC1)))
    assert hi_of(pbu) == 4


def test_rs_before_the_pba_gets_no_hnp() -> None:
    """§6.9.2: no RA with HNPs before the PBA (the unsolicited RA after it answers the RS)."""
    h = MagHarness(auto_apply=False)
    h.attach()
    assert not ras(h.feed(RouterSolicitationReceived(ETH, MAC1)))
    h.reply()  # accepted, data plane still programming
    assert not ras(h.feed(RouterSolicitationReceived(ETH, MAC1)))


def test_rs_after_registration_is_answered_with_the_hnp() -> None:
    """A registered MN's RS gets an RA with its prefix and the remaining binding lifetime."""
    h = MagHarness()
    h.registered()
    (ra,) = ras(h.feed(RouterSolicitationReceived(ETH, MAC1), T0 + 100))
    assert ra.prefixes == (HNP1,) and ra.lifetime == 500


def test_dhcp_discover_triggers_registration_and_is_dropped_until_it_completes() -> None:
    """RFC 5844 §3.4.1: DISCOVER starts the PBU; DISCOVERs are dropped until the HoA is known, then offered."""
    h = MagHarness()
    assert pbus(h.feed(DhcpDiscover(ETH, MAC_DUAL)))
    assert logged(h.feed(DhcpDiscover(ETH, MAC_DUAL)), 'dhcp-discover-dropped')
    h.reply(ipv4=HOA, ipv4_router=ROUTER)
    (offer,) = of_type(h.feed(DhcpDiscover(ETH, MAC_DUAL), T0 + 1), OfferIpv4)
    assert (offer.address, offer.prefix_length, offer.router) == (HOA.ip, 24, ROUTER)


def test_a_registered_mn_asking_dhcp_again_gets_its_prefixes_re_advertised() -> None:
    """A DISCOVER/SOLICIT from a registered MN re-sends its RA (the DHCPv6 relay learns the HNPs
    from it, also after a restart restored the entry) next to the offer."""
    h = MagHarness()
    h.feed(DhcpDiscover(ETH, MAC_DUAL))
    h.reply(ipv4=HOA, ipv4_router=ROUTER)
    actions = h.feed(DhcpDiscover(ETH, MAC_DUAL), T0 + 2)
    (ra,) = ras(actions)
    assert ra.prefixes and of_type(actions, OfferIpv4)


def test_heartbeat_request_is_answered_with_the_restart_counter() -> None:
    """RFC 5847 §3: always answer a request; ignore responses."""
    h = MagHarness()
    h.mag.restart_counter = 7
    (send,) = of_type(h.feed(MessageReceived(LMAA, MAG1, Heartbeat(42))), SendMessage)
    assert send.dst == LMAA and send.src == MAG1
    assert send.message == Heartbeat(42, response=True, options=(RestartCounter(7),))
    assert not h.feed(MessageReceived(LMAA, MAG1, Heartbeat(43, response=True)))


def test_every_state_is_reachable_from_the_initial_send() -> None:
    """The table connects None -> REGISTERING to every state, DELETED included."""
    reached: set[BulState | None] = set()
    frontier: list[BulState | None] = [None]
    while frontier:
        state = frontier.pop()
        for (source, _trigger), target in TRANSITIONS.items():
            if source == state and target not in reached:
                reached.add(target)
                frontier.append(target)
    assert reached == set(BulState)


def test_deleted_is_final() -> None:
    """No transition leaves DELETED."""
    assert not [key for key in TRANSITIONS if key[0] is BulState.DELETED]


@given(st.sampled_from([None, *BulState]), st.sampled_from(Trigger))
def test_advance_follows_the_table_or_raises(state: BulState | None, trigger: Trigger) -> None:
    """advance() returns the table's target, and raises InternalInvariantError for anything else."""
    if (state, trigger) in TRANSITIONS:
        assert advance(state, trigger) is TRANSITIONS[(state, trigger)]
    else:
        with pytest.raises(InternalInvariantError):
            advance(state, trigger)


def test_dhcp_support_mode_relay_is_passed_to_the_dhcp_side() -> None:
    """RFC 5844 §3.3.4: S=0 from the LMA means relay, S=1 or no option means serve."""
    h = MagHarness()
    h.attach(MAC_DUAL)
    (offer,) = of_type(h.reply(ipv4=HOA, ipv4_router=ROUTER, dhcp_server_mode=False), OfferIpv4)
    assert offer.relay is True
    h2 = MagHarness()
    h2.attach(MAC_DUAL)
    (served,) = of_type(h2.reply(ipv4=HOA, ipv4_router=ROUTER, dhcp_server_mode=True), OfferIpv4)
    assert served.relay is False


def test_mn_registered_reports_the_pbu_to_pba_round_trip() -> None:
    """The info line an operator (and the lab) reads: PBU out to PBA in, on the engine's clock."""
    h = MagHarness()
    h.attach(now=T0)
    actions = h.reply(now=T0 + 0.0042)
    (registered,) = [a for a in actions if getattr(a, 'event', None) == 'mn-registered']
    assert registered.fields['pbu_pba_ms'] == 4.2
    assert str(registered.fields['hnps']) == str([str(HNP1)])  # formatted when written, as before


def test_round_trip_runs_from_the_moment_the_runtime_sent_the_pbu() -> None:
    """MessageSent moves the start from the engine's decision to the PBU on the wire; a report
    of an older PBU of the entry (a retransmission's predecessor) or of an unknown one does not."""
    h = MagHarness()
    h.attach(now=T0)
    pbu = h.last
    assert h.feed(MessageSent(LMAA, pbu), now=T0 + 0.0005) == []
    assert h.feed(MessageSent(LMAA, replace(pbu, sequence=(pbu.sequence + 7) % 65536)), now=T0 + 0.001) == []
    actions = h.reply(now=T0 + 0.0021)
    (registered,) = [a for a in actions if getattr(a, 'event', None) == 'mn-registered']
    assert registered.fields['pbu_pba_ms'] == 1.6
    assert h.mag.stats.snapshot()['round-trip-ms'] == {'last': 1.6, 'median': 1.6, 'max': 1.6, 'samples': 1}
    h.mag.stats.clear()
    assert h.mag.stats.snapshot()['round-trip-ms'] == {} and not h.mag.stats.received


def test_round_trip_samples_are_bounded_and_summarised() -> None:
    from pmiprouter.core.stats import ROUND_TRIP_SAMPLES, Stats

    stats = Stats()
    for ms in range(ROUND_TRIP_SAMPLES + 5):
        stats.round_trips_ms.append(float(ms))
    summary = stats.round_trip_summary()
    assert summary['samples'] == ROUND_TRIP_SAMPLES and summary['last'] == summary['max'] == ROUND_TRIP_SAMPLES + 4.0
    assert summary['median'] == (5 + ROUND_TRIP_SAMPLES + 4) / 2  # the oldest five were dropped
