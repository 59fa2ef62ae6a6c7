"""The MAG's forwarding and home-link emulation: tunnels, per-MN routes, RAs, DHCP (pure).

RFC 5213 §6.10 (one tunnel per MAG-LMA pair shared by all MNs; per-MN policy routes),
§6.9.5 (MTU), §6.6-§6.7 and §6.12 (RAs: HNPs on-link after the PBA, withdrawn with lifetime
0), RFC 5844 §3.4 (DHCPv4 server lease), §4.2.2 (IPv4 transport modes), RFC 5845 (GRE keys:
the tunnel becomes per MN).
"""

from __future__ import annotations

import itertools
from ipaddress import IPv6Address

from pmiprouter.core.actions import ApplyDataplane
from pmiprouter.core.binding_update_list import FORWARDING, BulEntry
from pmiprouter.core.events import Transport
from pmiprouter.core.mag_events import OfferIpv4, RevokeIpv4, SendRouterAdvertisement
from pmiprouter.core.mag_policy import MagPolicy
from pmiprouter.dataplane.interface import MnRouteSpec, Role, TunnelMode, TunnelSpec


class Forwarding:
    """Tunnel users and data-plane tickets; builds the access-link actions of one entry."""

    def __init__(self, policy: MagPolicy) -> None:
        self.policy = policy
        self.tunnel_users: dict[TunnelSpec, set[int]] = {}
        self.pending: dict[int, int] = {}  # data-plane ticket -> entry id
        self._tickets = itertools.count(1)

    # ---- data plane --------------------------------------------------------------------

    def tunnel(self, entry: BulEntry) -> TunnelSpec:
        """The tunnel to the entry's LMA: shared unless GRE keys make it per MN (RFC 5845)."""
        if entry.transport is Transport.IPV6:
            mode = TunnelMode.GRE6 if entry.use_gre else TunnelMode.IP6_ANY
        elif entry.use_gre:
            mode = TunnelMode.GRE4
        else:
            mode = TunnelMode.UDP4 if entry.udp else TunnelMode.IP4
        keys = (entry.gre_key_in, entry.gre_key_out) if entry.use_gre else (None, None)
        mtu = self.policy.tunnel_mtu
        return TunnelSpec(entry.local, entry.lma, mode, gre_key_in=keys[0], gre_key_out=keys[1], mtu=mtu)

    def route(self, entry: BulEntry) -> MnRouteSpec:
        """Uplink from the MN's prefixes / IPv4 HoA into the tunnel, downlink to its access link."""
        ipv4 = entry.ipv4.ip if entry.ipv4 is not None else None
        tunnel = self.tunnel(entry)
        return MnRouteSpec(Role.MAG, tunnel, entry.hnps, ipv4, access_ifname=entry.ifname, label=entry.mn_id.text)

    def install(self, entry: BulEntry) -> ApplyDataplane:
        """Point the MN's routes at its tunnel, replacing what it had (handover of prefixes)."""
        route = self.route(entry)
        old = entry.route
        ensure_tunnels = self._use(route.tunnel, entry.entry_id)
        remove_routes: tuple[MnRouteSpec, ...] = ()
        remove_tunnels: tuple[TunnelSpec, ...] = ()
        if old is not None and old != route:
            # The backend replaces a binding with overlapping prefixes in place; a disjoint
            # old set (the LMA granted other prefixes) has to be removed explicitly.
            if not set(old.prefixes) & set(route.prefixes):
                remove_routes = (old,)
            if old.tunnel != route.tunnel:
                remove_tunnels = self._release(old.tunnel, entry.entry_id)
        entry.route = route
        return self._ticket(entry, ApplyDataplane(0, ensure_tunnels, (route,), remove_routes, remove_tunnels))

    def uninstall(self, entry: BulEntry) -> ApplyDataplane | None:
        """Remove the MN's routes and, if it was the last user, the tunnel (§6.9.1.4)."""
        old, entry.route = entry.route, None
        if entry.pending_ticket is not None:
            self.pending.pop(entry.pending_ticket, None)
            entry.pending_ticket = None
        if old is None:
            return None
        tunnels = self._release(old.tunnel, entry.entry_id)
        return ApplyDataplane(next(self._tickets), remove_routes=(old,), remove_tunnels=tunnels)

    def _ticket(self, entry: BulEntry, apply: ApplyDataplane) -> ApplyDataplane:
        ticket = next(self._tickets)
        if entry.pending_ticket is not None:
            self.pending.pop(entry.pending_ticket, None)
        entry.pending_ticket = ticket
        self.pending[ticket] = entry.entry_id
        return ApplyDataplane(ticket, apply.ensure_tunnels, apply.ensure_routes, apply.remove_routes, apply.remove_tunnels)

    def _use(self, tunnel: TunnelSpec, entry_id: int) -> tuple[TunnelSpec, ...]:
        users = self.tunnel_users.setdefault(tunnel, set())
        first = not users
        users.add(entry_id)
        return (tunnel,) if first else ()

    def _release(self, tunnel: TunnelSpec, entry_id: int) -> tuple[TunnelSpec, ...]:
        users = self.tunnel_users.get(tunnel)
        if users is None:
            return ()
        users.discard(entry_id)
        if users:
            return ()
        del self.tunnel_users[tunnel]
        return (tunnel,)

    # ---- access link -------------------------------------------------------------------

    def mtu(self, entry: BulEntry) -> int:
        """RFC 5213 §6.9.5: min(tunnel MTU, access link MTU)."""
        interface = self.policy.interface(entry.ifname)
        link_mtu = interface.mtu if interface is not None else 1500
        # The installed route's tunnel is the entry's tunnel: no need to build the spec again.
        tunnel = entry.route.tunnel if entry.route is not None else self.tunnel(entry)
        return min(tunnel.effective_mtu, link_mtu)

    def source(self, entry: BulEntry) -> IPv6Address | None:
        """Our link-local address on the MN's link: the domain's fixed one or the LMA's."""
        fixed = self.policy.fixed_link_local
        return fixed if fixed is not None and int(fixed) else entry.link_local

    def advertise(self, entry: BulEntry, now: float) -> SendRouterAdvertisement:
        """An RA with the MN's HNPs, their lifetimes tracking the binding's (§6.7)."""
        lifetime = max(0, int(entry.expires_at - now))
        return SendRouterAdvertisement(
            entry.ifname,
            entry.mac,
            entry.hnps,
            lifetime,
            self.mtu(entry),
            self.policy.router_lifetime_s,
            self.source(entry),
            self.policy.fixed_link_layer,
        )

    def withdraw(self, entry: BulEntry) -> SendRouterAdvertisement:
        """The HNPs with lifetime 0 and no default router: the service ended (§6.12)."""
        source_mac = self.policy.fixed_link_layer
        return SendRouterAdvertisement(entry.ifname, entry.mac, entry.hnps, 0, self.mtu(entry), 0, self.source(entry), source_mac)

    def offer(self, entry: BulEntry) -> OfferIpv4 | None:
        """The lease the DHCPv4 server may give (RFC 5844 §3.4.1), or None without IPv4 service."""
        if entry.ipv4 is None:
            return None
        hoa = entry.ipv4
        relay = entry.dhcp_server is False
        return OfferIpv4(entry.ifname, entry.mac, hoa.ip, hoa.prefix_length, entry.ipv4_router, self.mtu(entry), relay)

    @staticmethod
    def revoke(entry: BulEntry) -> RevokeIpv4:
        return RevokeIpv4(entry.ifname, entry.mac)

    def stop_serving(self, entry: BulEntry, withdraw: bool = True) -> list[ApplyDataplane | RevokeIpv4 | SendRouterAdvertisement]:
        """Everything the MN was given goes: its prefixes (RA lifetime 0, if `withdraw` and it
        was being served), its IPv4 lease, its routes (and the tunnel, if it was the last user)."""
        actions: list[ApplyDataplane | RevokeIpv4 | SendRouterAdvertisement] = []
        if withdraw and entry.state in FORWARDING and entry.hnps:
            actions.append(self.withdraw(entry))
        if entry.ipv4 is not None:
            actions.append(self.revoke(entry))
        apply = self.uninstall(entry)
        if apply is not None:
            actions.append(apply)
        return actions
