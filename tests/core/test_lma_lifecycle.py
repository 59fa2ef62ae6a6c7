"""LMA: de-registration hold, revival, expiry, the HI=4 wait, and the other messages (RFC 5213 §5.3.5, §5.4.1)."""

from __future__ import annotations

from ipaddress import IPv6Address

from hypothesis import given
from hypothesis import strategies as st

from pmiprouter.core.actions import SendMessage
from pmiprouter.core.binding_cache import TRANSITIONS, BceState, Trigger, advance
from pmiprouter.core.errors import InternalInvariantError
from pmiprouter.core.events import MalformedReceived, MessageReceived
from pmiprouter.core.lma import LocalMobilityAnchor
from pmiprouter.mh import BAStatus, BEStatus, BindingError, BindingUpdate, BUFlags, Heartbeat, RestartCounter, UnknownMHType
from tests.core.harness import LMAA, MAG1, MAG2, T0, Harness, only_pba, pbas, pbu, policy

HNP = ('2001:db8:aaaa::/64',)


def dereg(seq: int, ts: float) -> BindingUpdate:
    return pbu(seq=seq, lifetime=0, ts=ts, hnps=HNP, hi=4)


def test_deregistration_answers_at_once_and_holds_the_entry() -> None:
    """Lifetime 0: PBA 0 right away, routes removed (data dropped), entry deleted after MinDelayBeforeBCEDelete."""
    h = Harness()
    h.send(pbu())
    pba = only_pba(h.send(dereg(2, T0 + 1), T0 + 1))
    assert pba.status == 0 and pba.lifetime_s == 0
    assert h.dataplane[-1].remove_routes and not h.dataplane[-1].remove_tunnels
    assert h.lma.bindings()[0].state is BceState.DEREGISTERED
    h.advance(T0 + 10.9)
    assert h.lma.bindings()
    h.advance(T0 + 11.0)
    assert not h.lma.bindings() and not h.lma.tunnel_users
    assert h.dataplane[-1].remove_tunnels and not h.dataplane[-1].remove_routes  # routes went at de-registration


def test_new_pbu_during_the_hold_revives_the_entry() -> None:
    """A PBU from the new MAG during MinDelayBeforeBCEDelete keeps the session and its prefix."""
    h = Harness()
    h.send(pbu())
    h.send(dereg(2, T0 + 1), T0 + 1)
    pba = only_pba(h.send(pbu(seq=3, ts=T0 + 2, hnps=HNP, hi=3), T0 + 2, src=MAG2))
    assert pba.status == 0 and h.lma.bindings()[0].state is BceState.ACTIVE
    assert h.dataplane[-1].ensure_routes[0].tunnel.remote == MAG2
    h.advance(T0 + 20)
    assert h.lma.bindings(), 'the delete timer must have been cancelled'


def test_deregistration_from_another_mag_is_ignored() -> None:
    """Only the serving MAG may de-register (§5.3.5): no PBA, entry untouched."""
    h = Harness()
    h.send(pbu())
    assert pbas(h.send(dereg(2, T0 + 1), T0 + 1, src=MAG2)) == []
    assert h.lma.bindings()[0].state is BceState.ACTIVE


def test_unmatched_deregistration_is_silently_ignored() -> None:
    """A lifetime-0 PBU for no session gets no answer."""
    assert pbas(Harness().send(dereg(1, T0))) == []


def test_lifetime_expiry_deletes_the_session() -> None:
    """Without renewal the binding dies at its lifetime; addresses and tunnel go with it."""
    h = Harness()
    h.send(pbu(lifetime=40))
    h.advance(T0 + 39)
    assert h.lma.bindings()
    h.advance(T0 + 40)
    assert not h.lma.bindings() and h.lma.sessions.addresses.prefix_pools[0].in_use == 0


def test_handoff_state_unknown_waits_for_the_old_mags_deregistration() -> None:
    """HI=4 with one existing session: the PBU waits; the old MAG's de-registration makes it a handoff."""
    h = Harness()
    h.send(pbu())
    parked = h.send(pbu(seq=2, ts=T0 + 0.1, hi=4, mac=None), T0 + 0.1, src=MAG2)
    assert pbas(parked) == []
    actions = h.send(dereg(3, T0 + 0.2), T0 + 0.2)
    answers = pbas(actions)
    assert [int(p.status) for p in answers] == [0, 0]
    assert str(answers[1].options[1].network) == HNP[0]  # type: ignore[attr-defined]
    assert h.lma.bindings()[0].proxy_coa == MAG2 and len(h.lma.bindings()) == 1


def test_handoff_state_unknown_creates_a_new_session_after_the_wait() -> None:
    """No de-registration within MaxDelayBeforeNewBCEAssign: a second session with a new prefix."""
    h = Harness()
    h.send(pbu())
    h.send(pbu(seq=2, ts=T0 + 0.1, hi=4, mac=None), T0 + 0.1, src=MAG2)
    assert pbas(h.advance(T0 + 1.5)) == []
    pba = only_pba(h.advance(T0 + 1.6))
    assert pba.status == 0 and str(pba.options[1].network) == '2001:db8:aaaa:1::/64'  # type: ignore[attr-defined]
    assert len(h.lma.bindings()) == 2


def test_wait_can_be_switched_off() -> None:
    """With the wait disabled the HI=4 PBU creates its session at once."""
    h = Harness(lma=LocalMobilityAnchor(policy(wait_for_deregistration=False)))
    h.send(pbu())
    assert only_pba(h.send(pbu(seq=2, ts=T0 + 0.1, hi=4, mac=None), T0 + 0.1, src=MAG2)).status == 0


def test_retransmission_while_programming_is_answered_once_with_the_latest_sequence() -> None:
    """A PBU retransmitted before the data plane answered gets one PBA, for the newest sequence."""
    from pmiprouter.core.events import DataplaneApplied

    h = Harness(auto_apply=False)
    h.send(pbu(seq=1))
    assert pbas(h.send(pbu(seq=2, ts=T0 + 0.1, hnps=HNP, hi=5), T0 + 0.1)) == []
    pba = only_pba(h.feed(DataplaneApplied(h.dataplane[0].ticket), T0 + 0.2))
    assert pba.sequence == 2


def test_home_registration_without_p_flag_gets_131() -> None:
    """A client MIPv6 BU reaches the home-agent dispatch point: 131 until the home agent lands."""
    bu = BindingUpdate(7, BUFlags.A | BUFlags.H, 600)
    (send,) = Harness().feed(MessageReceived(MAG1, LMAA, bu), T0)
    assert isinstance(send, SendMessage) and send.message.status == BAStatus.HOME_REGISTRATION_NOT_SUPPORTED  # type: ignore[attr-defined]


def test_heartbeat_request_is_answered_with_restart_counter() -> None:
    """RFC 5847: a Heartbeat Request gets a Response with the same sequence and our Restart Counter."""
    lma = LocalMobilityAnchor(policy(), restart_counter=4)
    (send,) = lma.handle(MessageReceived(MAG1, LMAA, Heartbeat(9)), T0)
    assert send.message == Heartbeat(9, response=True, options=(RestartCounter(4),))  # type: ignore[union-attr]


def test_unknown_mh_type_gets_binding_error_2() -> None:
    """An unknown MH type is counted and answered with Binding Error status 2 (RFC 6275 §9.2)."""
    lma = LocalMobilityAnchor(policy())
    actions = lma.handle(MalformedReceived(MAG1, LMAA, UnknownMHType(8)), T0)
    (send,) = [a for a in actions if isinstance(a, SendMessage)]
    assert send.message == BindingError(BEStatus.UNRECOGNIZED_MH_TYPE_VALUE, IPv6Address(0))
    assert lma.stats.received['malformed'] == 1


@given(st.sampled_from([None, *BceState]), st.sampled_from(list(Trigger)))
def test_transition_table_is_total_or_refuses(state: BceState | None, trigger: Trigger) -> None:
    """Every (state, trigger) pair either follows the table or raises InternalInvariantError."""
    if (state, trigger) in TRANSITIONS:
        assert advance(state, trigger) is TRANSITIONS[(state, trigger)]
    else:
        try:
            advance(state, trigger)
        except InternalInvariantError:
            return
        raise AssertionError('a transition outside the table was allowed')


def test_deleted_is_terminal() -> None:
    """Nothing leaves DELETED."""
    assert not [key for key in TRANSITIONS if key[0] is BceState.DELETED]


def test_selective_ipv4_deregistration_keeps_the_ipv6_part() -> None:
    """Lifetime 0 with only the IPv4 HoA Request releases the IPv4 address; the prefix stays (RFC 5844 §3.1.2.5)."""
    from pmiprouter.mh import IPv4HomeAddressReply
    from tests.core.harness import ipv4_request

    h = Harness()
    h.send(pbu(extra=(ipv4_request(),)))
    address = h.lma.bindings()[0].ipv4
    assert address is not None
    pba = only_pba(h.send(pbu(seq=2, lifetime=0, ts=T0 + 1, hnps=(), hi=4, extra=(ipv4_request(str(address.ip), 24),)), T0 + 1))
    reply = pba.option(IPv4HomeAddressReply)
    assert pba.status == 0 and reply is not None and reply.status == 0 and reply.address == address.ip
    (entry,) = h.lma.bindings()
    assert entry.state is BceState.ACTIVE and entry.ipv4 is None and entry.hnps
    assert h.dataplane[-1].ensure_routes[0].ipv4_hoa is None and h.lma.sessions.addresses.ipv4_pools[0].in_use == 0


def test_selective_ipv6_deregistration_keeps_the_ipv4_part() -> None:
    """Lifetime 0 with only the HNPs releases the prefixes and keeps the IPv4 HoA."""
    from tests.core.harness import ipv4_request

    h = Harness()
    h.send(pbu(extra=(ipv4_request(),)))
    only_pba(h.send(pbu(seq=2, lifetime=0, ts=T0 + 1, hnps=HNP, hi=4), T0 + 1))
    (entry,) = h.lma.bindings()
    assert entry.hnps == () and entry.ipv4 is not None and h.lma.sessions.addresses.prefix_pools[0].in_use == 0
