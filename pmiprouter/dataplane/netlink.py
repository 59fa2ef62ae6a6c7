"""Routes, rules and links over netlink with pyroute2 ``IPRoute`` (no shelling out).

Shared by the kernel and userspace backends. Only the API subset common to pyroute2 0.7.2
(Debian 12) and 0.9.x is used, pyroute2 message objects never leave this module, and every
``NetlinkError`` is either an idempotent outcome (EEXIST on add, ESRCH/ENOENT on delete) or
turned into :class:`DataplaneError`. One instance belongs to one thread (pyroute2 >= 0.9 binds
its socket to the creating thread's loop), which is why the runtime serialises dataplane calls.
"""

from __future__ import annotations

import errno
import socket
from collections.abc import Iterable
from ipaddress import ip_network
from typing import Any

from pyroute2 import IPRoute
from pyroute2.netlink.exceptions import NetlinkError

from pmiprouter.dataplane.base import BaseDataplane
from pmiprouter.dataplane.interface import DataplaneError, IPNetwork, LinkEntry, RouteEntry, RuleEntry
from pmiprouter.dataplane.naming import is_our_ifname, is_our_table

_GONE = {errno.ESRCH, errno.ENOENT, errno.ENODEV, errno.EADDRNOTAVAIL}


def _prefix_kwargs(key: str, net: IPNetwork | None) -> dict[str, Any]:
    if net is None or net.prefixlen == 0 and key == 'dst':
        return {}
    return {key: str(net.network_address), f'{key}_len': net.prefixlen}


class Netlink:
    """A thin, idempotent facade over one ``IPRoute`` socket."""

    def __init__(self) -> None:
        self.ipr = IPRoute()

    def close(self) -> None:
        """Close the netlink socket."""
        self.ipr.close()

    def index(self, ifname: str) -> int | None:
        """Return the ifindex of a device, or None if there is none."""
        found = self.ipr.link_lookup(ifname=ifname)
        return int(found[0]) if found else None

    def require_index(self, ifname: str) -> int:
        """Return the ifindex of a device that must exist."""
        idx = self.index(ifname)
        if idx is None:
            raise DataplaneError(f'no such device: {ifname}')
        return idx

    def link_add(self, ifname: str, kind: str, **attrs: Any) -> bool:
        """Create a device; return False if it already existed (EEXIST)."""
        try:
            self.ipr.link('add', ifname=ifname, kind=kind, **attrs)
        except NetlinkError as exc:
            if exc.code == errno.EEXIST:
                return False
            raise DataplaneError(f'cannot create {kind} {ifname}: {exc}') from exc
        return True

    def link_up(self, ifname: str, mtu: int | None = None) -> int:
        """Set a device up (and its MTU); return its ifindex."""
        idx = self.require_index(ifname)
        extra = {'mtu': mtu} if mtu is not None else {}
        try:
            self.ipr.link('set', index=idx, state='up', **extra)
        except NetlinkError as exc:
            raise DataplaneError(f'cannot set {ifname} up (mtu {mtu}): {exc}') from exc
        return idx

    def link_del(self, ifname: str) -> None:
        """Delete a device; a missing one is fine."""
        idx = self.index(ifname)
        if idx is None:
            return
        try:
            self.ipr.link('del', index=idx)
        except NetlinkError as exc:
            if exc.code not in _GONE:
                raise DataplaneError(f'cannot delete {ifname}: {exc}') from exc

    def route_replace(self, route: RouteEntry) -> None:
        """Add or replace a route in its table."""
        self._route('replace', route, self.require_index(route.dev))

    def route_del(self, route: RouteEntry) -> None:
        """Delete a route; a missing route or device is fine."""
        idx = self.index(route.dev)
        if idx is not None:
            self._route('del', route, idx)

    def _route(self, cmd: str, route: RouteEntry, oif: int) -> None:
        family = socket.AF_INET6 if route.dst.version == 6 else socket.AF_INET
        kwargs = _prefix_kwargs('dst', route.dst)
        if route.dst.prefixlen == 0:
            kwargs['dst_len'] = 0
        try:
            self.ipr.route(cmd, family=family, table=route.table, oif=oif, **kwargs)
        except NetlinkError as exc:
            if cmd == 'del' and exc.code in _GONE:
                return
            raise DataplaneError(f'route {cmd} {route}: {exc}') from exc

    def rule_add(self, rule: RuleEntry) -> None:
        """Add a rule; an identical one already there is fine (EEXIST)."""
        try:
            self.ipr.rule('add', **self._rule_kwargs(rule))
        except NetlinkError as exc:
            if exc.code != errno.EEXIST:
                raise DataplaneError(f'rule add {rule}: {exc}') from exc

    def rule_del(self, rule: RuleEntry) -> None:
        """Delete a rule; a missing one is fine."""
        try:
            self.ipr.rule('del', **self._rule_kwargs(rule))
        except NetlinkError as exc:
            if exc.code not in _GONE:
                raise DataplaneError(f'rule del {rule}: {exc}') from exc

    @staticmethod
    def _rule_kwargs(rule: RuleEntry) -> dict[str, Any]:
        kwargs: dict[str, Any] = {'family': rule.family, 'priority': rule.priority, 'table': rule.table}
        kwargs.update(_prefix_kwargs('src', rule.src))
        kwargs.update(_prefix_kwargs('dst', rule.dst))
        if rule.iif:
            kwargs['iifname'] = rule.iif
        return kwargs

    def our_links(self) -> frozenset[LinkEntry]:
        """Return the devices whose names mark them as ours."""
        out = set()
        for msg in self.ipr.get_links():
            name = msg.get_attr('IFLA_IFNAME')
            if name and is_our_ifname(name):
                info = msg.get_attr('IFLA_LINKINFO')
                kind = info.get_attr('IFLA_INFO_KIND') if info is not None else None
                out.add(LinkEntry(name, kind or 'tun', int(msg['index'])))
        return frozenset(out)

    def our_routes(self) -> frozenset[RouteEntry]:
        """Return the routes in our tables (only those through a device)."""
        names = {int(m['index']): m.get_attr('IFLA_IFNAME') for m in self.ipr.get_links()}
        out = set()
        for family in (socket.AF_INET6, socket.AF_INET):
            for msg in self._dump_routes(family):
                table = msg.get_attr('RTA_TABLE') or msg['table']
                oif = msg.get_attr('RTA_OIF')
                if not is_our_table(table) or oif not in names:
                    continue
                dst = msg.get_attr('RTA_DST') or ('::' if family == socket.AF_INET6 else '0.0.0.0')
                out.add(RouteEntry(table, ip_network(f'{dst}/{msg["dst_len"]}'), names[oif]))
        return frozenset(out)

    def _dump_routes(self, family: int) -> Iterable[Any]:
        # route('dump') lists every table in both 0.7.2 and 0.9 (get_routes() filters on main).
        return self.ipr.route('dump', family=family)

    def our_rules(self) -> frozenset[RuleEntry]:
        """Return the rules that look up one of our tables."""
        out = set()
        for family in (socket.AF_INET6, socket.AF_INET):
            for msg in self.ipr.get_rules(family=family):
                table = msg.get_attr('FRA_TABLE') or msg['table']
                if not is_our_table(table):
                    continue
                src = msg.get_attr('FRA_SRC')
                dst = msg.get_attr('FRA_DST')
                out.add(RuleEntry(
                    priority=msg.get_attr('FRA_PRIORITY') or 0,
                    table=table,
                    family=family,
                    src=ip_network(f'{src}/{msg["src_len"]}') if src else None,
                    dst=ip_network(f'{dst}/{msg["dst_len"]}') if dst else None,
                    iif=msg.get_attr('FRA_IIFNAME'),
                ))
        return frozenset(out)


class NetlinkDataplane(BaseDataplane):
    """The route, rule and link primitives the kernel and user-space backends share:
    both program the kernel's tables over netlink (`self.nl`); only their tunnels differ."""

    nl: Netlink

    def _add_route(self, route: RouteEntry) -> None:
        self.nl.route_replace(route)

    def _del_route(self, route: RouteEntry) -> None:
        self.nl.route_del(route)

    def _add_rule(self, rule: RuleEntry) -> None:
        self.nl.rule_add(rule)

    def _del_rule(self, rule: RuleEntry) -> None:
        self.nl.rule_del(rule)

    def _observe(self) -> tuple[frozenset[LinkEntry], frozenset[RouteEntry], frozenset[RuleEntry]]:
        return self.nl.our_links(), self.nl.our_routes(), self.nl.our_rules()

    def _delete_link(self, link: LinkEntry) -> None:
        # Ours by name: a tunnel or TUN a previous run left, or one of the other backend's.
        self.nl.link_del(link.ifname)
