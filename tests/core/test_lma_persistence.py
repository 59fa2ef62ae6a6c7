"""LMA bindings survive a restart: export, restore with the lifetime left, addresses still taken."""

from __future__ import annotations

import pytest

from pmiprouter.core.actions import ApplyDataplane, Log, StartTimer
from pmiprouter.core.lma import LocalMobilityAnchor
from pmiprouter.mh import HomeNetworkPrefix
from tests.core.harness import T0, Harness, ipv4_request, only_pba, pbu, policy


def test_restore_recreates_bindings_timers_and_forwarding() -> None:
    """A restored binding keeps its prefix, IPv4 HoA and expiry, and its tunnel and routes are re-programmed."""
    before = Harness()
    before.send(pbu(extra=(ipv4_request(),)))
    records = before.lma.export()
    after = LocalMobilityAnchor(policy())
    actions = after.restore(records, T0 + 100)
    (entry,) = after.bindings()
    assert entry.hnps == before.lma.bindings()[0].hnps and entry.ipv4 == before.lma.bindings()[0].ipv4
    assert StartTimer(('bce-lifetime', entry.binding_id), T0 + 600) in actions
    (apply,) = [a for a in actions if isinstance(a, ApplyDataplane)]
    assert apply.ensure_tunnels and apply.ensure_routes[0].hnps == entry.hnps


def test_restored_addresses_are_not_handed_out_again() -> None:
    """After a restore the next MN gets the next prefix, and new binding ids do not collide."""
    before = Harness()
    before.send(pbu())
    h = Harness(lma=LocalMobilityAnchor(policy()))
    h.feed_actions = h.lma.restore(before.lma.export(), T0 + 1)  # type: ignore[attr-defined]
    pba = only_pba(h.send(pbu(nai='mn2@example.com', mac='00:00:00:00:00:02', ts=T0 + 1), T0 + 1))
    assert pba.option(HomeNetworkPrefix) == HomeNetworkPrefix.of('2001:db8:aaaa:1::/64')
    assert len({e.binding_id for e in h.lma.bindings()}) == 2


def test_expired_and_damaged_records_are_dropped() -> None:
    """Records past their lifetime are skipped; a damaged record is logged and skipped."""
    before = Harness()
    before.send(pbu(lifetime=40))
    records = before.lma.export()
    after = LocalMobilityAnchor(policy())
    actions = after.restore([*records, {'id': 'x'}], T0 + 41)
    assert not after.bindings()
    assert any(isinstance(a, Log) and a.event == 'state-record-dropped' for a in actions)


def test_restored_binding_keeps_its_replay_state() -> None:
    """The last accepted timestamp survives: an older PBU after the restart still gets 157."""
    before = Harness()
    before.send(pbu(ts=T0 + 0.2), T0 + 0.2)
    h = Harness(lma=LocalMobilityAnchor(policy()))
    h.lma.restore(before.lma.export(), T0 + 0.25)
    late = pbu(seq=2, ts=T0 + 0.1, hnps=('2001:db8:aaaa::/64',), hi=5)
    assert only_pba(h.send(late, T0 + 0.25)).status == 157


def test_reconfigure_keeps_bindings_and_applies_new_profiles() -> None:
    """A reloaded policy keeps existing bindings (and their addresses) and admits newly configured MNs."""
    from dataclasses import replace

    from pmiprouter.core.policy import MobileNodeProfile

    h = Harness()
    h.send(pbu())
    assert only_pba(h.send(pbu(nai='new@example.com', mac='00:00:00:00:00:09'))).status == 153
    base = policy()
    h.lma.reconfigure(replace(base, profiles={**base.profiles, b'new@example.com': MobileNodeProfile(b'new@example.com')}))
    pba = only_pba(h.send(pbu(nai='new@example.com', mac='00:00:00:00:00:09', seq=2)))
    assert pba.status == 0 and pba.option(HomeNetworkPrefix) == HomeNetworkPrefix.of('2001:db8:aaaa:1::/64')
    assert len(h.lma.bindings()) == 2


def test_version_1_records_still_restore() -> None:
    """A state file written before the compact rows (one JSON object per binding) restores the same binding."""
    from pmiprouter.core.persistence import ROW_FIELDS, entry_from_record

    before = Harness()
    before.send(pbu(extra=(ipv4_request(),)))
    (row,) = before.lma.export()
    (entry,) = before.lma.bindings()
    version_1 = dict(zip(ROW_FIELDS, row))  # what the previous release wrote, addresses as text:
    version_1.update(hnps=[str(p) for p in entry.hnps], ipv4=str(entry.ipv4), ipv4_router=str(entry.ipv4_router),
                     expires_at=entry.expires_at, registered_at=entry.registered_at)  # times as numbers
    assert entry_from_record(version_1) == entry_from_record(row) == entry
    with pytest.raises(ValueError, match='columns'):
        entry_from_record(row[:-1])
