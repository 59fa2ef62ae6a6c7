"""Userspace backend: one TUN device, raw/UDP sockets, encapsulation on the packet pump thread.

Routes and rules are the kernel backend's (same :mod:`plan`), except that they point at the
daemon's TUN device ``pmiptun0`` instead of a tunnel device, and that at the LMA each pool is
one route into it (:meth:`anchor_pools`): the forwarder's prefix table, not the kernel, holds
each MN's prefix. No tunnel has a device of its own, keyed GRE tunnels (RFC 5845, one per MN)
included, so a handover never creates or deletes a device. A keyed tunnel's MN may share a
private IPv4 address with an MN of another realm (at the LMA) or of another access link (at the
MAG): the MNs of each such domain are behind a TUN device of the domain's own (:class:`Domain`,
made with the domain's first keyed MN and kept while the daemon runs), whose packets the
forwarder looks up in the domain's tables only.

Threads: the public methods run on the dataplane worker thread (netlink, TUN creation), or
inline on the reactor for a route-only change (runtime/dataplane_worker.py); a binding change
puts or drops its MN's prefixes in the forwarding tables in place, tunnels coming or going
publish a new :class:`Tables` (ADR 0009), and the packet pump thread (:mod:`pump`, ADR 0008) is
asked to (un)register and close descriptors. Passing a reactor turns forwarding on (the pump is a
thread of its own, not a reactor reader); without one the backend programs routes only, which
the behavioural tests use.
"""

from __future__ import annotations

import logging
import os
import socket
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Callable, TypeVar

from pmiprouter.dataplane import encap
from pmiprouter.dataplane.interface import DataplaneError, DataplaneState, IPNetwork, MnRouteSpec, Role, TunnelSpec
from pmiprouter.dataplane.naming import TUN_IFNAME, domain_ifname
from pmiprouter.dataplane.netlink import Netlink, NetlinkDataplane
from pmiprouter.dataplane.tables import CARRIER, PrefixTable, Tables, TunnelCtx, prefix_key
from pmiprouter.dataplane.tun import open_tun

log = logging.getLogger(__name__)
_T = TypeVar('_T')

#: TUN MTU: large, so oversized packets reach us and get a PTB with the *tunnel* MTU.
TUN_MTU = 9000


def _sysctl(path: str, value: str) -> None:
    """Write a per-device sysctl; missing files (e.g. IPv6 disabled) are logged, not fatal."""
    try:
        with open(f'/proc/sys/net/{path}', 'w') as f:
            f.write(value)
    except OSError as exc:
        log.warning('sysctl %s=%s failed: %s', path, value, exc)


@dataclass(eq=False)
class Domain:
    """A TUN device and the lookups of the MNs behind it: who holds each prefix, per role (a
    tunnel context, or a list of them in publishing order while bindings overlap)."""

    fd: int
    lma: PrefixTable = field(default_factory=PrefixTable)
    mag: PrefixTable = field(default_factory=PrefixTable)
    lma_holders: dict[IPNetwork, TunnelCtx | list[TunnelCtx]] = field(default_factory=dict)
    mag_holders: dict[IPNetwork, TunnelCtx | list[TunnelCtx]] = field(default_factory=dict)


class UserspaceDataplane(NetlinkDataplane):
    """See the module docstring."""

    backend_name = 'userspace'

    def __init__(self, reactor: Any = None) -> None:
        super().__init__()
        self.reactor = reactor
        self.nl = Netlink()
        try:
            self.tun_fd, name = open_tun(TUN_IFNAME)
        except OSError as exc:
            self.nl.close()
            raise DataplaneError(f'cannot open TUN {TUN_IFNAME} (another daemon running?): {exc}') from exc
        self._prepare_tun(name)
        self._domains = {TUN_IFNAME: Domain(self.tun_fd)}  # device name -> its domain
        self._sockets: dict[tuple[str, int, str], socket.socket] = {}
        self.forwarder: Any = None
        self.pump: Any = None
        self._watched_fds: tuple[object, ...] = ()  # what the pump was last told to watch
        # Incremental forwarding state (see `_changed`): contexts by tunnel name, and which MNs
        # are in the domains' tables (with their context).
        self._ctxs: dict[str, TunnelCtx] = {}
        self._published: dict[MnRouteSpec, TunnelCtx] = {}
        self._touched: set[MnRouteSpec] | None = None
        self._dirty_tunnels: set[str] = set()
        self._reconciling = False
        if reactor is not None:
            from pmiprouter.dataplane.forwarder import Forwarder
            from pmiprouter.dataplane.pump import Pump

            self.forwarder = Forwarder(self.tun_fd)
            self.pump = Pump()
            self._sync_readers()
            self.pump.start()

    def _prepare_tun(self, name: str) -> None:
        # Decapsulated packets come out of the TUN with foreign sources (strict rp_filter would
        # drop them) and ICMP errors we generate may use our own transport address as source.
        _sysctl(f'ipv4/conf/{name}/rp_filter', '0')
        _sysctl(f'ipv4/conf/{name}/accept_local', '1')
        self.nl.link_up(name, TUN_MTU)

    # -- primitives ---------------------------------------------------------------------------

    def _make_tunnel(self, spec: TunnelSpec, name: str) -> str:
        if self.pump is not None:
            self._open_sockets(spec)
        return TUN_IFNAME

    def _device_name(self, spec: TunnelSpec, name: str) -> str:
        return TUN_IFNAME

    def _always_links(self) -> frozenset[str]:
        return frozenset(self._domains)

    def _keyed_device(self, spec: MnRouteSpec, tunnel_dev: str) -> str:
        name = self._domain_name(spec)
        if name not in self._domains:
            self._send_held()  # a device comes: what the batch asked for so far goes first, in order
            try:
                fd, _ = open_tun(name)
            except OSError as exc:
                raise DataplaneError(f'cannot open TUN {name}: {exc}') from exc
            self._domains[name] = Domain(fd)
            self._prepare_tun(name)
            if self.forwarder is not None and not self._reconciling:
                self._publish_tables()
        return name

    @staticmethod
    def _domain_name(mn: MnRouteSpec) -> str:
        """The TUN device an MN is behind: its realm's or access link's for a keyed tunnel
        (private addresses may repeat from one to the other), else the shared one."""
        tunnel = mn.tunnel
        if not (tunnel.gre_key_in is not None or tunnel.gre_key_out is not None):  # (tunnel.keyed, inline)
            return TUN_IFNAME
        if mn.role is Role.LMA:
            return TUN_IFNAME if mn.realm_ifname is None else domain_ifname('realm', mn.realm_ifname)
        return domain_ifname('access', mn.access_ifname or '')

    def _pool_device(self) -> str:
        # Every unkeyed tunnel's packets reach the forwarder through the one TUN device, and its
        # prefix table finds the MN's tunnel: the kernel needs one route per LMA pool.
        return TUN_IFNAME

    def _poolable(self, prefixes: tuple[IPNetwork, ...]) -> tuple[IPNetwork, ...]:
        # The role table is looked up before the main table: a pool's route there would take the
        # packets of a more specific main route inside the pool (a transport link numbered from
        # it, say) into the TUN. Such a pool keeps a route per MN, as the kernel backend has.
        inside = self.nl.main_routes()
        kept = []
        for pool in prefixes:
            clash = next((route for route in inside if route.version == pool.version and route.subnet_of(pool)), None)  # type: ignore[arg-type]
            if clash is None:
                kept.append(pool)
            else:
                log.warning('pool %s holds route %s of the main table: each of its MNs gets a route of its own', pool, clash)
        return tuple(kept)

    # -- forwarding state ---------------------------------------------------------------------

    def _open_sockets(self, spec: TunnelSpec) -> None:
        carrier = CARRIER[spec.mode]
        for version in self._versions(spec):
            key = self._socket_key(carrier, version, spec)
            if key not in self._sockets:
                from pmiprouter.dataplane.forwarder import open_carrier_socket

                try:
                    self._sockets[key] = open_carrier_socket(carrier, version, str(spec.local))
                except OSError as exc:
                    raise DataplaneError(f'cannot open {carrier} socket on {spec.local}: {exc}') from exc

    @staticmethod
    def _socket_key(carrier: str, version: int, spec: TunnelSpec) -> tuple[str, int, str]:
        # ip6/ip4 need one socket per inner version (protocol 41 vs 4); GRE and UDP carry both.
        return (carrier, version if carrier in ('ip6', 'ip4') else 0, str(spec.local))

    @staticmethod
    def _versions(spec: TunnelSpec) -> tuple[int, ...]:
        return (6, 4) if spec.mode.carries_ipv4 else (6,)

    # -- forwarding tables: what changed, not everything ---------------------------------------
    #
    # A binding change touches one mobile node (and the binding it displaces): only their
    # prefixes are put in or dropped from the prefix tables, in place (tables.PrefixTable says
    # why the pump may read them meanwhile). Tunnels coming or going publish a new Tables
    # object (O(tunnels)); only a reconcile or a tunnel whose spec changed (its contexts are
    # rebuilt) walks every binding again.

    def ensure_tunnel(self, spec: TunnelSpec) -> str:
        return self._tracking(set(), lambda: super(UserspaceDataplane, self).ensure_tunnel(spec))

    def remove_tunnel(self, spec: TunnelSpec) -> None:
        self._tracking(set(), lambda: super(UserspaceDataplane, self).remove_tunnel(spec))

    def ensure_mn_routes(self, spec: MnRouteSpec) -> None:
        # The specs whose presence this can change: `spec` and those it may displace (they
        # share a prefix with it); the base class decides which, we publish the outcome.
        self._touched = self._sharing(spec)
        try:
            super().ensure_mn_routes(spec)
        finally:
            self._touched = None

    def remove_mn_routes(self, spec: MnRouteSpec) -> None:
        self._tracking({spec}, lambda: super(UserspaceDataplane, self).remove_mn_routes(spec))

    def _tracking(self, touched: set[MnRouteSpec] | None, call: Callable[[], _T]) -> _T:
        """Run a base-class change telling `_changed` which mobile nodes it may have touched."""
        self._touched = touched
        try:
            return call()
        finally:
            self._touched = None

    def _create_tunnel(self, spec: TunnelSpec, name: str) -> str:
        self._dirty_tunnels.add(name)
        return self._make_tunnel(spec, name)

    def _delete_tunnel(self, spec: TunnelSpec, name: str) -> None:
        self._dirty_tunnels.add(name)

    def reconcile(self, wanted: DataplaneState) -> None:
        # Re-registers every wanted tunnel and MN: publish them once at the end, not one by one.
        self._reconciling = True
        try:
            super().reconcile(wanted)
        finally:
            self._reconciling = False
            self._dirty_tunnels.clear()
            if self.forwarder is not None:
                self._rebuild()

    def _changed(self) -> None:
        if self.forwarder is None or self._reconciling:
            return
        dirty = self._dirty_tunnels
        if dirty:
            self._dirty_tunnels = set()
        touched = self._touched
        if touched is None or (dirty and any(self._respecified(name) for name in dirty)):
            self._rebuild()  # unknown change, or a tunnel whose contexts change
            return
        if dirty:
            self._update_tunnels(dirty)
        for mn in touched:
            held = mn in self._mns
            if mn in self._published:
                if not held:
                    self._unpublish(mn)
            elif held:
                self._publish(mn)

    def _respecified(self, name: str) -> bool:
        """True when a tunnel we have a context for was ensured again with another spec (MTU)."""
        ctx, held = self._ctxs.get(name), self._tunnels.get(name)
        return ctx is not None and held is not None and ctx.spec != held[0]

    def _rebuild(self) -> None:
        """Every context and table from scratch, published as one new Tables object."""
        self._ctxs = {name: self._ctx(name, spec) for name, (spec, _dev) in self._tunnels.items()}
        self._published = {}
        self._domains = {name: Domain(domain.fd) for name, domain in self._domains.items()}
        for mn in self._mns:
            self._publish(mn)
        self._publish_tables()

    def _update_tunnels(self, names: set[str]) -> None:
        """Tunnels created or deleted (never one in use: the base class refuses that)."""
        for name in names:
            held = self._tunnels.get(name)
            if held is None:
                self._ctxs.pop(name, None)
            elif name not in self._ctxs:
                self._ctxs[name] = self._ctx(name, held[0])
        self._publish_tables()

    def _publish_tables(self) -> None:
        peers: dict[tuple[Any, ...], TunnelCtx] = {}
        for ctx in self._ctxs.values():
            spec = ctx.spec
            if ctx.carrier in ('gre6', 'gre4') or spec.keyed:
                peers[(ctx.carrier, str(spec.remote), spec.gre_key_in)] = ctx
            else:
                peers[(ctx.carrier, str(spec.remote))] = ctx
        shared = self._domains[TUN_IFNAME]
        by_fd = {domain.fd: (domain.lma, domain.mag) for name, domain in self._domains.items() if name != TUN_IFNAME}
        # One assignment: the pump thread sees either the old tables or the new ones.
        self.forwarder.tables = Tables(shared.lma, shared.mag, peers, by_fd)
        # Waking the pump thread costs the reactor a GIL hand-over in the middle of a handover:
        # only when the descriptors to watch changed (a domain or a socket came).
        fds = (*((name, domain.fd) for name, domain in self._domains.items()),
               *((key, id(sock)) for key, sock in self._sockets.items()))
        if fds != self._watched_fds:
            self._watched_fds = fds
            self.pump.call(self._sync_readers)

    def _publish(self, mn: MnRouteSpec) -> None:
        """Put the MN's prefixes in its tunnel's table (the check of what may come out of the
        tunnel) and in its domain's lookup (which tunnel a packet into the TUN goes to)."""
        ctx = self._ctxs[self._tunnel_name(mn.tunnel)]
        self._published[mn] = ctx
        domain = self._domains[self._domain_name(mn)]
        ctx.tun_fd = domain.fd  # (a keyed tunnel's packets come out into its MN's domain)
        if mn.role is Role.LMA:
            holders, own, table = domain.lma_holders, ctx.lma_prefixes, domain.lma
        else:
            holders, own, table = domain.mag_holders, ctx.mag_prefixes, domain.mag
        for net in mn.prefixes:
            held = holders.get(net)
            # One holder is the context itself (nearly always, and ~70 bytes less per prefix
            # than a list); a list in publishing order while bindings overlap.
            if held is None:
                holders[net] = ctx
            elif type(held) is list:
                held.append(ctx)
            else:
                holders[net] = [held, ctx]
            key = prefix_key(net)
            own.put(net, ctx, key)
            table.put(net, ctx, key)

    def _unpublish(self, mn: MnRouteSpec) -> None:
        ctx = self._published.pop(mn)
        domain = self._domains[self._domain_name(mn)]
        if mn.role is Role.LMA:
            holders, own, table = domain.lma_holders, ctx.lma_prefixes, domain.lma
        else:
            holders, own, table = domain.mag_holders, ctx.mag_prefixes, domain.mag
        for net in mn.prefixes:
            held = holders.pop(net, None)
            if held is None:
                continue
            if type(held) is not list:
                if held is not ctx:
                    raise ValueError(f'{mn} is not a holder of {net}')
                rest: list[TunnelCtx] = []
            else:
                rest = list(held)
                rest.remove(ctx)  # (its first place: the ones after it were published later)
                holders[net] = rest[0] if len(rest) == 1 else rest
            key = prefix_key(net)
            if ctx not in rest:
                own.drop(net, key)
            if rest:
                table.put(net, rest[-1], key)  # another binding still holds it (the latest wins)
            else:
                table.drop(net, key)

    def _ctx(self, name: str, spec: TunnelSpec) -> TunnelCtx:
        carrier = CARRIER[spec.mode]
        senders = {}
        for version in self._versions(spec):
            senders[version] = self._sockets[self._socket_key(carrier, version, spec)]
        port = 5437 if carrier == 'udp' else 0
        remote = (str(spec.remote), port, 0, 0) if spec.remote.version == 6 else (str(spec.remote), port)
        gre = {v: encap.gre_header(spec.gre_key_out, v) for v in senders} if spec.mode.uses_gre else {}
        return TunnelCtx(
            name=name, spec=spec, carrier=carrier, remote=remote, mtu=spec.effective_mtu,
            tun_fd=self.tun_fd, senders=senders, gre=gre,
            icmp6_src=spec.local.packed if spec.local.version == 6 else None,
            icmp4_src=spec.local.packed if spec.local.version == 4 else encap.IPV4_DUMMY,
        )

    def _sync_readers(self) -> None:
        """Pump thread: watch every TUN fd and socket with its drain, drop stale ones."""
        fwd = self.forwarder
        wanted: dict[int, Any] = {}
        # Copies: the worker thread may be adding entries while this runs.
        for fd in [domain.fd for domain in list(self._domains.values())]:
            wanted[fd] = lambda fd=fd: fwd.drain_tun(fd)
        for (carrier, version, _local), sock in list(self._sockets.items()):
            if carrier in ('ip6', 'gre6'):
                wanted[sock.fileno()] = lambda s=sock, c=carrier, v=version: fwd.drain_raw6(s, c, v)
            elif carrier in ('ip4', 'gre4'):
                wanted[sock.fileno()] = lambda s=sock, c=carrier: fwd.drain_raw4(s, c)
            else:
                wanted[sock.fileno()] = lambda s=sock: fwd.drain_udp(s)
        watched = self.pump.watched()
        for fd in watched - wanted.keys():
            self.pump.remove(fd)
        for fd, drain in wanted.items():
            if fd not in watched:
                self.pump.add(fd, drain)

    def _close_fd(self, fd: int) -> None:
        if self.pump is not None:
            self.pump.remove(fd)
        os.close(fd)

    def counters(self) -> Counter[str]:
        """Return a copy of the forwarding counters (empty without a reactor)."""
        return Counter(self.forwarder.counters) if self.forwarder else Counter()

    def close(self) -> None:
        """Close sockets and TUN devices (their routes vanish with them); rules stay.

        Stops the pump thread first (joins it), so no drain runs on a closed descriptor.
        """
        if self.pump is not None:
            self.pump.stop()
        for domain in self._domains.values():
            self._close_fd(domain.fd)
        for sock in self._sockets.values():
            if self.pump is not None:
                self.pump.remove(sock.fileno())
            sock.close()
        self._sockets.clear()
        self.nl.close()
