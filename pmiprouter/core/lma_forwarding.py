"""The LMA's forwarding: which tunnel and routes a binding needs, and who uses each tunnel (pure).

RFC 5213 §5.6: one bi-directional tunnel per MAG (per LMA address and encapsulation) shared by
all the MNs it serves; RFC 5845: per-MN GRE keys make the tunnel the MN's own. A tunnel is
created with its first binding and removed with its last.
"""

from __future__ import annotations

from pmiprouter.core.binding_cache import BindingCacheEntry
from pmiprouter.core.events import IPAddress, Transport
from pmiprouter.dataplane.interface import MnRouteSpec, TunnelMode, TunnelSpec

_lma_spec = MnRouteSpec.lma  # the LMA's route spec, built once per registration


class LmaForwarding:
    """Tunnels of bindings, their route specs, and how many bindings use each tunnel."""

    def __init__(self) -> None:
        self.tunnel_users: dict[TunnelSpec, int] = {}  # a count, not a set of ids: ~40 bytes less per binding
        self._shared: dict[tuple[IPAddress, IPAddress, TunnelMode], TunnelSpec] = {}
        self._last: tuple[IPAddress, IPAddress, TunnelMode, TunnelSpec] | None = None

    def tunnel(self, entry: BindingCacheEntry) -> TunnelSpec:
        """The entry's tunnel: shared by every MN of its MAG, except with per-MN GRE keys (RFC 5845)."""
        if entry.transport is Transport.IPV6:
            mode = TunnelMode.GRE6 if entry.use_gre else TunnelMode.IP6_ANY
        elif entry.use_gre:
            mode = TunnelMode.UDP4_TLV if entry.tlv else TunnelMode.GRE4
        else:
            mode = TunnelMode.UDP4 if entry.udp else TunnelMode.IP4
        if entry.use_gre:  # per-MN keys: a tunnel of its own
            return TunnelSpec(entry.local, entry.proxy_coa, mode, gre_key_in=entry.gre_key_in, gre_key_out=entry.gre_key_out)
        # Shared tunnels (a few: one per MAG and mode) are built once, not per registration; the
        # last one used is recognised by identity (interned addresses, Books.intern).
        last = self._last
        if last is not None and last[0] is entry.local and last[1] is entry.proxy_coa and last[2] is mode:
            return last[3]
        key = (entry.local, entry.proxy_coa, mode)
        spec = self._shared.get(key)
        if spec is None:
            spec = self._shared[key] = TunnelSpec(entry.local, entry.proxy_coa, mode)
        self._last = (entry.local, entry.proxy_coa, mode, spec)
        return spec

    def route(self, entry: BindingCacheEntry) -> MnRouteSpec:
        """The MN's prefixes and IPv4 HoA routed into its tunnel."""
        ipv4 = entry.ipv4.ip if entry.ipv4 is not None else None
        return _lma_spec(self.tunnel(entry), entry.hnps, ipv4, entry.mn_id.text)

    def use(self, entry: BindingCacheEntry, tunnel: TunnelSpec) -> tuple[TunnelSpec, ...]:
        """Make `tunnel` the one `entry` is counted on; returns it when it has to be created (its
        first user). The caller releases the old one."""
        if entry.tunnel is not None and (entry.tunnel is tunnel or entry.tunnel == tunnel):
            return ()
        users = self.tunnel_users.get(tunnel, 0)
        self.tunnel_users[tunnel] = users + 1
        entry.tunnel = tunnel
        return () if users else (tunnel,)

    def release(self, tunnel: TunnelSpec) -> tuple[TunnelSpec, ...]:
        """One binding less on `tunnel`; returns it when that was the last one (remove it)."""
        users = self.tunnel_users.get(tunnel)
        if users is None:
            return ()
        if users > 1:
            self.tunnel_users[tunnel] = users - 1
            return ()
        del self.tunnel_users[tunnel]
        return (tunnel,)
