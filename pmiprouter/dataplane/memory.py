"""In-memory dataplane: the full model with invariant checks, forwarding nothing.

For unit tests, engine pair tests and ``dataplane memory`` dry runs. A :class:`MemoryWorld`
stands for the kernel: it outlives a :class:`MemoryDataplane`, so a test can "restart the
daemon" and check that reconciliation removes what the previous instance left behind.

Invariants enforced by the world (each violation raises :class:`DataplaneError`): no route to a
missing device, no two devices with one name, no rule into a table nothing routes in is *not*
enforced (the kernel allows it and reconcile removes such rules).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from pmiprouter.dataplane.base import BaseDataplane, Entry, Failures, Op
from pmiprouter.dataplane.interface import DataplaneError, LinkEntry, RouteEntry, RuleEntry, TunnelSpec
from pmiprouter.dataplane.naming import is_our_ifname, is_our_table


class MemoryWorld:
    """A model of the kernel's links, routes and rules (including objects that are not ours)."""

    def __init__(self) -> None:
        self.links: dict[str, LinkEntry] = {}
        self.routes: dict[tuple[int, object, object], RouteEntry] = {}  # (table, dst, src) -> route
        self.rules: set[RuleEntry] = set()
        self._next_index = 1

    def add_link(self, ifname: str, kind: str) -> LinkEntry:
        """Create a device; a second device with the same name is refused."""
        if ifname in self.links:
            raise DataplaneError(f'duplicate ifname {ifname}')
        if not 0 < len(ifname) <= 15:
            raise DataplaneError(f'bad ifname {ifname!r}')
        self._next_index += 1
        link = LinkEntry(ifname, kind, self._next_index)
        self.links[ifname] = link
        return link

    def del_link(self, ifname: str) -> None:
        """Delete a device and, as the kernel does, every route through it."""
        self.links.pop(ifname, None)
        for key in [k for k, r in self.routes.items() if r.dev == ifname]:
            del self.routes[key]

    def add(self, entries: Iterable[Entry]) -> list[tuple[Entry, DataplaneError]]:
        """Add routes and rules in order, as the kernel answers a netlink batch: each on its
        own; return those refused, with the reason. One loop for a whole binding change (it
        runs for every registration of the LMA's dry runs and benchmarks).

        A route is added or replaced (one per table and destination, as `ip route replace`)
        and must name an existing device. The kernel accepts rules naming absent devices and
        so does the model, except that a rule naming one of our own devices must find it.
        """
        links, routes, rules = self.links, self.routes, self.rules
        failures: list[tuple[Entry, DataplaneError]] = []
        for entry in entries:
            if isinstance(entry, RouteEntry):
                table, dst, dev, src = entry
                if dev in links:
                    routes[(table, dst, src)] = entry
                else:
                    error = DataplaneError(f'route {dst} table {table} to missing device {dev}')
                    failures.append((entry, error))
            else:
                iif = entry.iif
                if iif is not None and iif not in links and is_our_ifname(iif):
                    failures.append((entry, DataplaneError(f'rule names missing device {iif}')))
                else:
                    rules.add(entry)
        return failures

    def delete(self, entries: Iterable[Entry]) -> None:
        """Delete routes and rules; a route only if this very route is there (another one to the
        same place stays). Deleting what is missing is no error."""
        routes, rules = self.routes, self.rules
        for entry in entries:
            if isinstance(entry, RouteEntry):
                key = (entry[0], entry[1], entry[3])  # (table, dst, src)
                if routes.get(key) == entry:
                    del routes[key]
            else:
                rules.discard(entry)

    def replace_route(self, route: RouteEntry) -> None:
        """Add or replace a route (see :meth:`add`)."""
        self._raise_first(self.add((route,)))

    def delete_route(self, route: RouteEntry) -> None:
        """Delete a route if this very route is there (see :meth:`delete`)."""
        self.delete((route,))

    def add_rule(self, rule: RuleEntry) -> None:
        """Add a rule (see :meth:`add`)."""
        self._raise_first(self.add((rule,)))

    def delete_rule(self, rule: RuleEntry) -> None:
        """Delete a rule (a missing one is not an error)."""
        self.delete((rule,))

    @staticmethod
    def _raise_first(failures: list[tuple[Entry, DataplaneError]]) -> None:
        for _entry, error in failures:
            raise error

    def check(self) -> None:
        """Raise :class:`DataplaneError` if an invariant does not hold."""
        for route in self.routes.values():
            if route.dev not in self.links:
                raise DataplaneError(f'route {route} points to a missing device')


class MemoryDataplane(BaseDataplane):
    """The dataplane model; see the module docstring."""

    backend_name = 'memory'

    def __init__(self, world: MemoryWorld | None = None) -> None:
        super().__init__()
        self.world = world if world is not None else MemoryWorld()
        # A subclass that overrides a primitive or `_apply_ops` (tests inject failures and watch
        # batches that way) gets every operation through them; otherwise a change goes to the
        # world directly.
        cls = type(self)
        self._plain_primitives = all(getattr(cls, name) is getattr(MemoryDataplane, name) for name in (
            '_add_route', '_del_route', '_add_rule', '_del_rule', '_apply_ops'))

    def _create_tunnel(self, spec: TunnelSpec, name: str) -> str:
        link = self.world.links.get(name)
        if link is None:
            self.world.add_link(name, 'tunnel-' + spec.mode.value)
        elif link.kind != 'tunnel-' + spec.mode.value:
            raise DataplaneError(f'{name} exists with kind {link.kind}')
        return name

    def _delete_tunnel(self, spec: TunnelSpec, name: str) -> None:
        self.world.del_link(name)

    def _add_route(self, route: RouteEntry) -> None:
        self.world.replace_route(route)

    def _del_route(self, route: RouteEntry) -> None:
        self.world.delete_route(route)

    def _add_rule(self, rule: RuleEntry) -> None:
        self.world.add_rule(rule)

    def _del_rule(self, rule: RuleEntry) -> None:
        self.world.delete_rule(rule)

    def _apply_changes(self, additions: Sequence[Entry], deletions: Sequence[Entry]) -> Failures:
        if not self._plain_primitives:
            return super()._apply_changes(additions, deletions)
        # What the primitives would do, one list at a time and without operation objects.
        failures = self.world.add(additions)
        if deletions:
            self.world.delete(deletions)
        if failures:
            return [(Op(True, entry), error) for entry, error in failures]
        return []

    def _observe(self) -> tuple[frozenset[LinkEntry], frozenset[RouteEntry], frozenset[RuleEntry]]:
        self.world.check()
        links = frozenset(link for link in self.world.links.values() if is_our_ifname(link.ifname))
        routes = frozenset(r for r in self.world.routes.values() if is_our_table(r.table))
        rules = frozenset(r for r in self.world.rules if is_our_table(r.table))
        return links, routes, rules

    def _delete_link(self, link: LinkEntry) -> None:
        self.world.del_link(link.ifname)
