"""LMA-initiated binding revocation with explicit time (RFC 5846 §7, §8.1, §11)."""

from __future__ import annotations

from ipaddress import IPv4Address

from pmiprouter.core.actions import ApplyDataplane, SendMessage, StartTimer
from pmiprouter.core.events import MessageReceived, Transport
from pmiprouter.core.revocation import BRI_TIMER, TriggerClass, classify
from pmiprouter.mh import decode, encode
from pmiprouter.mh.iana import BRAStatus, RevocationTrigger
from pmiprouter.mh.messages import BindingRevocationAcknowledgement, BindingRevocationIndication
from pmiprouter.mh.options_mipv6 import MobileNodeIdentifier
from pmiprouter.mh.options_pmip import HomeNetworkPrefix
from tests.core.harness import LMAA, LMAA4, MAG1, MAG1_V4, MAG2, T0, Harness, ipv4_request, pbu


def bris(actions: list) -> list[SendMessage]:
    return [a for a in actions if isinstance(a, SendMessage) and isinstance(a.message, BindingRevocationIndication)]


def registered(h: Harness, nai: str = 'mn1@example.com', src: object = MAG1) -> None:
    h.send(pbu(nai=nai), T0, src=src)


def revoke(h: Harness, nai: str | None, now: float) -> tuple[int, list]:
    """`LocalMobilityAnchor.revoke`, with its timers kept by the harness."""
    count, actions = h.lma.revoke(nai, now)
    for action in actions:
        if isinstance(action, StartTimer):
            h.timers[action.key] = action.at
    return count, actions


def bra(bri: BindingRevocationIndication, status: int = BRAStatus.SUCCESS) -> BindingRevocationAcknowledgement:
    return BindingRevocationAcknowledgement(status, bri.sequence, bri.proxy, bri.ipv4_only, bri.global_)


def test_revoke_sends_a_bri_naming_the_mn_and_its_prefix() -> None:
    """A per-MN BRI: P=1, trigger Administrative Reason, MN-ID and HNP options, to the Proxy-CoA."""
    h = Harness()
    registered(h)
    (entry,) = h.lma.bindings()
    count, actions = h.lma.revoke('mn1@example.com', T0 + 1)
    assert count == 1
    (send,) = bris(actions)
    assert (send.dst, send.src, send.transport) == (MAG1, LMAA, Transport.IPV6)
    bri = send.message
    assert bri.proxy and not bri.global_ and not bri.ipv4_only
    assert bri.trigger == RevocationTrigger.ADMINISTRATIVE_REASON
    assert bri.option(MobileNodeIdentifier) == MobileNodeIdentifier.nai('mn1@example.com')
    assert [o.network for o in bri.options_of(HomeNetworkPrefix)] == list(entry.hnps)
    assert decode(encode(bri)) == bri  # the codec carries it unchanged
    assert h.lma.stats.sent['bri'] == 1


def test_bra_deletes_the_binding_and_frees_everything() -> None:
    """On the BRA the binding, its routes, its tunnel and its prefix go (the pool gets it back)."""
    h = Harness()
    registered(h)
    pool = h.lma.sessions.addresses.prefix_pools[0]
    assert pool.in_use == 1
    _, actions = revoke(h, 'mn1@example.com', T0 + 1)
    (send,) = bris(actions)
    assert len(h.lma.bindings()) == 1  # still there until the MAG answers
    out = h.feed(MessageReceived(MAG1, LMAA, bra(send.message)), T0 + 1.2)
    assert h.lma.bindings() == [] and pool.in_use == 0 and h.lma.tunnel_users == {}
    (change,) = [a for a in out if isinstance(a, ApplyDataplane)]
    assert change.remove_routes and change.remove_tunnels
    assert h.lma.stats.received['bra'] == 1 and h.lma.stats.bra_status[0] == 1
    assert h.lma.stats.events['revocation-acknowledged'] == 1


def test_bri_retransmitted_once_then_binding_deleted_without_bra() -> None:
    """No BRA: one retransmission after InitMINDelayBRIs (1 s), then clean-up MAX_BRACK_TIMEOUT (2 s) later."""
    h = Harness()
    registered(h)
    _, actions = revoke(h, None, T0 + 10)
    (first,) = bris(actions)
    key = (BRI_TIMER, first.message.sequence)
    assert h.timers[key] == T0 + 11
    retransmitted = bris(h.advance(T0 + 11))
    assert [b.message for b in retransmitted] == [first.message]  # the same BRI, same Sequence #
    assert h.timers[key] == T0 + 13
    assert len(h.lma.bindings()) == 1
    h.advance(T0 + 12.9)
    assert len(h.lma.bindings()) == 1
    h.advance(T0 + 13)
    assert h.lma.bindings() == [] and h.lma.stats.sent['bri'] == 2
    assert h.lma.stats.events['revocation-unanswered'] == 1
    assert key not in h.timers


def test_bra_after_giving_up_or_from_another_node_is_discarded() -> None:
    """§8.1: a BRA with no outstanding BRI (or from the wrong MAG) changes nothing."""
    h = Harness()
    registered(h)
    registered(h, 'mn2@example.com')
    _, actions = h.lma.revoke('mn1@example.com', T0 + 1)
    (send,) = bris(actions)
    h.feed(MessageReceived(MAG2, LMAA, bra(send.message)), T0 + 1.1)  # not the MAG we asked
    assert len(h.lma.bindings()) == 2 and h.lma.stats.events['bra-unmatched'] == 1
    stray = BindingRevocationAcknowledgement(BRAStatus.SUCCESS, (send.message.sequence + 7) % 65536)
    h.feed(MessageReceived(MAG1, LMAA, stray), T0 + 1.2)
    assert len(h.lma.bindings()) == 2


def test_unknown_binding_status_still_deletes() -> None:
    """BRA 128 (the MAG has no such binding): the LMA's entry is stale, so it goes too."""
    h = Harness()
    registered(h)
    _, actions = h.lma.revoke('mn1@example.com', T0 + 1)
    (send,) = bris(actions)
    h.feed(MessageReceived(MAG1, LMAA, bra(send.message, BRAStatus.BINDING_DOES_NOT_EXIST)), T0 + 1.1)
    assert h.lma.bindings() == [] and h.lma.stats.bra_status[128] == 1


def test_revoke_all_sends_one_bri_per_binding_with_distinct_sequences() -> None:
    h = Harness()
    registered(h)
    registered(h, 'mn2@example.com', src=MAG2)
    count, actions = h.lma.revoke(None, T0 + 1)
    sent = bris(actions)
    assert count == 2 and {s.dst for s in sent} == {MAG1, MAG2}
    assert len({s.message.sequence for s in sent}) == 2
    # Clearing again while the BRIs are out sends nothing new.
    count, again = h.lma.revoke(None, T0 + 1.5)
    assert count == 2 and bris(again) == []


def test_binding_that_moved_during_revocation_survives() -> None:
    """The MN handed over to MAG2 before MAG1's BRA came: the new binding is not deleted."""
    h = Harness()
    registered(h)
    _, actions = h.lma.revoke('mn1@example.com', T0 + 1)
    (send,) = bris(actions)
    (entry,) = h.lma.bindings()
    h.send(pbu(seq=2, hnps=tuple(str(p) for p in entry.hnps), hi=2, ts=T0 + 2), T0 + 2, src=MAG2)
    assert h.lma.bindings()[0].proxy_coa == MAG2
    h.feed(MessageReceived(MAG1, LMAA, bra(send.message)), T0 + 2.1)
    assert len(h.lma.bindings()) == 1


def test_bri_over_ipv4_transport_goes_back_by_udp() -> None:
    """RFC 5846 §4 / RFC 5844: same UDP encapsulation and address/port pair as the PBUs."""
    h = Harness()
    h.send(pbu(extra=(ipv4_request(),)), T0, src=MAG1_V4, transport=Transport.UDP4, sport=40000)
    _, actions = h.lma.revoke(None, T0 + 1)
    (send,) = bris(actions)
    assert (send.dst, send.src, send.transport, send.dport) == (MAG1_V4, LMAA4, Transport.UDP4, 40000)
    assert isinstance(send.dst, IPv4Address)


def test_deregistered_binding_is_removed_at_once() -> None:
    """A binding in its MinDelayBeforeBCEDelete wait has no MAG to tell: it goes without a BRI."""
    h = Harness()
    registered(h)
    (entry,) = h.lma.bindings()
    h.send(pbu(seq=2, lifetime=0, hnps=tuple(str(p) for p in entry.hnps), hi=4, ts=T0 + 1), T0 + 1)
    count, actions = h.lma.revoke(None, T0 + 2)
    assert count == 1 and bris(actions) == [] and h.lma.bindings() == []


def test_lma_refuses_mag_initiated_revocation() -> None:
    h = Harness()
    bri = BindingRevocationIndication(RevocationTrigger.PER_PEER_POLICY, 9, global_=True)
    out = h.feed(MessageReceived(MAG1, LMAA, bri), T0)
    (send,) = [a for a in out if isinstance(a, SendMessage)]
    assert send.message.status == BRAStatus.REVOCATION_FUNCTION_NOT_SUPPORTED and send.message.sequence == 9


def test_trigger_classes() -> None:
    assert classify(1) is TriggerClass.PER_MN and classify(7) is TriggerClass.PER_MN
    assert classify(128) is TriggerClass.GLOBAL and classify(129) is TriggerClass.GLOBAL
    assert classify(8) is TriggerClass.UNSUPPORTED and classify(250) is TriggerClass.UNSUPPORTED
