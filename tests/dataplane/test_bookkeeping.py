"""The base class's bookkeeping against a plain reference: every object counted, as simply as possible.

`base.py` tracks the objects that name a home prefix through the prefix index (no counts) and
counts only the shared ones; the memory backend takes a change without operation objects. The
reference counts every object and builds every operation. Random sequences of bindings coming,
moving and going -- overlapping prefixes, shared tables behind the user-space TUN, prefixes of
length 0 whose route equals a table default, realms, both roles, LMA pools routed once into the
TUN -- must give the same operations, the same world and the same specs.
"""

from __future__ import annotations

from collections import Counter
import dataclasses
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network
from typing import Any

from hypothesis import given, settings, strategies as st

from pmiprouter.dataplane.base import Op
from pmiprouter.dataplane.interface import DataplaneError, MnRouteSpec, Role, RouteEntry, RuleEntry, TunnelMode, TunnelSpec
from pmiprouter.dataplane.memory import MemoryDataplane, MemoryWorld
from pmiprouter.dataplane.naming import LMA_TABLE, TUN_IFNAME, is_our_table, tunnel_ifname
from pmiprouter.dataplane.plan import NO_POOLS, Pools, mn_objects, same_binding

LOCAL = IPv6Address('2001:db8:1::1')
TUNNELS = (TunnelSpec(LOCAL, IPv6Address('2001:db8:1::2'), TunnelMode.IP6_ANY),
           TunnelSpec(LOCAL, IPv6Address('2001:db8:1::3'), TunnelMode.IP6_ANY))
HNPS = (IPv6Network('2001:db8:a1::/64'), IPv6Network('2001:db8:a2::/64'), IPv6Network('::/0'),
        IPv6Network('2001:db8:a1:1::/64'))
HOA = IPv4Address('10.0.0.1')
#: LMA pools: the first and last HNPs' and the IPv4 HoA's (the second HNP and ::/0 need routes of their own).
POOLS = (IPv6Network('2001:db8:a1::/48'), IPv4Network('10.0.0.0/24'))
#: A MAG whose access link has the tunnel's own name: its route for ::/0 is the table's default.
ODD_ACCESS = tunnel_ifname(TUNNELS[0])


class Recording(MemoryDataplane):
    """The memory backend through the generic path (operation objects), recording them."""

    def __init__(self, world: MemoryWorld) -> None:
        super().__init__(world)
        self.batches: list[list[Op]] = []

    def _apply_ops(self, ops: list[Op]) -> list[tuple[Op, Any]]:  # type: ignore[override]
        self.batches.append(list(ops))
        return super()._apply_ops(ops)  # type: ignore[return-value]


class SharedTun:
    """Mixin: every tunnel is carried by the one TUN device, as in the user-space backend."""

    def _create_tunnel(self, spec: TunnelSpec, name: str) -> str:
        return TUN_IFNAME

    def _pool_device(self) -> str:
        return TUN_IFNAME


class SharedRecording(SharedTun, Recording):
    pass


class SharedPlain(SharedTun, MemoryDataplane):
    pass


class Reference:
    """Counts every object of every MN (what base.py did before it spared the counts), and
    applies each change to its own world, which tells it when an addition fails."""

    def __init__(self, dev_of: dict[str, str], world: MemoryWorld, pools: Pools = NO_POOLS) -> None:
        self.dev_of = dev_of
        self.world = world
        self.pools = pools
        self.mns: dict[MnRouteSpec, tuple[tuple[RouteEntry, ...], tuple[RuleEntry, ...]]] = {}
        self.refs: Counter[Any] = Counter()

    def ensure(self, spec: MnRouteSpec) -> list[tuple[list[Op], list[Op]]]:
        """The batches (additions, deletions) of one ensure: the change, then its undo if an
        addition failed (the displaced bindings come back, what only `spec` needed goes)."""
        name = tunnel_ifname(spec.tunnel)
        displaced = [held for held in self.mns if held != spec and same_binding(held, spec)]
        new = spec not in self.mns
        adds = self.count(spec, *mn_objects(spec, name, self.dev_of[name], self.pools)) if new else \
            [Op(True, entry) for entry in sum(self.mns[spec], ())]
        deletes = [op for held in displaced for op in self.forget(held)]
        batches = [(adds, deletes)]
        if self.apply(adds, deletes):
            undo_adds = []
            for held in displaced:
                routes, rules = mn_objects(held, tunnel_ifname(held.tunnel), self.dev_of[tunnel_ifname(held.tunnel)], self.pools)
                self.count(held, routes, rules)
                undo_adds += [Op(True, entry) for entry in routes + rules]
            batches.append((undo_adds, self.forget(spec) if new else []))
            self.apply(*batches[-1])
        return batches

    def remove(self, spec: MnRouteSpec) -> list[tuple[list[Op], list[Op]]]:
        if spec not in self.mns:
            return []
        deletes = self.forget(spec)
        self.apply([], deletes)
        return [([], deletes)]

    def count(self, spec: MnRouteSpec, routes: tuple[RouteEntry, ...], rules: tuple[RuleEntry, ...]) -> list[Op]:
        self.mns[spec] = (routes, rules)
        adds = []
        for entry in routes + rules:
            self.refs[entry] += 1
            if self.refs[entry] == 1:
                adds.append(Op(True, entry))
        return adds

    def forget(self, spec: MnRouteSpec) -> list[Op]:
        routes, rules = self.mns.pop(spec)
        gone = []
        for entry in rules + routes:
            self.refs[entry] -= 1
            if not self.refs[entry]:
                del self.refs[entry]
                gone.append(Op(False, entry))
        return gone

    def apply(self, adds: list[Op], deletes: list[Op]) -> bool:
        """Apply a batch to the reference world; True if an addition failed."""
        failed = self.world.add(op.obj for op in adds)
        self.world.delete(op.obj for op in deletes)
        return bool(failed)


def make_spec(role: int, tunnel: int, hnps: frozenset[int], v4: bool, context: int) -> MnRouteSpec | None:
    """A spec from indexes into the small universe above (None: no prefix at all)."""
    prefixes = tuple(HNPS[i] for i in sorted(hnps))
    if not prefixes and not v4:
        return None
    if role == 0 and not context:  # the LMA's usual spec, built as the LMA builds it
        return MnRouteSpec.lma(TUNNELS[tunnel], prefixes, HOA if v4 else None)
    if role == 0:
        return MnRouteSpec(Role.LMA, TUNNELS[tunnel], prefixes, HOA if v4 else None, realm_ifname='realm0')
    return MnRouteSpec(Role.MAG, TUNNELS[tunnel], prefixes, HOA if v4 else None, access_ifname=('acc0', ODD_ACCESS)[context])


specs = st.builds(make_spec, st.integers(0, 1), st.integers(0, 1), st.frozensets(st.integers(0, 3), max_size=2),
                  st.booleans(), st.integers(0, 1))
# 'break' deletes the device carrying the second tunnel (routes into it then fail), 'repair' brings it back.
steps = st.lists(st.tuples(st.sampled_from(['ensure', 'ensure', 'ensure', 'remove', 'break', 'repair']), specs), max_size=25)


def ours(world: MemoryWorld) -> tuple[set[Any], set[Any]]:
    return ({r for r in world.routes.values() if is_our_table(r.table)}, {r for r in world.rules if is_our_table(r.table)})


@settings(max_examples=400, deadline=None)
@given(steps=steps, shared_tun=st.booleans(), pooled=st.booleans())
def test_bookkeeping_matches_counting_every_object(
    steps: list[tuple[str, MnRouteSpec | None]], shared_tun: bool, pooled: bool
) -> None:
    worlds = [MemoryWorld() for _ in range(3)]
    for world in worlds:
        for ifname in ('acc0', 'realm0', TUN_IFNAME, *((ODD_ACCESS,) if shared_tun else ())):
            world.add_link(ifname, 'veth')  # (ODD_ACCESS: made by ensure_tunnel without the TUN)
    recording, plain = (SharedRecording, SharedPlain) if shared_tun else (Recording, MemoryDataplane)
    dp, fast = recording(worlds[0]), plain(worlds[1])
    for backend in (dp, fast):
        for tunnel in TUNNELS:
            backend.ensure_tunnel(tunnel)
    for link in worlds[0].links:
        if link not in worlds[2].links:
            worlds[2].add_link(link, 'tunnel')
    if pooled:
        for backend in (dp, fast):
            backend.anchor_pools(POOLS)  # (only the shared TUN routes pools: the others ignore them)
    pools = Pools(POOLS, TUN_IFNAME) if pooled and shared_tun else NO_POOLS
    reference = Reference({tunnel_ifname(t): dp.tunnel_device(t) for t in TUNNELS}, worlds[2], pools)
    breakable = TUN_IFNAME if shared_tun else tunnel_ifname(TUNNELS[1])
    for action, spec in steps:
        if action in ('break', 'repair'):
            for world in worlds:
                if action == 'break' and breakable in world.links:
                    world.del_link(breakable)
                elif action == 'repair' and breakable not in world.links:
                    world.add_link(breakable, 'tunnel')
            continue
        if spec is None:
            continue
        dp.batches.clear()
        batches = reference.ensure(spec) if action == 'ensure' else reference.remove(spec)
        for backend in (dp, fast):
            try:
                (backend.ensure_mn_routes if action == 'ensure' else backend.remove_mn_routes)(spec)
            except DataplaneError:
                assert len(batches) == 2  # an addition failed: the move was undone
            else:
                assert len(batches) < 2
        # Additions in order, before the deletions. An undo restores the displaced bindings in
        # the prefix index's order, which the reference does not keep: the same additions, any order.
        assert len(dp.batches) == len(batches)
        for index, (got, (adds, deletes)) in enumerate(zip(dp.batches, batches)):
            if index == 0:
                assert got[:len(adds)] == adds
            else:
                assert Counter(got[:len(adds)]) == Counter(adds)
            assert Counter(got[len(adds):]) == Counter(deletes)
        assert ours(worlds[0]) == ours(worlds[1]) == ours(worlds[2])
        assert dp.snapshot().mn_routes == fast.snapshot().mn_routes == set(reference.mns)
    for spec in list(reference.mns):
        dp.remove_mn_routes(spec)
        fast.remove_mn_routes(spec)
    for backend in (dp, fast):
        assert ours(backend.world) == (set(), set())
        assert not backend._mns and not backend._by_prefix and not backend._route_refs and not backend._rule_refs
        assert not backend._tunnel_users
        for tunnel in TUNNELS:
            backend.remove_tunnel(tunnel)  # refused if a user were still counted


class MovingTunnel(MemoryDataplane):
    """Carries a tunnel on its own device, and on the shared TUN once it is ensured again."""

    created = 0

    def _create_tunnel(self, spec: TunnelSpec, name: str) -> str:
        self.created += 1
        return super()._create_tunnel(spec, name) if self.created == 1 else TUN_IFNAME


def test_the_next_mn_follows_a_tunnel_ensured_again() -> None:
    """Ensuring a tunnel again (here: another MTU, now carried by the TUN) plans the next MN with
    the new device, in the same LMA role table."""
    world = MemoryWorld()
    world.add_link(TUN_IFNAME, 'tun')
    dp = MovingTunnel(world)
    tunnel = TUNNELS[0]
    name = tunnel_ifname(tunnel)
    first = MnRouteSpec.lma(tunnel, (HNPS[0],), HOA)
    dp.ensure_tunnel(tunnel)
    dp.ensure_mn_routes(first)
    dp.ensure_tunnel(dataclasses.replace(tunnel, mtu=1400))
    second = MnRouteSpec.lma(tunnel, (HNPS[1],))
    dp.ensure_mn_routes(second)
    expected = [mn_objects(first, name, name), mn_objects(second, name, TUN_IFNAME)]
    assert (expected[0][0][0].dev, expected[1][0][0].dev) == (name, TUN_IFNAME)  # the tunnel's device, then the TUN
    assert expected[0][0][0].table == expected[1][0][0].table == LMA_TABLE
    assert ours(world) == ({*expected[0][0], *expected[1][0]}, {*expected[0][1], *expected[1][1]})
