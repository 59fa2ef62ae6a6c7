"""Bookkeeping shared by the backends: specs, reference counts, handover, reconciliation.

A backend supplies a handful of idempotent primitives (create/delete a tunnel device, add/delete
a route or a rule, observe what is there); this class decides *which* primitives to call, so the
three backends behave the same by construction and the behavioural suite checks the primitives.

Invariants kept here: a route spec needs its tunnel (ensured first); a tunnel with mobile nodes
on it cannot be removed; an object shared by several mobile nodes (a table's default route) is
deleted only with the last of them; a handover installs the new objects before it removes the
old ones (make before break), and never touches the tunnel.
"""

from __future__ import annotations

import abc
import logging
from typing import Any, ClassVar, NamedTuple

from pmiprouter.dataplane.interface import (
    DataplaneError,
    DataplaneState,
    LinkEntry,
    MnRouteSpec,
    RouteEntry,
    RuleEntry,
    TunnelSpec,
)
from pmiprouter.dataplane.naming import NameRegistry, tunnel_ifname
from pmiprouter.dataplane.plan import mn_objects, same_binding

log = logging.getLogger(__name__)

Objects = tuple[tuple[RouteEntry, ...], tuple[RuleEntry, ...]]  # mn_objects(): unique, in install order


class Op(NamedTuple):
    """One route or rule to add (a route: add or replace) or to delete (a named tuple: cheap to build)."""

    add: bool
    obj: RouteEntry | RuleEntry


class BaseDataplane(abc.ABC):
    """Template for the backends; subclasses implement the ``_`` primitives."""

    backend_name: ClassVar[str] = 'base'

    def __init__(self) -> None:
        self._names = NameRegistry()
        self._tunnels: dict[str, tuple[TunnelSpec, str]] = {}  # name -> (spec, device)
        self._mns: dict[MnRouteSpec, Objects] = {}
        # Indexes so that no operation scans every mobile node (an LMA holds a million):
        self._by_prefix: dict[object, set[MnRouteSpec]] = {}  # home prefix -> MNs routing it
        # How many MNs need each route / rule, and are on each tunnel (plain dicts: Counter's
        # item deletion is written in Python, and these change on every binding change).
        self._route_refs: dict[RouteEntry, int] = {}
        self._rule_refs: dict[RuleEntry, int] = {}
        self._tunnel_users: dict[str, int] = {}  # tunnel name -> MNs on it

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

    def _changed(self) -> None:
        """Hook: the registered specs changed (the userspace forwarder rebuilds its tables)."""

    # -- the Dataplane protocol -------------------------------------------------------------

    def ensure_tunnel(self, spec: TunnelSpec) -> str:
        """Create the tunnel if missing and return the device that carries it."""
        name = self._names.claim(spec)
        held = self._tunnels.get(name)
        if held is not None and held[0] == spec:
            return held[1]  # already made by us with this MTU (reconcile repairs outside changes)
        dev = self._create_tunnel(spec, name)
        self._tunnels[name] = (spec, dev)
        self._changed()
        return dev

    def remove_tunnel(self, spec: TunnelSpec) -> None:
        """Delete the tunnel; refused while a mobile node's routes use it."""
        name = tunnel_ifname(spec)
        users = self._tunnel_users.get(name, 0)
        if users:
            raise DataplaneError(f'tunnel {name} still carries {users} mobile node(s)')
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
        name = tunnel_ifname(spec.tunnel)
        held = self._tunnels.get(name)
        if held is None:
            raise DataplaneError(f'tunnel {name} for {spec.label or spec.prefixes} is not ensured')
        objects = mn_objects(spec, name, held[1])
        new = spec not in self._mns
        # The bindings this one replaces: holders of one of its prefixes (usually none). One
        # lookup per prefix serves both that search and the indexing of a new spec.
        by_prefix = self._by_prefix
        displaced: dict[MnRouteSpec, Objects] = {}
        for prefix in spec.prefixes:
            holders = by_prefix.get(prefix)
            if holders is None:
                if new:
                    by_prefix[prefix] = {spec}
                continue
            for old in holders:
                if old != spec and old not in displaced and same_binding(old, spec):
                    displaced[old] = self._mns[old]
            if new:
                holders.add(spec)
        # A new spec adds only what no other MN installed already (a handover between two
        # tunnels sharing a table changes nothing); ensuring a held spec again re-adds all.
        ops = self._count(spec, name, objects) if new else _additions(objects)
        for old in displaced:
            ops += self._forget(old)
        failures = self._apply_ops(ops)
        if failures and any(op.add for op, _error in failures):
            self._undo_move(spec, new, displaced)
        self._changed()
        if failures:
            raise failures[0][1]

    def _undo_move(self, spec: MnRouteSpec, new: bool, displaced: dict[MnRouteSpec, Objects]) -> None:
        """An addition failed: the displaced bindings come back; objects only `spec` needed go."""
        ops: list[Op] = []
        for old, objects in displaced.items():
            self._remember(old, tunnel_ifname(old.tunnel), objects)
            ops += _additions(objects)
        if new:
            ops += self._forget(spec)
        for op, error in self._apply_ops(ops):
            log.warning('undoing a failed binding change: %s %s: %s', 'add' if op.add else 'delete', op.obj, error)

    def remove_mn_routes(self, spec: MnRouteSpec) -> None:
        """Remove one MN's routes and rules (nothing happens if they are not installed)."""
        if spec in self._mns:
            failures = self._apply_ops(self._forget(spec))
            self._changed()
            if failures:
                raise failures[0][1]

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
        """
        devices = {tunnel_ifname(t): self._device_name(t, tunnel_ifname(t)) for t in wanted.tunnels}
        exp_routes: set[RouteEntry] = set()
        exp_rules: set[RuleEntry] = set()
        for mn in wanted.mn_routes:
            name = tunnel_ifname(mn.tunnel)
            if name not in devices:
                who = mn.label or mn.prefixes
                raise DataplaneError(f'wanted MN {who} uses tunnel {name}, which is not wanted')
            routes, rules = mn_objects(mn, name, devices[name])
            exp_routes.update(routes)
            exp_rules.update(rules)
        links, routes, rules = self._observe()
        for rule in sorted(rules - exp_rules, key=_rule_order):
            self._del_rule(rule)
        for route in sorted(routes - exp_routes, key=_route_order):
            self._del_route(route)
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
        for mn in wanted.mn_routes:
            self.ensure_mn_routes(mn)
        self._changed()

    def close(self) -> None:
        """Release process resources; kernel state stays for the next run to reconcile."""

    # -- helpers ----------------------------------------------------------------------------

    def _remember(self, spec: MnRouteSpec, name: str, objects: Objects) -> None:
        by_prefix = self._by_prefix
        for prefix in spec.prefixes:
            holders = by_prefix.get(prefix)
            if holders is None:
                by_prefix[prefix] = {spec}
            else:
                holders.add(spec)
        self._count(spec, name, objects)

    def _count(self, spec: MnRouteSpec, name: str, objects: Objects) -> list[Op]:
        """Record `spec` (already in the prefix index) and its objects' users; return the additions
        of the objects nobody held before, routes first (a rule never points into an empty table)."""
        self._mns[spec] = objects
        ops: list[Op] = []
        refs: dict[Any, int]
        for refs, entries in ((self._route_refs, objects[0]), (self._rule_refs, objects[1])):
            for entry in entries:
                users = refs.get(entry)
                if users is None:
                    refs[entry] = 1
                    ops.append(_new_tuple(Op, (True, entry)))
                else:
                    refs[entry] = users + 1
        self._tunnel_users[name] = self._tunnel_users.get(name, 0) + 1
        return ops

    def _forget(self, spec: MnRouteSpec) -> list[Op]:
        """Drop one MN; return the deletions of the routes and rules no other MN still needs."""
        routes, rules = self._mns.pop(spec)
        for prefix in spec.prefixes:
            holders = self._by_prefix.get(prefix)
            if holders is not None:
                holders.discard(spec)
                if not holders:
                    del self._by_prefix[prefix]
        name = tunnel_ifname(spec.tunnel)
        self._release(self._tunnel_users, name)
        # Rules first: a rule never points into a table emptied before it.
        return [Op(False, rule) for rule in rules if self._release(self._rule_refs, rule)] + [
            Op(False, route) for route in routes if self._release(self._route_refs, route)]

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
        users = refs.get(item, 0) - 1
        if users > 0:
            refs[item] = users
            return False
        refs.pop(item, None)
        return True

    def holds_tunnel(self, spec: TunnelSpec) -> bool:
        """True when this exact tunnel (MTU included) is ensured: ensuring it again does no I/O."""
        held = self._tunnels.get(tunnel_ifname(spec))
        return held is not None and held[0] == spec

    def tunnel_device(self, spec: TunnelSpec) -> str | None:
        """Return the device carrying an ensured tunnel, or None."""
        held = self._tunnels.get(tunnel_ifname(spec))
        return held[1] if held else None


_new_tuple = tuple.__new__  # a named tuple's own constructor is a Python function


def _additions(objects: Objects) -> list[Op]:
    """Every route, then every rule (a rule never points into an empty table), in the plan's order."""
    routes, rules = objects
    return [Op(True, route) for route in routes] + [Op(True, rule) for rule in rules]


def _network_key(network: object) -> tuple[int, int, int]:
    """Order networks without formatting them as text (this runs for every route change)."""
    if network is None:
        return (0, 0, 0)
    return (network.version, int(network.network_address), network.prefixlen)  # type: ignore[attr-defined]


def _route_order(route: RouteEntry) -> tuple[object, ...]:
    return (route.table, _network_key(route.dst), route.dev)


def _rule_order(rule: RuleEntry) -> tuple[object, ...]:
    return (rule.priority, rule.table, rule.family, _network_key(rule.src), _network_key(rule.dst), rule.iif or '')
