"""Which routes and rules a mobile node needs: one pure function shared by every backend.

Because the kernel, userspace and memory backends all derive their objects from
:func:`mn_objects`, a snapshot taken from one backend can be compared with another's.

Objects per mobile node, for each home prefix A (HNPs and the IPv4 HoA /32), with T the
tunnel's table and D the device carrying the tunnel:

- MAG (RFC 5213 §6.10.5): ``T: default dev D`` and ``T: A dev <access>``;
  rules ``from A iif <access> lookup T`` (uplink), ``to A iif D lookup T`` (downlink) and
  ``to A iif lo lookup T`` (the MAG's own packets to the MN, e.g. ICMP errors).
- LMA (RFC 5213 §5.6.2): ``T: A dev D``; rule ``to A [iif <realm>] lookup T``; with a realm
  also ``T: default dev <realm>`` and ``iif D lookup T`` so uplink stays in the realm.

T is the tunnel's own table, except behind the user-space backend's shared TUN device (no
realm): there one table per role serves every tunnel, since the forwarder picks the tunnel.

Purity: no I/O.
"""

from __future__ import annotations

from ipaddress import IPv4Network, IPv6Network

from pmiprouter.dataplane.interface import IPNetwork, MnRouteSpec, Role, RouteEntry, RuleEntry
from pmiprouter.dataplane.naming import (
    PRIO_LMA_DOWN,
    PRIO_MAG_DOWN,
    PRIO_MAG_LOCAL,
    PRIO_MAG_UP,
    PRIO_REALM_UP,
    SHARED_TUN_TABLE_LMA,
    SHARED_TUN_TABLE_MAG,
    TUN_IFNAME,
    tunnel_table,
)

#: Linux address family numbers, used in RuleEntry (AF_INET, AF_INET6).
FAMILY_V4 = 2
FAMILY_V6 = 10

DEFAULT_V6 = IPv6Network('::/0')
DEFAULT_V4 = IPv4Network('0.0.0.0/0')


def family_of(net: IPNetwork) -> int:
    """Return the Linux address family number of a network."""
    return FAMILY_V6 if net.version == 6 else FAMILY_V4


def mn_objects(
    spec: MnRouteSpec, tunnel_name: str, dev: str
) -> tuple[tuple[RouteEntry, ...], tuple[RuleEntry, ...]]:
    """Return the routes and rules one mobile node needs, each once, in a stable order
    (the spec's prefixes, then the defaults): backends install them in this order.

    Args:
        spec: the mobile node's forwarding spec.
        tunnel_name: the tunnel's deterministic name (selects the table).
        dev: the device packets for the tunnel are routed to (the tunnel device itself, or the
            userspace backend's TUN device).
    """
    if dev == TUN_IFNAME and spec.realm_ifname is None:
        # The user-space backend's shared TUN: the kernel only has to steer the prefix into it
        # (its forwarder chooses the tunnel), so every MN of a role shares one table, and a
        # handover between two such tunnels changes no kernel object at all.
        table = SHARED_TUN_TABLE_LMA if spec.role is Role.LMA else SHARED_TUN_TABLE_MAG
    else:
        table = tunnel_table(tunnel_name)
    # Lists, not sets: no entry repeats, and hashing networks is what a route change costs most.
    routes: list[RouteEntry] = []
    rules: list[RuleEntry] = []
    versions: list[int] = []
    if spec.role is Role.LMA and not spec.realm_ifname:
        # The LMA's usual case, on every registration: a route and a rule per prefix, no defaults.
        for net in spec.prefixes:
            fam = FAMILY_V6 if net.version == 6 else FAMILY_V4
            routes.append(_new_tuple(RouteEntry, (table, net, dev)))
            rules.append(_new_tuple(RuleEntry, (PRIO_LMA_DOWN, table, fam, None, net, spec.realm_ifname)))
        return tuple(routes), tuple(rules)
    for net in spec.prefixes:
        version = net.version
        if version not in versions:
            versions.append(version)
        fam = FAMILY_V6 if version == 6 else FAMILY_V4
        if spec.role is Role.MAG:
            assert spec.access_ifname is not None
            routes.append(RouteEntry(table, net, spec.access_ifname))
            rules.append(RuleEntry(PRIO_MAG_UP, table, fam, net, None, spec.access_ifname))
            rules.append(RuleEntry(PRIO_MAG_DOWN, table, fam, None, net, dev))
            # Packets the MAG itself sends to the MN (ICMP errors such as Packet Too Big from a
            # kernel tunnel) come from "lo"; the main table has no route to the HNP.
            rules.append(RuleEntry(PRIO_MAG_LOCAL, table, fam, None, net, 'lo'))
        else:
            routes.append(RouteEntry(table, net, dev))
            rules.append(RuleEntry(PRIO_LMA_DOWN, table, fam, None, net, spec.realm_ifname))
    for version in versions:
        default = DEFAULT_V6 if version == 6 else DEFAULT_V4
        fam = FAMILY_V6 if version == 6 else FAMILY_V4
        if spec.role is Role.MAG:
            routes.append(RouteEntry(table, default, dev))
        elif spec.realm_ifname:
            routes.append(RouteEntry(table, default, spec.realm_ifname))
            rules.append(RuleEntry(PRIO_REALM_UP, table, fam, None, None, dev))
    return tuple(routes), tuple(rules)


# A named tuple's constructor is a Python function; the LMA's loop builds its entries with the
# tuple constructor directly (all fields given, in order).
_new_tuple = tuple.__new__


def same_binding(a: MnRouteSpec, b: MnRouteSpec) -> bool:
    """True when ``b`` replaces ``a`` (a handover): same role and context, overlapping prefixes."""
    if a.role is not b.role or a.access_ifname != b.access_ifname or a.realm_ifname != b.realm_ifname:
        return False
    return bool(set(a.prefixes) & set(b.prefixes))
