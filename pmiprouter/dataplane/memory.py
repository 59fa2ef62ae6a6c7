"""In-memory dataplane: the full model with invariant checks, forwarding nothing.

For unit tests, engine pair tests and ``dataplane memory`` dry runs. A :class:`MemoryWorld`
stands for the kernel: it outlives a :class:`MemoryDataplane`, so a test can "restart the
daemon" and check that reconciliation removes what the previous instance left behind.

Invariants enforced by the world (each violation raises :class:`DataplaneError`): no route to a
missing device, no two devices with one name, no rule into a table nothing routes in is *not*
enforced (the kernel allows it and reconcile removes such rules).
"""

from __future__ import annotations

from pmiprouter.dataplane.base import BaseDataplane
from pmiprouter.dataplane.interface import DataplaneError, LinkEntry, RouteEntry, RuleEntry, TunnelSpec
from pmiprouter.dataplane.naming import is_our_ifname, is_our_table


class MemoryWorld:
    """A model of the kernel's links, routes and rules (including objects that are not ours)."""

    def __init__(self) -> None:
        self.links: dict[str, LinkEntry] = {}
        self.routes: dict[tuple[int, object], RouteEntry] = {}  # (table, dst) -> route
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

    def replace_route(self, route: RouteEntry) -> None:
        """Add or replace a route (one per table and destination, as `ip route replace`)."""
        if route.dev not in self.links:
            raise DataplaneError(f'route {route.dst} table {route.table} to missing device {route.dev}')
        self.routes[(route.table, route.dst)] = route

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
        if self.world.routes.get((route.table, route.dst)) == route:
            del self.world.routes[(route.table, route.dst)]

    def _add_rule(self, rule: RuleEntry) -> None:
        if rule.iif is not None and rule.iif not in self.world.links:
            # The kernel accepts rules naming absent devices; the model does too, but we check
            # our own devices, which must exist when a rule names them.
            if is_our_ifname(rule.iif):
                raise DataplaneError(f'rule names missing device {rule.iif}')
        self.world.rules.add(rule)

    def _del_rule(self, rule: RuleEntry) -> None:
        self.world.rules.discard(rule)

    def _observe(self) -> tuple[frozenset[LinkEntry], frozenset[RouteEntry], frozenset[RuleEntry]]:
        self.world.check()
        links = frozenset(link for link in self.world.links.values() if is_our_ifname(link.ifname))
        routes = frozenset(r for r in self.world.routes.values() if is_our_table(r.table))
        rules = frozenset(r for r in self.world.rules if is_our_table(r.table))
        return links, routes, rules

    def _delete_link(self, link: LinkEntry) -> None:
        self.world.del_link(link.ifname)
