"""The MAG answering Binding Revocation (RFC 5846 §9.2) and `clear ... mag binding`, explicit time."""

from __future__ import annotations

from pmiprouter.core.actions import ApplyDataplane, SendMessage
from pmiprouter.core.binding_update_list import BulState
from pmiprouter.core.events import MessageReceived, Transport
from pmiprouter.core.mag_events import MobileNodeDetached, RevokeIpv4, RouterSolicitationReceived
from pmiprouter.core.revocation import BRI_TIMER
from pmiprouter.mh.iana import BRAStatus, RevocationTrigger
from pmiprouter.mh.messages import BindingRevocationAcknowledgement, BindingRevocationIndication
from pmiprouter.mh.options_mipv6 import MobileNodeIdentifier
from pmiprouter.mh.options_pmip import HomeNetworkPrefix
from tests.core.harness import LMAA, LMAA4, MAG1, T0
from tests.core.mag_harness import ETH, HNP1, HNP2, HOA, MAC1, MAC2, MAC_DUAL, MAC_STATIC, ROUTER, MagHarness, pbus, ras
from tests.core.test_pair import Pair

MN1 = MobileNodeIdentifier.nai('mn1@example.com')


def bri(
    trigger: int = RevocationTrigger.ADMINISTRATIVE_REASON,
    mn_id: MobileNodeIdentifier | None = MN1,
    prefixes: tuple = (),
    sequence: int = 77,
    **flags: bool,
) -> BindingRevocationIndication:
    options = ([mn_id] if mn_id is not None else []) + [HomeNetworkPrefix.of(p) for p in prefixes]
    return BindingRevocationIndication(trigger, sequence, options=tuple(options), **flags)


def revoke(h: MagHarness, message: BindingRevocationIndication, now: float = T0 + 5, src: object = LMAA) -> list:
    return h.feed(MessageReceived(src, MAG1, message, Transport.IPV6), now)  # type: ignore[arg-type]


def the_bra(actions: list) -> SendMessage:
    (send,) = [a for a in actions if isinstance(a, SendMessage) and isinstance(a.message, BindingRevocationAcknowledgement)]
    return send


def test_bri_removes_binding_withdraws_prefix_and_answers_success() -> None:
    h = MagHarness()
    h.registered()
    out = revoke(h, bri(prefixes=(HNP1,)))
    send = the_bra(out)
    assert (send.dst, send.src) == (LMAA, MAG1)
    reply = send.message
    assert reply.status == BRAStatus.SUCCESS and reply.sequence == 77 and reply.proxy and not reply.global_
    assert reply.option(MobileNodeIdentifier) == MN1
    (ra,) = ras(out)
    assert ra.prefixes == (HNP1,) and ra.lifetime == 0 and ra.router_lifetime == 0
    (removal,) = [a for a in out if isinstance(a, ApplyDataplane)]
    assert removal.remove_routes and removal.remove_tunnels
    assert h.mag.entries() == [] and not h.timers  # every timer of the entry cancelled
    assert pbus(out) == []  # no de-registration: the LMA already let go
    assert h.mag.stats.received['bri'] == 1 and h.mag.stats.sent['bra'] == 1 and h.mag.stats.bra_status[0] == 1


def test_unknown_binding_gets_status_128() -> None:
    h = MagHarness()
    h.registered()
    assert the_bra(revoke(h, bri(mn_id=MobileNodeIdentifier.nai('nobody@example.com')))).message.status == 128
    assert the_bra(revoke(h, bri(prefixes=(HNP2,)))).message.status == 128  # its prefix is another one
    assert the_bra(revoke(h, bri(), src=LMAA4)).message.status == 128  # not the LMA serving it
    assert len(h.mag.entries()) == 1


def test_refusals_follow_the_trigger_and_flags() -> None:
    h = MagHarness()
    h.registered()
    assert the_bra(revoke(h, bri(trigger=42))).message.status == BRAStatus.REVOCATION_TRIGGER_NOT_SUPPORTED
    assert the_bra(revoke(h, bri(global_=True))).message.status == BRAStatus.REVOCATION_FUNCTION_NOT_SUPPORTED
    assert the_bra(revoke(h, bri(trigger=RevocationTrigger.PER_PEER_POLICY))).message.status == 134
    assert the_bra(revoke(h, bri(mn_id=None))).message.status == BRAStatus.REVOKED_MOBILE_NODES_IDENTITY_REQUIRED
    assert the_bra(revoke(h, bri(proxy=False))).message.status == 134
    reply = the_bra(revoke(h, bri(sequence=5, global_=True))).message
    assert reply.sequence == 5 and reply.global_  # P/V/G and Sequence # copied
    assert len(h.mag.entries()) == 1


def test_administrative_revocation_blocks_reregistration_until_detach() -> None:
    h = MagHarness()
    h.registered()
    revoke(h, bri())
    out = h.feed(RouterSolicitationReceived(ETH, MAC1), T0 + 6)
    assert pbus(out) == [] and h.mag.entries() == [] and h.mag.stats.events['attach-revoked'] == 1
    h.feed(MobileNodeDetached(ETH, MAC1), T0 + 7)
    assert len(pbus(h.feed(RouterSolicitationReceived(ETH, MAC1), T0 + 8))) == 1


def test_handover_trigger_lets_the_mn_come_back() -> None:
    h = MagHarness()
    h.registered()
    revoke(h, bri(trigger=RevocationTrigger.INTER_MAG_HANDOVER_SAME_ACCESS_TYPE))
    assert h.mag.entries() == []
    assert len(pbus(h.feed(RouterSolicitationReceived(ETH, MAC1), T0 + 6))) == 1


def test_out_of_sync_trigger_registers_again_at_once() -> None:
    h = MagHarness()
    h.registered()
    out = revoke(h, bri(trigger=RevocationTrigger.POSSIBLE_OUT_OF_SYNC_BCE_STATE))
    (pbu,) = pbus(out)
    assert pbu.lifetime_s > 0
    (entry,) = h.mag.entries()
    assert entry.state is BulState.REGISTERING


def test_per_peer_global_revocation_ends_every_binding_with_that_lma() -> None:
    h = MagHarness()
    h.registered(MAC1)
    h.attach(MAC2, T0)
    h.reply(now=T0, prefixes=(HNP2,))
    out = revoke(h, bri(trigger=RevocationTrigger.PER_PEER_POLICY, mn_id=None, global_=True))
    reply = the_bra(out).message
    assert reply.status == 0 and reply.global_ and reply.option(MobileNodeIdentifier) is None
    assert h.mag.entries() == [] and len(ras(out)) == 2


def test_realm_revocation_matches_the_realm_only() -> None:
    h = MagHarness()
    h.registered(MAC1)
    realm = MobileNodeIdentifier.nai('@example.org')
    assert the_bra(revoke(h, bri(trigger=129, mn_id=realm, global_=True))).message.status == 128
    realm = MobileNodeIdentifier.nai('@EXAMPLE.com')
    assert the_bra(revoke(h, bri(trigger=129, mn_id=realm, global_=True))).message.status == 0
    assert h.mag.entries() == []


def test_ipv4_only_revocation_keeps_the_prefixes() -> None:
    h = MagHarness()
    h.attach(MAC_DUAL, T0)
    h.reply(now=T0, ipv4=HOA, ipv4_router=ROUTER)
    (entry,) = h.mag.entries()
    assert entry.ipv4 == HOA
    out = revoke(h, bri(mn_id=MobileNodeIdentifier.nai('dual@example.com'), ipv4_only=True))
    assert the_bra(out).message.status == 0 and the_bra(out).message.ipv4_only
    assert [a for a in out if isinstance(a, RevokeIpv4)]
    (entry,) = h.mag.entries()
    assert entry.ipv4 is None and entry.hnps and entry.state is BulState.REGISTERED


def test_clear_deregisters_then_cleans_up() -> None:
    h = MagHarness()
    h.registered(MAC1)
    count, actions = h.mag.clear('mn1@example.com', T0 + 5)
    assert count == 1
    (dereg,) = pbus(actions)
    assert dereg.lifetime_s == 0
    (ra,) = ras(actions)
    assert ra.lifetime == 0
    assert h.mag.clear('nobody@example.com', T0 + 5)[0] == 0
    for action in actions:
        h.timers.update({action.key: action.at} if hasattr(action, 'at') else {})
    h.advance(T0 + 7)  # no PBA: cleaned up after INITIAL_BINDACK_TIMEOUT
    assert h.mag.entries() == [] and h.mag.stats.events['cleared'] == 1


def test_lma_clear_makes_the_mag_drop_the_binding_end_to_end() -> None:
    """Real LMA and MAG engines through the codec: BRI, BRA, both sides clean."""
    pair = Pair.build()
    pair.attach('mag1', T0)
    hnps = pair.binding().hnps
    count, actions = pair.lma.revoke(None, T0 + 10)
    assert count == 1
    pair.transfer('lma', actions, T0 + 10)
    assert pair.lma.bindings() == [] and pair.mags['mag1'].entries() == []
    assert pair.ras('mag1')[-1].prefixes == hnps and pair.ras('mag1')[-1].lifetime == 0
    assert pair.forwarding('mag1') == (0, 0) and pair.forwarding('lma') == (0, 0) and not pair.failures
    assert pair.lma.stats.received['bra'] == 1 and not any(k[1][0] == BRI_TIMER for k in pair.timers)


def test_lost_bra_still_cleans_up_both_sides() -> None:
    """The BRA is lost: the MAG is clean at once, the LMA after its one retry (answered 128)."""
    pair = Pair.build()
    pair.attach('mag1', T0)
    lost = []

    def drop(send: SendMessage) -> bool:
        if isinstance(send.message, BindingRevocationAcknowledgement) and not lost:
            lost.append(send)
            return True
        return False

    pair.drop = drop
    _, actions = pair.lma.revoke('mn1@example.com', T0 + 10)
    pair.transfer('lma', actions, T0 + 10)
    assert lost and pair.mags['mag1'].entries() == [] and len(pair.lma.bindings()) == 1
    pair.advance(T0 + 11)  # retransmitted BRI: the MAG no longer knows it -> 128, the LMA deletes
    assert pair.lma.bindings() == [] and pair.lma.stats.bra_status[128] == 1


def test_revoking_one_mn_leaves_the_other_mag_alone() -> None:
    pair = Pair.build()
    pair.attach('mag1', T0)
    pair.attach('mag2', T0, mac=MAC2)
    _, actions = pair.lma.revoke('mn1@example.com', T0 + 10)
    pair.transfer('lma', actions, T0 + 10)
    assert [b.mn_id.text for b in pair.lma.bindings()] == ['mn2@example.com']
    assert pair.mags['mag2'].entries() and not pair.mags['mag1'].entries()


def test_lma_revokes_every_binding_of_a_mag_in_one_global_bri() -> None:
    """G=1, trigger Per-Peer Policy, no MN-ID: the MAG drops all of them, the LMA deletes all on one BRA."""
    pair = Pair.build()
    pair.attach('mag1', T0)
    pair.attach('mag1', T0, mac=MAC2)
    pair.attach('mag2', T0, mac=MAC_STATIC)
    count, actions = pair.lma.revoke_mag(MAG1, T0 + 10)
    assert count == 2
    (bri_sent,) = [a for a in actions if isinstance(a, SendMessage)]
    assert bri_sent.message.global_ and bri_sent.message.option(MobileNodeIdentifier) is None
    pair.transfer('lma', actions, T0 + 10)
    assert [b.mn_id.text for b in pair.lma.bindings()] == ['static@example.com']
    assert pair.mags['mag1'].entries() == [] and pair.mags['mag2'].entries()
    assert pair.lma.stats.bra_status[0] == 1 and pair.forwarding('mag1') == (0, 0)
