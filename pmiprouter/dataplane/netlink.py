"""Routes, rules and links over netlink (no shelling out).

Links and dumps go through pyroute2 ``IPRoute``; routes and rules through :mod:`rtnl_batch`,
which sends every route and rule of a binding change in one datagram (one round trip instead
of one pyroute2 call, ~1.5 ms, per object). Shared by the kernel and userspace backends. Only the API subset common to pyroute2 0.7.2
(Debian 12) and 0.9.x is used, pyroute2 message objects never leave this module, and every
``NetlinkError`` is either an idempotent outcome (EEXIST on add, ESRCH/ENOENT on delete) or
turned into :class:`DataplaneError`. One instance belongs to one thread (pyroute2 >= 0.9 binds
its socket to the creating thread's loop), which is why the runtime serialises dataplane calls.
"""

from __future__ import annotations

import errno
import os
import socket
from collections.abc import Iterable
from ipaddress import ip_network
from typing import Any

from pyroute2 import IPRoute
from pyroute2.netlink.exceptions import NetlinkError

from pmiprouter.dataplane.base import BaseDataplane, Op
from pmiprouter.dataplane.interface import DataplaneError, IPNetwork, LinkEntry, RouteEntry, RuleEntry
from pmiprouter.dataplane.naming import is_our_ifname, is_our_table
from pmiprouter.dataplane.rtnl_batch import RtnlBatch, ifindex

MAIN_TABLE = 254
_GONE = {errno.ESRCH, errno.ENOENT, errno.ENODEV, errno.EADDRNOTAVAIL}


class Netlink:
    """A thin, idempotent facade over one ``IPRoute`` socket."""

    def __init__(self) -> None:
        self.ipr = IPRoute()
        self.batch = RtnlBatch()  # routes and rules: hand-encoded, many per datagram

    def close(self) -> None:
        """Close the netlink sockets."""
        self.ipr.close()
        self.batch.close()

    def index(self, ifname: str) -> int | None:
        """Return the ifindex of a device, or None if there is none."""
        return ifindex(ifname)

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

    def execute(self, ops: list[Op]) -> list[tuple[Op, DataplaneError]]:
        """Add/delete routes and rules in order, all in one round trip; return the failures.

        Idempotent outcomes (EEXIST on a rule add, a missing object or device on a delete)
        are not failures; a route add replaces the route in place.
        """
        try:
            failed = self.batch.execute(ops)
        except OSError as exc:  # the netlink socket itself failed (ENOBUFS, ...): nothing is known
            return [(op, DataplaneError(f'netlink: {exc}')) for op in ops]
        return [(op, DataplaneError(f'{"add" if op.add else "delete"} {op.obj}: {os.strerror(code)} ({code})'))
                for op, code in failed]

    def _one(self, op: Op) -> None:
        for _op, error in self.execute([op]):
            raise error

    def route_replace(self, route: RouteEntry) -> None:
        """Add or replace a route in its table."""
        self._one(Op(True, route))

    def route_del(self, route: RouteEntry) -> None:
        """Delete a route; a missing route or device is fine."""
        self._one(Op(False, route))

    def rule_add(self, rule: RuleEntry) -> None:
        """Add a rule; an identical one already there is fine (EEXIST)."""
        self._one(Op(True, rule))

    def rule_del(self, rule: RuleEntry) -> None:
        """Delete a rule; a missing one is fine."""
        self._one(Op(False, rule))

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
                src = msg.get_attr('RTA_SRC')
                out.add(RouteEntry(table, ip_network(f'{dst}/{msg["dst_len"]}'), names[oif],
                                   ip_network(f'{src}/{msg["src_len"]}') if src is not None else None))
        return frozenset(out)

    def main_routes(self) -> list[IPNetwork]:
        """The destinations of the main table's routes, default routes left out."""
        out = []
        for family in (socket.AF_INET6, socket.AF_INET):
            for msg in self._dump_routes(family):
                table = msg.get_attr('RTA_TABLE') or msg['table']
                dst = msg.get_attr('RTA_DST')
                if table == MAIN_TABLE and dst is not None and msg['dst_len']:
                    out.append(ip_network(f'{dst}/{msg["dst_len"]}'))
        return out

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
    sends_batches = True  # a burst's routes and rules in one transaction (`batched`)

    def _add_route(self, route: RouteEntry) -> None:
        self.nl.route_replace(route)

    def _del_route(self, route: RouteEntry) -> None:
        self.nl.route_del(route)

    def _add_rule(self, rule: RuleEntry) -> None:
        self.nl.rule_add(rule)

    def _del_rule(self, rule: RuleEntry) -> None:
        self.nl.rule_del(rule)

    def _apply_ops(self, ops: list[Op]) -> list[tuple[Op, DataplaneError]]:
        # One datagram for every route and rule of a binding change: one round trip.
        return self.nl.execute(ops)

    def _observe(self) -> tuple[frozenset[LinkEntry], frozenset[RouteEntry], frozenset[RuleEntry]]:
        return self.nl.our_links(), self.nl.our_routes(), self.nl.our_rules()

    def _delete_link(self, link: LinkEntry) -> None:
        # Ours by name: a tunnel or TUN a previous run left, or one of the other backend's.
        self.nl.link_del(link.ifname)
