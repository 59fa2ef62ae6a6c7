"""One harness per backend, so the behavioural suite runs unchanged against all three.

A harness owns a dataplane, a place for it (a :class:`MemoryWorld` or a scratch namespace),
and a way to "restart the daemon" over the same place (to test reconciliation).
"""

from __future__ import annotations

from ipaddress import IPv6Network
from typing import Any

from pmiprouter.dataplane.interface import RouteEntry, RuleEntry
from pmiprouter.dataplane.memory import MemoryDataplane, MemoryWorld
from tests.dataplane import nsutil

FOREIGN_NET = IPv6Network('2001:db8:f00::/48')


class MemoryHarness:
    """The memory backend over a MemoryWorld."""

    name = 'memory'

    def __init__(self) -> None:
        self.world = MemoryWorld()
        self.dp: Any = MemoryDataplane(self.world)

    def add_iface(self, ifname: str) -> None:
        """Create an access or realm interface."""
        self.world.add_link(ifname, 'veth')

    def restart(self) -> Any:
        """Drop the dataplane without cleaning up; return a new one over the same world."""
        self.dp = MemoryDataplane(self.world)
        return self.dp

    def add_foreign(self) -> None:
        """Add a device, a route and a rule that are not ours."""
        self.world.add_link('eth9', 'veth')
        self.world.replace_route(RouteEntry(100, FOREIGN_NET, 'eth9'))
        self.world.rules.add(RuleEntry(1000, 100, 10, dst=FOREIGN_NET))

    def foreign_present(self) -> bool:
        """True if the foreign objects are all still there."""
        return ('eth9' in self.world.links and (100, FOREIGN_NET, None) in self.world.routes
                and RuleEntry(1000, 100, 10, dst=FOREIGN_NET) in self.world.rules)

    def close(self) -> None:
        """Nothing to release."""


class NetnsHarness:
    """A kernel or userspace backend created on a worker thread inside a scratch namespace."""

    def __init__(self, kind: str) -> None:
        from pmiprouter.dataplane.factory import make_dataplane

        self.name = kind
        self._make = make_dataplane
        self.ns = nsutil.unique()
        nsutil.netns_add(self.ns)
        self.thread = nsutil.NsThread(self.ns)
        self._peers = 0
        try:
            self.dp: Any = nsutil.Proxy(self.thread, self.thread.call(make_dataplane, kind))
        except BaseException:
            self.close()
            raise

    def add_iface(self, ifname: str) -> None:
        """Create an access or realm interface (a veth, the only kind every kernel here has)."""
        self._peers += 1
        nsutil.ip('link', 'add', ifname, 'type', 'veth', 'peer', 'name', f'xpeer{self._peers}', ns=self.ns)
        nsutil.ip('link', 'set', ifname, 'up', ns=self.ns)

    def restart(self) -> Any:
        """Close the dataplane (kernel objects stay) and create a new one in the namespace."""
        self.dp.close()
        self.dp = nsutil.Proxy(self.thread, self.thread.call(self._make, self.name))
        return self.dp

    def add_foreign(self) -> None:
        """Add a device, a route and a rule that are not ours."""
        self.add_iface('eth9')
        nsutil.ip('-6', 'route', 'add', str(FOREIGN_NET), 'dev', 'eth9', 'table', '100', ns=self.ns)
        nsutil.ip('-6', 'rule', 'add', 'to', str(FOREIGN_NET), 'table', '100', 'pref', '1000', ns=self.ns)

    def foreign_present(self) -> bool:
        """True if the foreign objects are all still there."""
        route = nsutil.ip('-6', 'route', 'show', 'table', '100', ns=self.ns).stdout
        rules = nsutil.ip('-6', 'rule', 'show', ns=self.ns).stdout
        links = {link['ifname'] for link in nsutil.json_links(self.ns)}
        return 'eth9' in links and str(FOREIGN_NET) in route and 'lookup 100' in rules

    def close(self) -> None:
        """Close the dataplane, stop the thread and delete the namespace."""
        try:
            if hasattr(self, 'dp'):
                self.dp.close()
        finally:
            self.thread.close()
            nsutil.netns_del(self.ns)
