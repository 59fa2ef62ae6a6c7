"""Bookkeeping shared by the backends: specs, reference counts, handover, reconciliation.

A backend supplies a handful of idempotent primitives (create/delete a tunnel device, add/delete
a route or a rule, observe what is there); this class decides *which* primitives to call, so the
three backends behave the same by construction and the behavioural suite checks the primitives.

Invariants kept here: a route spec needs its tunnel (ensured first); a tunnel with mobile nodes
on it cannot be removed; an object shared by several mobile nodes (a table's default route, or
a prefix's route while two bindings overlap) is deleted only with the last of them; a handover
installs the new objects before it removes the old ones (make before break), and never touches
the tunnel.

Cost: this runs for every registration of an LMA. A new mobile node whose prefixes nobody else
holds (the usual case) costs one index lookup per prefix and no reference counting (see
`_join`); the memory backend then takes the objects without building operation objects.
"""

from __future__ import annotations

import abc
import logging
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, ClassVar, NamedTuple, Union

from pmiprouter.dataplane.interface import (
    DataplaneError,
    DataplaneState,
    IPNetwork,
    LinkEntry,
    MnRouteSpec,
    Role,
    RouteEntry,
    RuleEntry,
    TunnelSpec,
)
from pmiprouter.dataplane.naming import NameRegistry, tunnel_ifname
from pmiprouter.dataplane.plan import NO_POOLS, MnObjects, Pools, lma_plan, mn_objects, mn_plan, same_context
from pmiprouter.fast.by_identity import IdentityIndex
from pmiprouter.fast.collector import collector_paused
from pmiprouter.fast.netaddr import prefix_length
from pmiprouter.fast.positional import positional

log = logging.getLogger(__name__)

Objects = MnObjects  # mn_plan(): (routes, rules) naming a home prefix, then the shared ones
Entry = Union[RouteEntry, RuleEntry]
Displaced = dict[MnRouteSpec, Objects]  # bindings a change replaces, with their objects


class Op(NamedTuple):
    """One route or rule to add (a route: add or replace) or to delete."""

    add: bool
    obj: RouteEntry | RuleEntry


Failures = list[tuple[Op, DataplaneError]]  # the operations that failed, with the reason


class HeldOps:
    """The operations of a batch of changes (`BaseDataplane.batched`), sent together at its end.

    `change` is the index of the change being applied (set by the caller before each one); what
    failed is reported per change in `failures`, after the change's own undo has run.
    """

    def __init__(self) -> None:
        self.change = 0
        self.ops: list[Op] = []
        self.owners: list[tuple[int, int]] = []  # per operation: its change, its undo's place in `undos` (-1: none)
        self.undos: list[Callable[[], None]] = []
        self.failures: dict[int, DataplaneError] = {}  # change index -> its first failure

    def hold(self, ops: list[Op], undo: Callable[[], None] | None) -> None:
        undo_at = -1
        if undo is not None:
            self.undos.append(undo)
            undo_at = len(self.undos) - 1
        self.ops += ops
        self.owners += [(self.change, undo_at)] * len(ops)


class BaseDataplane(abc.ABC):
    """Template for the backends; subclasses implement the ``_`` primitives."""

    backend_name: ClassVar[str] = 'base'
    #: Whether a batch of changes is worth holding for one transaction (`batched`): a backend
    #: that talks to the kernel says so; the memory backend applies each change at once.
    sends_batches: ClassVar[bool] = False

    def __init__(self) -> None:
        self._names = NameRegistry()
        self._tunnels: dict[str, tuple[TunnelSpec, str]] = {}  # name -> (spec, device)
        self._mns: dict[MnRouteSpec, Objects] = {}
        # Indexes so that no operation scans every mobile node (an LMA holds a million):
        # home prefix -> the MN routing it, or a tuple of them while bindings overlap (a
        # handover, for a moment): a set per prefix would be some 200 bytes per prefix.
        self._by_prefix: dict[object, Holders] = {}
        # How many MNs need each shared route / rule (see `_join`), and are on each tunnel
        # (plain dicts: Counter's item deletion is written in Python).
        self._route_refs: dict[RouteEntry, int] = {}
        self._rule_refs: dict[RuleEntry, int] = {}
        self._tunnel_users: dict[str, int] = {}  # tunnel name -> MNs on it
        # The last tunnel named, by identity: the LMA hands over the same shared spec object
        # for every MN of a MAG, and tunnel_ifname's cache would hash it (Python code) each time.
        self._last_named: tuple[object, str] = (None, '')
        # Whether `_changed` does anything (it is called on every binding change).
        self._notify_changes = type(self)._changed is not BaseDataplane._changed
        self._held: HeldOps | None = None  # a batch's operations, while `batched` runs
        self._pools = NO_POOLS  # the LMA's pools, routed once each where the backend can (`anchor_pools`)

    # -- primitives -------------------------------------------------------------------------

    @abc.abstractmethod
    def _create_tunnel(self, spec: TunnelSpec, name: str) -> str:
        """Create or update (MTU, up) the tunnel; return the device carrying it."""

    @abc.abstractmethod
    def _delete_tunnel(self, spec: TunnelSpec, name: str) -> None:
        """Delete the tunnel's device if it exists."""

    @abc.abstractmethod
    def _add_route(self, route: RouteEntry) -> None:
        """Add or replace a route."""

    @abc.abstractmethod
    def _del_route(self, route: RouteEntry) -> None:
        """Delete a route; a missing one is not an error."""

    @abc.abstractmethod
    def _add_rule(self, rule: RuleEntry) -> None:
        """Add a rule; an identical existing one is not an error."""

    @abc.abstractmethod
    def _del_rule(self, rule: RuleEntry) -> None:
        """Delete a rule; a missing one is not an error."""

    @abc.abstractmethod
    def _observe(self) -> tuple[frozenset[LinkEntry], frozenset[RouteEntry], frozenset[RuleEntry]]:
        """Return our links, routes in our tables and rules into our tables."""

    @abc.abstractmethod
    def _delete_link(self, link: LinkEntry) -> None:
        """Delete an orphaned device of ours."""

    def _device_name(self, spec: TunnelSpec, name: str) -> str:
        """The device that will carry a tunnel (the tunnel's own device unless overridden)."""
        return name

    def _always_links(self) -> frozenset[str]:
        """Our devices that exist independently of tunnels (the userspace TUN)."""
        return frozenset()

    def _keyed_device(self, spec: MnRouteSpec, tunnel_dev: str) -> str:
        """The device an MN of a keyed (per-MN GRE) tunnel is routed to: its tunnel's, unless the
        backend puts such MNs behind a device of their domain (made here if missing)."""
        return tunnel_dev

    def _pool_device(self) -> str | None:
        """The one device every LMA tunnel's packets are routed to, if there is one (then a pool's
        route there serves all its MNs); None: each MN's prefix gets a route of its own."""
        return None

    def _changed(self) -> None:
        """Hook: the registered specs changed (the userspace forwarder rebuilds its tables)."""

    def _apply_changes(self, additions: Sequence[Entry], deletions: Sequence[Entry]) -> Failures:
        """Add (a route: add or replace) `additions`, then delete `deletions`, in order; return
        the operations that failed (all are tried). The lists come in install order: routes
        before rules among additions, rules before routes among each MN's deletions.

        One list of operations for :meth:`_apply_ops`; the memory backend overrides this to
        spare the operation objects.
        """
        return self._apply_ops(_ops(additions, deletions))

    # -- the Dataplane protocol -------------------------------------------------------------

    def ensure_tunnel(self, spec: TunnelSpec) -> str:
        """Create the tunnel if missing and return the device that carries it."""
        name = self._names.claim(spec)
        held = self._tunnels.get(name)
        if held is not None and held[0] == spec:
            return held[1]  # already made by us with this MTU (reconcile repairs outside changes)
        self._send_held()  # a device comes: what the batch asked for so far goes first, in order
        dev = self._create_tunnel(spec, name)
        self._tunnels[name] = (spec, dev)
        self._changed()
        return dev

    def anchor_pools(self, prefixes: tuple[IPNetwork, ...]) -> None:
        """The LMA hands home prefixes out of ``prefixes``: where the backend has one device for
        every tunnel, each pool gets one route there, shared by its MNs, instead of a route per MN.

        Takes effect for the changes that follow; an MN keeps the objects it was installed with
        until it goes (its pool's route stays while one of them needs it), so calling this again
        after a configuration change is safe.
        """
        dev = self._pool_device()
        self._pools = Pools(self._poolable(tuple(prefixes)) if dev is not None else (), dev)

    def _poolable(self, prefixes: tuple[IPNetwork, ...]) -> tuple[IPNetwork, ...]:
        """The pools whose route may go to the pool device (those no other route lies inside)."""
        return prefixes

    def remove_tunnel(self, spec: TunnelSpec) -> None:
        """Delete the tunnel; refused while a mobile node's routes use it."""
        name = tunnel_ifname(spec)
        users = self._tunnel_users.get(name, 0)
        if users:
            raise DataplaneError(f'tunnel {name} still carries {users} mobile node(s)')
        self._send_held()  # the routes through it go before the device
        self._delete_tunnel(spec, name)
        self._tunnels.pop(name, None)
        self._names.release(spec)
        self._changed()

    def ensure_mn_routes(self, spec: MnRouteSpec) -> None:
        """Install one MN's routes and rules; a binding it replaces is removed afterwards.

        The additions and the displaced binding's deletions go to the backend as one list of
        operations (one netlink round trip), additions first: make before break. If an
        addition fails, the displaced binding is put back and the error raised.
        """
        tunnel = spec.tunnel
        last = self._last_named
        if last[0] is tunnel:
            name = last[1]
        else:
            name = tunnel_ifname(tunnel)
            self._last_named = (tunnel, name)
        held = self._tunnels.get(name)
        if held is None:
            raise DataplaneError(f'tunnel {name} for {spec.label or spec.prefixes} is not ensured')
        dev = held[1] if not tunnel.keyed else self._keyed_device(spec, held[1])
        if spec.role is _LMA and spec.realm_ifname is None:  # the LMA's spec of every registration
            objects = lma_plan(spec.prefixes, dev, self._pools)
        else:
            objects = mn_plan(spec, name, dev, self._pools)
        mns = self._mns
        size = len(mns)
        mns.setdefault(spec, objects)  # one lookup: records a new spec, leaves a held one alone
        # The bindings this one replaces: holders of one of its prefixes (usually none).
        displaced: Displaced = {}
        if len(mns) != size:
            # A new spec adds only what no other MN installed already (a handover between two
            # tunnels sharing a table changes nothing).
            new = True
            additions = self._join(spec, name, objects, displaced)
        else:
            new = False
            self._find_displaced(spec, displaced)
            additions = _everything(objects)  # ensuring a held spec again re-adds all
        deletions: list[Entry] = []
        if displaced:  # (usually not: no iterator to make)
            for old in displaced:
                deletions += self._forget(old)
        batch = self._held
        if batch is not None:  # a batch: sent at its end, undone then if an addition fails
            if additions or deletions:  # (a pooled MN, a handover behind the TUN: nothing to send)
                batch.hold(_ops(additions, deletions), lambda: self._undo_held(spec, new, objects, displaced))
            if self._notify_changes:
                self._changed()
            return
        failures = self._apply_changes(additions, deletions)
        if failures and any(op[0] for op, _error in failures):
            self._undo_move(spec, new, displaced)
        if self._notify_changes:
            self._changed()
        if failures:
            raise failures[0][1]

    def _undo_move(self, spec: MnRouteSpec, new: bool, displaced: Displaced) -> None:
        """An addition failed: the displaced bindings come back; objects only `spec` needed go."""
        additions: list[Entry] = []
        for old, objects in displaced.items():
            self._remember(old, tunnel_ifname(old.tunnel), objects)
            additions += _everything(objects)
        deletions = self._forget(spec) if new else []
        for op, error in self._apply_changes(additions, deletions):
            log.warning('undoing a failed binding change: %s %s: %s', 'add' if op.add else 'delete', op.obj, error)

    def _undo_held(self, spec: MnRouteSpec, new: bool, objects: Objects, displaced: Displaced) -> None:
        """`_undo_move` for a change of a batch, as far as later changes of the batch left it
        standing: a spec since removed (or replaced) is not forgotten again, and a displaced one
        since ensured again is not put back."""
        mine = self._mns.get(spec) is objects
        self._undo_move(spec, new and mine, {old: held for old, held in displaced.items() if old not in self._mns})

    def remove_mn_routes(self, spec: MnRouteSpec) -> None:
        """Remove one MN's routes and rules (nothing happens if they are not installed)."""
        if spec in self._mns:
            batch = self._held
            if batch is not None:
                batch.hold(_ops((), self._forget(spec)), None)
                if self._notify_changes:
                    self._changed()
                return
            failures = self._apply_changes([], self._forget(spec))
            if self._notify_changes:
                self._changed()
            if failures:
                raise failures[0][1]

    @contextmanager
    def batched(self) -> Iterator[HeldOps]:
        """Hold the route and rule operations of the changes made inside, and send them together
        at the end (one netlink transaction per burst of registrations, in the changes' order).

        The caller sets `change` on what it yields before each change; afterwards `failures`
        names the changes whose operations failed (a failed addition's change has been undone,
        as `ensure_mn_routes` undoes it when it runs alone). Creating or deleting a device sends
        what is held first, so the order of the changes is kept.
        """
        if self._held is not None:
            raise DataplaneError('batches do not nest')
        held = self._held = HeldOps()
        try:
            yield held
        finally:
            try:
                self._send_held()
            finally:
                self._held = None  # (a send that raised leaves the backend ready for the next batch)

    def _send_held(self) -> None:
        """Send the held operations now; note the changes they fail, and undo failed additions."""
        held = self._held
        if held is None or not held.ops:
            return
        ops, owners, undos = held.ops, held.owners, held.undos
        held.ops, held.owners, held.undos = [], [], []
        failures = self._apply_ops(ops)
        if not failures:
            return
        position = IdentityIndex(ops)  # (two changes may hold equal operations: each keeps its own)
        to_undo: set[int] = set()  # each binding change with a failed addition, once
        for op, error in failures:
            change, undo_at = owners[position[op]]
            held.failures.setdefault(change, error)
            if op.add and undo_at >= 0:
                to_undo.add(undo_at)
        for undo_at in sorted(to_undo):
            undos[undo_at]()
        if self._notify_changes:
            self._changed()

    def snapshot(self) -> DataplaneState:
        """Return the specs held and the objects observed."""
        links, routes, rules = self._observe()
        return DataplaneState(
            backend=self.backend_name,
            tunnels=frozenset(spec for spec, _dev in self._tunnels.values()),
            mn_routes=frozenset(self._mns),
            links=links,
            routes=routes,
            rules=rules,
        )

    def reconcile(self, wanted: DataplaneState) -> None:
        """Converge on ``wanted``'s specs; our objects nothing wants (orphans) go first.

        Orphans are deleted before anything is created because the kernel refuses a second
        tunnel between the same endpoints (EEXIST), e.g. an old ip6ip6 device in the way of a
        new ip6any one. Wanted objects that already exist are left in place (no rebuild).
        The orphans' deletions, then every MN's additions, go as one list of operations each
        (one netlink transaction: `_ensure_all`); every operation is tried, the first failure
        raised at the end.
        """
        with collector_paused():
            self._reconcile(wanted)

    def _reconcile(self, wanted: DataplaneState) -> None:
        devices = {tunnel_ifname(t): self._device_name(t, tunnel_ifname(t)) for t in wanted.tunnels}
        for mn in wanted.mn_routes:
            name = self._tunnel_name(mn.tunnel)
            if name not in devices:
                who = mn.label or mn.prefixes
                raise DataplaneError(f'wanted MN {who} uses tunnel {name}, which is not wanted')
        links, routes, rules = self._observe()
        if routes or rules:  # (a first start has nothing of ours: no need to plan every MN twice)
            exp_routes, exp_rules = self._expected(wanted.mn_routes, devices)
            orphans: list[Entry] = [*sorted(rules - exp_rules, key=_rule_order),
                                    *sorted(routes - exp_routes, key=_route_order)]
            for _op, error in self._apply_ops(_ops((), orphans)):
                raise error
        keep = set(devices.values()) | self._always_links()
        for link in links:
            if link.ifname not in keep:
                self._delete_link(link)
        # The registry restarts from the wanted specs (what was deleted above is gone anyway).
        self._mns.clear()
        self._by_prefix.clear()
        self._route_refs.clear()
        self._rule_refs.clear()
        self._tunnel_users.clear()
        for name in [n for n in self._tunnels if n not in devices]:
            spec, _dev = self._tunnels.pop(name)
            self._names.release(spec)
        for tunnel in wanted.tunnels:
            self.ensure_tunnel(tunnel)
        self._ensure_all(wanted.mn_routes)
        self._changed()

    def _expected(
        self, specs: Iterable[MnRouteSpec], devices: dict[str, str]
    ) -> tuple[set[RouteEntry], set[RuleEntry]]:
        """Every route and rule the specs need (their tunnels' devices in `devices`)."""
        exp_routes: set[RouteEntry] = set()
        exp_rules: set[RuleEntry] = set()
        for mn in specs:
            name = self._tunnel_name(mn.tunnel)
            dev = devices[name] if not mn.tunnel.keyed else self._keyed_device(mn, devices[name])
            routes, rules = mn_objects(mn, name, dev, self._pools)
            exp_routes.update(routes)
            exp_rules.update(rules)
        return exp_routes, exp_rules

    def _ensure_all(self, specs: Iterable[MnRouteSpec]) -> None:
        """Ensure every spec; a backend that sends batches gets them all as one transaction (a
        restart with 100,000 MNs: some 800 netlink round trips, not 100,000). Every spec is
        tried; the first failure is raised afterwards, its change undone."""
        if not self.sends_batches:
            for spec in specs:
                self.ensure_mn_routes(spec)
            return
        with self.batched() as held:
            for index, spec in enumerate(specs):
                held.change = index
                self.ensure_mn_routes(spec)
        if held.failures:
            raise held.failures[min(held.failures)]

    def close(self) -> None:
        """Release process resources; kernel state stays for the next run to reconcile."""

    # -- helpers ----------------------------------------------------------------------------

    # Who needs what. An object naming a home prefix (mn_plan's first two groups) can only be
    # needed by the MNs holding that prefix -- the shared objects name none, and a prefix is
    # never one of them unless it has length 0 -- so it is needed while one of the prefix's
    # holders lists it: the prefix index answers that without a count, and in the usual case
    # (the prefix has one holder) without looking. The shared objects, and those of a prefix
    # of length 0, are counted, as the tunnels' users are.

    def _join(self, spec: MnRouteSpec, name: str, objects: Objects, displaced: Displaced) -> Sequence[Entry]:
        """Index a new spec (recorded in `_mns` already) under its prefixes and count its shared
        objects; note the bindings it displaces; return the objects nobody held before,
        routes first (a rule never points into an empty table)."""
        routes, rules, shared_routes, shared_rules = objects
        by_prefix = self._by_prefix
        overlaps: dict[int, Holders | None] | None = None  # prefix index -> its holders before `spec`
        prefixes = spec.prefixes
        for prefix in prefixes:
            size = len(by_prefix)
            holders = by_prefix.setdefault(prefix, spec)
            if len(by_prefix) == size or not prefix_length(prefix):
                if overlaps is None:
                    overlaps = {}
                # (the index is looked up here, not counted for the usual new prefix; a spec
                # lists each prefix once)
                overlaps[prefixes.index(prefix)] = holders if len(by_prefix) == size else None
        users = self._tunnel_users
        users[name] = users.get(name, 0) + 1
        if overlaps is None and not shared_routes:  # the usual case: every prefix is new
            if not shared_rules:
                return routes + rules
            fresh = _counted_in(self._rule_refs, shared_rules)  # (the LMA's role rule: new only with the first MN)
            return routes + rules + tuple(fresh) if fresh else routes + rules
        if overlaps is not None:
            routes, rules = self._join_overlapping(spec, objects, overlaps, displaced)
        return [*routes, *_counted_in(self._route_refs, shared_routes),
                *rules, *_counted_in(self._rule_refs, shared_rules)]

    def _join_overlapping(
        self, spec: MnRouteSpec, objects: Objects, overlaps: dict[int, Holders | None], displaced: Displaced
    ) -> tuple[list[RouteEntry], list[RuleEntry]]:
        """`_join` for a spec with prefixes held by other MNs or of length 0 (at `overlaps`, with
        the holders before it; None: nobody): return its prefix objects nobody held before."""
        prefixes, by_prefix = spec.prefixes, self._by_prefix
        others: dict[MnRouteSpec, Objects] = {}  # every other holder of a prefix of `spec`
        for index, holders in overlaps.items():
            if holders is not None:
                held = _as_tuple(holders)
                by_prefix[prefixes[index]] = (*held, spec)
                for old in held:
                    if old not in others:
                        others[old] = self._mns[old]
        for old, held_objects in others.items():  # a handover: the MN's binding elsewhere
            if same_context(old, spec):  # (they share a prefix)
                displaced.setdefault(old, held_objects)
        return self._unshared(spec, objects, overlaps, others, _counted_in)

    def _unshared(
        self, spec: MnRouteSpec, objects: Objects | tuple[tuple[RouteEntry, ...], tuple[RuleEntry, ...]],
        overlaps: dict[int, Any], others: dict[MnRouteSpec, Objects], count: Any,
    ) -> tuple[list[RouteEntry], list[RuleEntry]]:
        """The prefix objects of `spec` that no MN in `others` lists, in order. A prefix of
        length 0 (in `overlaps`) is counted instead, with `count` (_counted_in or _released_from)."""
        routes, rules = objects[0], objects[1]
        # Whoever else lists an object naming a prefix holds that prefix: one look through the
        # objects of all of them serves every prefix (usually one other MN, one or two prefixes).
        listed_routes: tuple[RouteEntry, ...] = ()
        listed_rules: tuple[RuleEntry, ...] = ()
        for held_objects in others.values():
            listed_routes += held_objects[0]
            listed_rules += held_objects[1]
        kept_routes: list[RouteEntry] = []
        kept_rules: list[RuleEntry] = []
        for index, prefix in enumerate(spec.prefixes):
            own_routes, own_rules = _naming(prefix, routes, rules)
            if index in overlaps and not prefix_length(prefix):
                kept_routes += count(self._route_refs, own_routes)
                kept_rules += count(self._rule_refs, own_rules)
                continue
            for route in own_routes:
                if route not in listed_routes:
                    kept_routes.append(route)
            for rule in own_rules:
                if rule not in listed_rules:
                    kept_rules.append(rule)
        return kept_routes, kept_rules

    def _find_displaced(self, spec: MnRouteSpec, displaced: Displaced) -> None:
        """Note the bindings a held spec displaces (ensured again after a failure, or by reconcile)."""
        for prefix in spec.prefixes:
            for old in _as_tuple(self._by_prefix.get(prefix)):
                if old is not spec and old != spec and old not in displaced and same_context(old, spec):
                    displaced[old] = self._mns[old]

    def _remember(self, spec: MnRouteSpec, name: str, objects: Objects) -> None:
        """Record a spec again whose objects are about to be added again (undoing a move)."""
        self._mns[spec] = objects
        self._join(spec, name, objects, {})

    def _forget(self, spec: MnRouteSpec) -> list[Entry]:
        """Drop one MN; return the routes and rules no other MN still needs, rules first (a rule
        never points into a table emptied before it)."""
        routes, rules, shared_routes, shared_rules = self._mns.pop(spec)
        by_prefix = self._by_prefix
        overlaps: dict[int, None] | None = None  # indexes of prefixes held by others or of length 0
        others: dict[MnRouteSpec, Objects] = {}  # the other holders of a prefix of `spec`
        for index, prefix in enumerate(spec.prefixes):
            holders = by_prefix.pop(prefix, None)
            if type(holders) is tuple:
                # `spec` and others (the index holds every spec under each of its prefixes, so a
                # lone holder of a prefix of `spec` can only be `spec`).
                at = holders.index(spec) if spec in holders else len(holders)
                rest = holders[:at] + holders[at + 1:]
                if rest:
                    by_prefix[prefix] = rest[0] if len(rest) == 1 else rest
                for old in rest:
                    if old not in others:
                        others[old] = self._mns[old]
            elif prefix_length(prefix):
                continue  # the usual case: nobody else holds the prefix, its objects go
            if overlaps is None:
                overlaps = {}
            overlaps[index] = None
        self._release(self._tunnel_users, self._tunnel_name(spec.tunnel))
        if overlaps is None and not shared_routes and not shared_rules:
            return [*rules, *routes]
        if overlaps is not None:
            kept = self._unshared(spec, (routes, rules), overlaps, others, _released_from)
            routes, rules = kept  # type: ignore[assignment]
        return [*rules, *_released_from(self._rule_refs, shared_rules),
                *routes, *_released_from(self._route_refs, shared_routes)]

    def _sharing(self, spec: MnRouteSpec) -> set[MnRouteSpec]:
        """`spec` and every MN holding one of its prefixes (those a change of `spec` may displace)."""
        touched = {spec}
        by_prefix = self._by_prefix
        for prefix in spec.prefixes:
            holders = by_prefix.get(prefix)
            if holders is not None:  # (usually not: a new prefix)
                touched.update(_as_tuple(holders))
        return touched

    def _tunnel_name(self, tunnel: TunnelSpec) -> str:
        """tunnel_ifname(tunnel), remembering the last tunnel asked about by identity."""
        last = self._last_named
        if last[0] is tunnel:
            return last[1]
        name = tunnel_ifname(tunnel)
        self._last_named = (tunnel, name)
        return name

    def _apply_ops(self, ops: list[Op]) -> list[tuple[Op, DataplaneError]]:
        """Carry out route/rule operations in order; return those that failed (all are tried).

        Backends that can send several at once (netlink) override this; the default calls the
        one-object primitives.
        """
        failures = []
        for op in ops:
            add, obj = op
            try:
                if isinstance(obj, RouteEntry):
                    (self._add_route if add else self._del_route)(obj)  # type: ignore[arg-type]
                else:
                    (self._add_rule if add else self._del_rule)(obj)  # type: ignore[arg-type]
            except DataplaneError as exc:
                failures.append((op, exc))
        return failures

    @staticmethod
    def _release(refs: dict[Any, int], item: Any) -> bool:
        """Count one user less; True when nobody needs `item` any more (it is forgotten)."""
        users = refs.pop(item, 0) - 1  # one lookup for the usual last user
        if users > 0:
            refs[item] = users
            return False
        return True

    def holds_tunnel(self, spec: TunnelSpec) -> bool:
        """True when this exact tunnel (MTU included) is ensured: ensuring it again does no I/O."""
        held = self._tunnels.get(tunnel_ifname(spec))
        return held is not None and held[0] == spec

    def mn_device(self, spec: MnRouteSpec) -> str | None:
        """Return the device an ensured tunnel's MN is routed to (its tunnel's, or its domain's), or None."""
        dev = self.tunnel_device(spec.tunnel)
        return self._keyed_device(spec, dev) if dev is not None and spec.tunnel.keyed else dev

    def tunnel_device(self, spec: TunnelSpec) -> str | None:
        """Return the device carrying an ensured tunnel, or None."""
        held = self._tunnels.get(tunnel_ifname(spec))
        return held[1] if held else None





_make_op = positional(Op)
_LMA = Role.LMA


Holders = Union[MnRouteSpec, tuple[MnRouteSpec, ...]]  # one MN (the usual case), or several in a tuple


def _as_tuple(holders: Holders | None) -> tuple[MnRouteSpec, ...]:
    """The holders of a prefix as a tuple (none, one, or several)."""
    if holders is None:
        return ()
    return holders if type(holders) is tuple else (holders,)  # type: ignore[return-value]


def _ops(additions: Sequence[Entry], deletions: Sequence[Entry]) -> list[Op]:
    """The operations of one change, as `_apply_changes` sends them: additions, then deletions."""
    return [_make_op((True, entry)) for entry in additions] + [_make_op((False, entry)) for entry in deletions]


def _naming(
    prefix: object, routes: tuple[RouteEntry, ...], rules: tuple[RuleEntry, ...]
) -> tuple[list[RouteEntry], list[RuleEntry]]:
    """The routes and rules of a plan that name ``prefix`` (none where a pool's route covers it)."""
    # (A source-specific route names its source: its destination is a default route's.)
    return ([route for route in routes if (route.dst if route.src is None else route.src) == prefix],
            [rule for rule in rules if rule.dst == prefix or rule.src == prefix])


def _counted_in(refs: dict[Any, int], entries: tuple[Any, ...]) -> list[Any]:
    """Count one more user of each entry; return those nobody used before."""
    fresh = []
    for entry in entries:
        users = refs.get(entry)
        if users is None:
            refs[entry] = 1
            fresh.append(entry)
        else:
            refs[entry] = users + 1
    return fresh


def _released_from(refs: dict[Any, int], entries: tuple[Any, ...]) -> list[Any]:
    """Count one user less of each entry; return those nobody uses any more (forgotten)."""
    return [entry for entry in entries if BaseDataplane._release(refs, entry)]


def _everything(objects: Objects) -> list[Entry]:
    """Every route, then every rule (a rule never points into an empty table), in the plan's order."""
    routes, rules, shared_routes, shared_rules = objects
    return [*routes, *shared_routes, *rules, *shared_rules]


def _network_key(network: object) -> tuple[int, int, int]:
    """Order networks without formatting them as text (this runs for every route change)."""
    if network is None:
        return (0, 0, 0)
    return (network.version, int(network.network_address), network.prefixlen)  # type: ignore[attr-defined]


def _route_order(route: RouteEntry) -> tuple[object, ...]:
    return (route.table, _network_key(route.dst), _network_key(route.src), route.dev)


def _rule_order(rule: RuleEntry) -> tuple[object, ...]:
    return (rule.priority, rule.table, rule.family, _network_key(rule.src), _network_key(rule.dst), rule.iif or '')
