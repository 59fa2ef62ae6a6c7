"""`BaseDataplane.batched`: the route and rule operations of many binding changes sent as one list.

Without failures a batch sends exactly the operations the changes send one at a time, in the same
order, in one call, and ends in the same world. With a tunnel's device gone in the middle of a
batch, the changes that needed it are reported failed and undone as far as later changes of the
batch left them, and the books stay exact: removing every binding afterwards leaves nothing.
"""

from __future__ import annotations

import gc
from ipaddress import IPv6Network
from typing import Any

import pytest
from hypothesis import given, settings, strategies as st

from pmiprouter.dataplane.interface import DataplaneError, DataplaneState, MnRouteSpec
from pmiprouter.dataplane.memory import MemoryWorld
from pmiprouter.dataplane.naming import tunnel_ifname
from tests.dataplane.test_bookkeeping import TUNNELS, Recording, ours, specs

changes = st.lists(st.tuples(st.sampled_from(['ensure', 'ensure', 'remove']), specs), max_size=30)


def fresh() -> Recording:
    world = MemoryWorld()
    for ifname in ('acc0', 'realm0'):
        world.add_link(ifname, 'veth')
    backend = Recording(world)
    for tunnel in TUNNELS:
        backend.ensure_tunnel(tunnel)
    backend.batches.clear()
    return backend


def apply(backend: Recording, action: str, spec: MnRouteSpec) -> None:
    (backend.ensure_mn_routes if action == 'ensure' else backend.remove_mn_routes)(spec)


@settings(max_examples=300, deadline=None)
@given(changes, st.lists(st.integers(1, 8), min_size=1, max_size=10))
def test_a_batch_sends_what_its_changes_send_one_by_one(steps: list[tuple[str, MnRouteSpec | None]], sizes: list[int]) -> None:
    batched, alone = fresh(), fresh()
    steps = [(action, spec) for action, spec in steps if spec is not None]
    at = 0
    for size in sizes * 4:
        group = steps[at:at + size]
        at += size
        if not group:
            break
        calls = len(batched.batches)
        with batched.batched() as held:
            for index, (action, spec) in enumerate(group):
                held.change = index
                apply(batched, action, spec)
        sent = [op for ops in alone.batches for op in ops]
        for action, spec in group:
            apply(alone, action, spec)
        expected = [op for ops in alone.batches for op in ops][len(sent):]
        assert [op for ops in batched.batches[calls:] for op in ops] == expected
        assert len(batched.batches) - calls == (1 if expected else 0) and not held.failures
    assert ours(batched.world) == ours(alone.world)
    assert batched.snapshot().mn_routes == alone.snapshot().mn_routes


@settings(max_examples=300, deadline=None)
@given(changes, st.integers(0, 30))
def test_a_batch_with_a_device_gone_reports_and_undoes_its_failures(steps: list[tuple[str, MnRouteSpec | None]], cut: int) -> None:
    backend = fresh()
    steps = [(action, spec) for action, spec in steps if spec is not None]
    broken = tunnel_ifname(TUNNELS[1])
    with backend.batched() as held:
        for index, (action, spec) in enumerate(steps):
            if index == cut:
                backend.world.del_link(broken)  # routes into it fail from here on, when the batch is sent
            held.change = index
            apply(backend, action, spec)
    for index in held.failures:
        action, spec = steps[index]
        assert action == 'ensure' and spec.tunnel == TUNNELS[1]  # only changes that needed the broken device
    if broken not in backend.world.links:
        backend.world.add_link(broken, 'tunnel')
    for spec in list(backend._mns):
        backend.remove_mn_routes(spec)
    assert ours(backend.world) == (set(), set())
    assert not backend._mns and not backend._by_prefix and not backend._route_refs and not backend._rule_refs
    assert not backend._tunnel_users
    for tunnel in TUNNELS:
        backend.remove_tunnel(tunnel)


def test_batches_do_not_nest() -> None:
    backend = fresh()
    with backend.batched(), pytest.raises(DataplaneError, match='nest'), backend.batched():
        raise AssertionError('a nested batch was opened')


class Unreachable(Recording):
    """A backend whose next send fails as a whole (the netlink socket), once."""

    fail_next = True

    def _apply_ops(self, ops: list[Any]) -> list[Any]:  # type: ignore[override]
        if self.fail_next:
            self.fail_next = False
            raise OSError(105, 'No buffer space available')
        return super()._apply_ops(ops)


def test_a_batch_whose_send_raises_leaves_the_backend_ready_for_the_next() -> None:
    world = MemoryWorld()
    backend = Unreachable(world)
    for tunnel in TUNNELS:
        backend.ensure_tunnel(tunnel)
    specs_ = [MnRouteSpec.lma(TUNNELS[0], (IPv6Network(f'2001:db8:b{i}::/64'),), None) for i in range(3)]
    with pytest.raises(OSError), backend.batched() as held:
        held.change = 0
        backend.ensure_mn_routes(specs_[0])
    with backend.batched() as held:  # not "batches do not nest": the first one is over
        held.change = 0
        backend.ensure_mn_routes(specs_[1])
    assert not held.failures and any(route.dst == specs_[1].prefixes[0] for route in ours(world)[0])


class Batching(Recording):
    """The generic path of a backend that sends batches (as the netlink backends do)."""

    sends_batches = True
    refused: frozenset[object] = frozenset()  # destinations whose route additions fail

    def _apply_ops(self, ops: list[Any]) -> list[Any]:
        assert not gc.isenabled(), 'a reconcile runs with the cyclic collector paused'
        bad = [op for op in ops if op.add and getattr(op.obj, 'dst', None) in self.refused]
        failures = super()._apply_ops([op for op in ops if op not in bad])
        return failures + [(op, DataplaneError(f'refused {op.obj}')) for op in bad]


def lma_specs(first: int, count: int, tunnel: int = 0) -> list[MnRouteSpec]:
    return [MnRouteSpec.lma(TUNNELS[tunnel], (IPv6Network(((0x20010DB8 << 96) | (i << 64), 64)),), None)
            for i in range(first, first + count)]


def state(specs_: list[MnRouteSpec]) -> DataplaneState:
    return DataplaneState(tunnels=frozenset(TUNNELS), mn_routes=frozenset(specs_))


def test_reconcile_sends_the_orphans_then_every_mn_as_one_list_each() -> None:
    """A restart's reconcile: the previous run's leftovers nobody wants go in one list of deletions,
    the wanted MNs' routes and their shared rule in one list of additions (one netlink transaction
    each, not one per MN); the world then holds exactly the wanted objects."""
    world = MemoryWorld()
    before = Batching(world)
    before.reconcile(state(lma_specs(0, 30)))
    wanted = lma_specs(20, 300)  # 10 of the old MNs stay, 20 are orphans, 290 are new
    after = Batching(world)
    after.reconcile(state(wanted))
    deletions, additions = after.batches
    assert all(not op.add for op in deletions) and {op.obj.dst for op in deletions} == {s.prefixes[0] for s in lma_specs(0, 20)}
    assert all(op.add for op in additions) and len(additions) == 300 + 1  # a route per MN, one role rule
    routes, rules = ours(world)
    assert {route.dst for route in routes} == {s.prefixes[0] for s in wanted} and len(rules) == 1
    assert gc.isenabled()


def test_reconcile_tries_every_mn_and_raises_the_first_failure_undone() -> None:
    """One MN's route refused in the middle of a reconcile: every other MN is installed, the
    failure is raised after all were tried, and the refused MN is not held (its rule stays, the
    other MNs need it)."""
    world = MemoryWorld()
    backend = Batching(world)
    wanted = lma_specs(0, 50)
    backend.refused = frozenset({wanted[7].prefixes[0]})
    with pytest.raises(DataplaneError, match='refused'):
        backend.reconcile(state(wanted))
    routes, rules = ours(world)
    assert {route.dst for route in routes} == {s.prefixes[0] for s in wanted} - backend.refused
    assert len(rules) == 1 and set(backend.snapshot().mn_routes) == set(wanted) - {wanted[7]}
    assert gc.isenabled()
