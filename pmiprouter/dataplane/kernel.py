"""Kernel backend: ip6tnl / sit / ip6gre / gre devices, routes and rules with pyroute2.

Device per mode (names from :mod:`naming`, so a restart recognises its own orphans):

==========  =================================================================
ip6ip6      ``ip6tnl`` proto 41 (IPv6 in IPv6, RFC 2473)
ip6any      ``ip6tnl`` proto 0 ("any": IPv6 and IPv4 in IPv6, RFC 5844 §3.1.3)
ipv4        ``sit`` proto 0 ("any": IPv6 and IPv4 in IPv4, RFC 5844 §4)
gre6, gre4  ``ip6gre`` / ``gre`` with ikey/okey (RFC 5845)
==========  =================================================================

ip6tnl and ip6gre get the ``encaplimit none`` flag (IP6_TNL_F_IGN_ENCAP_LIMIT), so packets are
plain RFC 2473 / RFC 5213 encapsulations without a Tunnel Encapsulation Limit option.
IPv4-UDP (RFC 5844 §4.1.4.1) has no kernel tunnel device: those modes raise
:class:`UnsupportedMode` here and are served by the userspace backend.
"""

from __future__ import annotations

import socket
from typing import Any

from pmiprouter.dataplane.interface import (
    DataplaneError,
    TunnelMode,
    TunnelSpec,
    UnsupportedMode,
)
from pmiprouter.dataplane.netlink import Netlink, NetlinkDataplane

#: ip6_tunnel.h: do not add the Tunnel Encapsulation Limit option ("encaplimit none").
IP6_TNL_F_IGN_ENCAP_LIMIT = 0x1
#: GRE_KEY flag, network order on the wire (if_tunnel.h: __cpu_to_be16(0x2000)).
GRE_KEY = 0x2000
TTL = 64


def link_attrs(spec: TunnelSpec) -> tuple[str, dict[str, Any]]:
    """Return the link kind and pyroute2 attributes for a tunnel spec."""
    local, remote = str(spec.local), str(spec.remote)
    mode = spec.mode
    if mode in (TunnelMode.IP6IP6, TunnelMode.IP6_ANY):
        return 'ip6tnl', {
            'ip6tnl_local': local, 'ip6tnl_remote': remote, 'ip6tnl_ttl': TTL,
            'ip6tnl_proto': socket.IPPROTO_IPV6 if mode is TunnelMode.IP6IP6 else 0,
            'ip6tnl_flags': IP6_TNL_F_IGN_ENCAP_LIMIT,
        }
    if mode is TunnelMode.IP4:
        return 'sit', {'sit_local': local, 'sit_remote': remote, 'sit_ttl': TTL, 'sit_proto': 0}
    if mode is TunnelMode.GRE4:
        attrs: dict[str, Any] = {'gre_local': local, 'gre_remote': remote, 'gre_ttl': TTL}
        # pyroute2 encodes IFLA_GRE_[IO]FLAGS for "gre" as big-endian ('>H'), so pass the host value.
        _keys(attrs, 'gre', spec, GRE_KEY)
        return 'gre', attrs
    if mode is TunnelMode.GRE6:
        attrs = {'ip6gre_local': local, 'ip6gre_remote': remote, 'ip6gre_ttl': TTL,
                 'ip6gre_flags': IP6_TNL_F_IGN_ENCAP_LIMIT}
        # ... but for "ip6gre" as host-order uint16, so pass the byte-swapped value.
        _keys(attrs, 'ip6gre', spec, socket.htons(GRE_KEY))
        return 'ip6gre', attrs
    raise UnsupportedMode(f'the kernel backend has no device for {mode.value}; use dataplane userspace')


def _keys(attrs: dict[str, Any], prefix: str, spec: TunnelSpec, flag: int) -> None:
    if spec.gre_key_in is not None:
        attrs[f'{prefix}_ikey'] = spec.gre_key_in
        attrs[f'{prefix}_iflags'] = flag
    if spec.gre_key_out is not None:
        attrs[f'{prefix}_okey'] = spec.gre_key_out
        attrs[f'{prefix}_oflags'] = flag


class KernelDataplane(NetlinkDataplane):
    """Programs the kernel's own tunnels; see the module docstring."""

    backend_name = 'kernel'

    def __init__(self) -> None:
        super().__init__()
        self.nl = Netlink()

    def _create_tunnel(self, spec: TunnelSpec, name: str) -> str:
        kind, attrs = link_attrs(spec)
        created = self.nl.link_add(name, kind, **attrs)
        if not created:
            # Same name means same identity (naming hashes it); check the kind all the same.
            kinds = {link.ifname: link.kind for link in self.nl.our_links()}
            if name not in kinds:
                # EEXIST without our device: the kernel allows one tunnel per endpoint pair
                # (and key), and another device holds this one's endpoints.
                keys = f' and keys {spec.gre_key_in}/{spec.gre_key_out}' if spec.keyed else ''
                raise DataplaneError(f'cannot create {kind} {name}: another tunnel device has the '
                                     f'endpoints {spec.local} -> {spec.remote}{keys}')
            if kinds[name] != kind:
                raise DataplaneError(f'{name} exists as {kinds[name]}, wanted {kind}')
        self.nl.link_up(name, spec.effective_mtu)
        return name

    def _delete_tunnel(self, spec: TunnelSpec, name: str) -> None:
        self.nl.link_del(name)


    def close(self) -> None:
        """Close the netlink socket; devices, routes and rules stay for the next reconcile."""
        self.nl.close()
