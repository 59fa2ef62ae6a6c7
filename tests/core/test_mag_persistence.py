"""The MAG's Binding Update List across a restart: export, restore, NUD probe, renew or de-register."""

from __future__ import annotations

import json

from pmiprouter.core.actions import ApplyDataplane, StartTimer
from pmiprouter.core.binding_update_list import BulState
from pmiprouter.core.mag_events import AttachTrigger, NeighbourReachable, OfferIpv4, ProbeNeighbour, RouterSolicitationReceived
from pmiprouter.core.mag import RESTORE_PROBE_DELAY_S
from pmiprouter.core.mag_signalling import EXPIRY_TIMER, PROBE_TIMER
from pmiprouter.core.seqno import seq_newer
from tests.core.harness import T0
from tests.core.mag_harness import HNP1, HOA, MAC1, MAC2, MAC_DUAL, ROUTER, MagHarness, hi_of, mag_policy, pbus, ras, stamp


def saved(h: MagHarness) -> list[dict]:
    """What the daemon writes: through JSON, as on disk."""
    return json.loads(json.dumps(h.mag.export()))


def restarted(records: list[dict], now: float, **policy: object) -> tuple[MagHarness, list]:
    fresh = MagHarness(policy=mag_policy(**policy))
    actions = fresh.mag.restore(records, now)
    for action in actions:
        if isinstance(action, StartTimer):
            fresh.timers[action.key] = action.at
    return fresh, actions


def test_restore_reinstalls_routes_and_probes_the_mn() -> None:
    h = MagHarness()
    h.registered(MAC1)
    (old,) = h.mag.entries()
    fresh, actions = restarted(saved(h), T0 + 100)
    (entry,) = fresh.mag.entries()
    assert entry.state is BulState.REGISTERED and entry.hnps == (HNP1,) and entry.expires_at == old.expires_at
    (install,) = [a for a in actions if isinstance(a, ApplyDataplane)]
    assert install.ensure_routes[0].prefixes == (HNP1,) and install.ensure_tunnels
    key = entry.entry_id
    assert fresh.timers[(EXPIRY_TIMER, key)] == old.expires_at  # the remaining lifetime, not a new one
    assert not [a for a in actions if isinstance(a, ProbeNeighbour)]  # the link gets a moment first
    out = fresh.advance(T0 + 100 + RESTORE_PROBE_DELAY_S)
    assert [a for a in out if isinstance(a, ProbeNeighbour)] == [ProbeNeighbour(entry.ifname, MAC1)]
    assert fresh.timers[(PROBE_TIMER, key)] == T0 + 100 + RESTORE_PROBE_DELAY_S + fresh.policy.probe_timeout_s
    assert entry.state is BulState.PROBING


def test_reachable_mn_is_renewed_with_later_sequence_and_timestamp() -> None:
    h = MagHarness()
    h.registered(MAC1)
    before = h.last
    fresh, _ = restarted(saved(h), T0 + 100)
    fresh.advance(T0 + 102)
    out = fresh.feed(NeighbourReachable('eth1', MAC1), T0 + 102.5)
    (renewal,) = pbus(out)
    assert hi_of(renewal) == 5 and renewal.lifetime_s > 0
    assert seq_newer(renewal.sequence, before.sequence) and stamp(renewal) > stamp(before)
    out = fresh.reply(now=T0 + 102.6)
    (entry,) = fresh.mag.entries()
    assert entry.state is BulState.REGISTERED and ras(out)[0].prefixes == (HNP1,)


def test_unreachable_mn_is_deregistered() -> None:
    h = MagHarness()
    h.registered(MAC1)
    fresh, _ = restarted(saved(h), T0 + 100)
    out = fresh.advance(T0 + 105.5)  # the probe deadline passes unanswered
    (dereg,) = pbus(out)
    assert dereg.lifetime_s == 0 and hi_of(dereg) == 4
    assert fresh.mag.entries()[0].state is BulState.DEREGISTERING


def test_expired_unconfigured_and_damaged_records_are_dropped() -> None:
    h = MagHarness()
    h.registered(MAC1)
    h.attach(MAC2, T0)
    h.reply(now=T0)
    records = saved(h)
    assert len([r for r in records if r.get('kind') == 'entry']) == 2
    fresh, _ = restarted(records, T0 + 10_000)  # long past expiry
    assert fresh.mag.entries() == []
    profiles = {mac: p for mac, p in mag_policy().profiles.items() if mac != MAC2}
    fresh, _ = restarted(records, T0 + 100, profiles=profiles)
    assert [e.mac for e in fresh.mag.entries()] == [MAC1]
    damaged = [{**records[1], 'hnps': ['not a prefix']}, {'kind': 'entry'}, records[2]]
    fresh, actions = restarted(damaged, T0 + 100)
    assert len(fresh.mag.entries()) == 1
    assert sum(1 for a in actions if getattr(a, 'event', '') == 'state-record-dropped') == 2


def test_registering_and_halted_entries_are_not_saved() -> None:
    h = MagHarness()
    h.attach(MAC1)  # PBU out, no PBA yet
    assert [r['kind'] for r in saved(h)] == ['signalling']


def test_deregistration_in_flight_is_sent_again() -> None:
    h = MagHarness()
    h.registered(MAC1)
    h.mag.clear(None, T0 + 5)
    fresh, actions = restarted(saved(h), T0 + 5.5)
    (dereg,) = pbus(actions)
    assert dereg.lifetime_s == 0
    fresh.advance(T0 + 7)
    assert fresh.mag.entries() == []


def test_ipv4_lease_is_offered_again() -> None:
    h = MagHarness()
    h.attach(MAC_DUAL, T0)
    h.reply(now=T0, ipv4=HOA, ipv4_router=ROUTER)
    fresh, actions = restarted(saved(h), T0 + 50)
    (offer,) = [a for a in actions if isinstance(a, OfferIpv4)]
    assert offer.address == HOA.ip and offer.router == ROUTER
    assert fresh.mag.entries()[0].ipv4 == HOA


def test_new_entries_after_restore_get_fresh_ids() -> None:
    h = MagHarness()
    h.registered(MAC1)
    fresh, _ = restarted(saved(h), T0 + 100)
    fresh.attach(MAC2, T0 + 101)
    restored, new = fresh.mag.entries()
    assert restored.mac == MAC1 and new.mac == MAC2 and new.entry_id > restored.entry_id


def test_mn_heard_on_the_link_renews_at_once() -> None:
    """An answer to the runtime's Echo Request (an attach event) or an RS proves the MN is there."""
    h = MagHarness()
    h.registered(MAC1)
    fresh, _ = restarted(saved(h), T0 + 100)
    (renewal,) = pbus(fresh.attach(MAC1, T0 + 100.2, trigger=AttachTrigger.NEIGHBOUR))
    assert hi_of(renewal) == 5 and fresh.mag.entries()[0].state is BulState.RENEWING
    assert fresh.mag.stats.events['restored-mn-present'] == 1
    assert pbus(fresh.attach(MAC1, T0 + 100.3, trigger=AttachTrigger.NEIGHBOUR)) == []  # once only
    other, _ = restarted(saved(h), T0 + 100)
    out = other.feed(RouterSolicitationReceived('eth1', MAC1), T0 + 100.2)
    assert len(pbus(out)) == 1 and ras(out)[0].prefixes == (HNP1,)
