"""LMA: a MAG's shared tunnel is counted per binding, created with the first and removed with the last.

The count replaced a set of binding ids per tunnel (memory per binding); these tests pin that
no path counts a binding twice or releases a tunnel it does not use.
"""

from __future__ import annotations

from pmiprouter.core.binding_cache import BceState
from tests.core.harness import MAG1, MAG2, T0, Harness, only_pba, pbu

MN2 = dict(nai='mn2@example.com', mac='02:00:00:00:00:02')


def test_two_mns_share_one_tunnel_created_once_and_removed_with_the_last() -> None:
    h = Harness()
    h.send(pbu())
    first = h.dataplane[-1]
    h.send(pbu(**MN2))  # type: ignore[arg-type]
    second = h.dataplane[-1]
    assert len(first.ensure_tunnels) == 1 and second.ensure_tunnels == ()
    tunnel = first.ensure_tunnels[0]
    assert h.lma.tunnel_users == {tunnel: 2}
    assert all(entry.tunnel is tunnel for entry in h.lma.bindings())
    h.advance(T0 + 600)  # both lifetimes end
    removed = [t for change in h.dataplane for t in change.remove_tunnels]
    assert removed == [tunnel] and h.lma.tunnel_users == {}


def test_handoff_moves_the_count_and_keeps_the_old_tunnel_for_its_other_mn() -> None:
    h = Harness()
    h.send(pbu())
    h.send(pbu(**MN2))  # type: ignore[arg-type]
    old = h.dataplane[-2].ensure_tunnels[0]
    h.send(pbu(seq=2, ts=T0 + 1, hi=2), T0 + 1, src=MAG2)  # MN1 moves to MAG2
    move = h.dataplane[-1]
    assert len(move.ensure_tunnels) == 1 and move.ensure_tunnels[0].remote == MAG2 and move.remove_tunnels == ()
    assert h.lma.tunnel_users == {old: 1, move.ensure_tunnels[0]: 1}
    h.send(pbu(seq=3, ts=T0 + 2, hi=2), T0 + 2, src=MAG1)  # and back: MAG2's tunnel goes, MAG1's is reused
    back = h.dataplane[-1]
    assert back.ensure_tunnels == () and back.remove_tunnels == move.ensure_tunnels
    assert h.lma.tunnel_users == {old: 2}


def test_revival_on_the_same_mag_does_not_count_the_binding_twice() -> None:
    h = Harness()
    h.send(pbu())
    tunnel = h.dataplane[-1].ensure_tunnels[0]
    assert only_pba(h.send(pbu(seq=2, lifetime=0, ts=T0 + 1, hi=4), T0 + 1)).status == 0
    assert h.lma.bindings()[0].state is BceState.DEREGISTERED and h.lma.tunnel_users == {tunnel: 1}
    assert only_pba(h.send(pbu(seq=3, ts=T0 + 2), T0 + 2)).status == 0  # revived within MinDelayBeforeBCEDelete
    assert h.lma.tunnel_users == {tunnel: 1}
    h.send(pbu(seq=4, lifetime=0, ts=T0 + 3, hi=4), T0 + 3)
    h.advance(T0 + 20)
    assert h.lma.tunnel_users == {} and h.dataplane[-1].remove_tunnels == (tunnel,)
