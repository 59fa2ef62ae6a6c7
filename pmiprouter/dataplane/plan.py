"""Which routes and rules a mobile node needs: one pure function shared by every backend.

Because the kernel, userspace and memory backends all derive their objects from
:func:`mn_objects`, a snapshot taken from one backend can be compared with another's.

Objects per mobile node, for each home prefix A (HNPs and the IPv4 HoA /32), with T the
tunnel's table and D the device carrying the tunnel:

- MAG (RFC 5213 §6.10.5), tunnel without GRE keys: ``S: A dev <access>`` in the MAG's downlink
  table S; an IPv6 prefix's uplink is a source-specific route ``U: default from A dev D`` in the
  uplink table U, an IPv4 HoA's (IPv4 has no source routes) ``from A iif <access> lookup T`` with
  ``T: default dev D``. Shared, per address family: ``iif <access> lookup U`` (IPv6),
  ``iif D lookup S`` (per tunnel device) and ``iif lo lookup S`` (the MAG's own packets to the
  MN, e.g. ICMP errors). No rule names an IPv6 prefix (ADR 0020).
- MAG, keyed tunnel (RFC 5845, per MN: its MN may share a private IPv4 HoA with an MN of another
  access link): ``T: default dev D`` and ``T: A dev <access>``; rules ``from A iif <access> lookup
  T`` (uplink), ``to A iif D lookup T`` (downlink) and ``to A iif lo lookup T``.
- LMA (RFC 5213 §5.6.2), no realm: ``L: A dev D`` in the LMA's role table L, for every MN
  whatever its tunnel, and one rule per address family, ``lookup L``, shared by all of them:
  the kernel keeps rules in a list that every packet walks, routes in a trie, so the cost of
  a packet and of a registration does not grow with the number of MNs (ADR 0014). A packet to
  no MN finds no route in L and goes on to the main table.
- LMA with a realm: ``T: A dev D``; rule ``to A iif <realm> lookup T``; ``T: default dev
  <realm>`` and ``iif D lookup T`` so uplink stays in the realm.
- LMA, no realm, behind one device for every tunnel (the user-space backend's TUN): a home
  prefix inside one of the LMA's pools (:class:`Pools`) needs no route of its own. The pool's
  route ``L: P dev D`` serves all of them (shared, counted like the role rule), and the
  forwarder's own table picks the MN's tunnel: a registration changes no kernel object (ADR 0017).

T is the tunnel's own table, except behind the user-space backend's shared TUN device, where
the forwarder picks the tunnel (by the packet's source on the way up, its destination on the way
down) and the kernel only steers packets into and out of the TUN:

- MAG behind the TUN: ``S: A dev <access>`` in one table S for every MN; shared, one each per
  address family: ``U: default dev pmiptun0`` in the uplink table U, and the rules
  ``iif <access> lookup U`` (per access link, after the keyed tunnels' rules below),
  ``iif pmiptun0 lookup S`` and ``iif lo lookup S``.
  No rule names an MN: a packet from the access link whose source no MN holds reaches the
  forwarder, which drops it and counts it.

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
    PRIO_MAG_UP_SHARED,
    PRIO_REALM_UP,
    LMA_TABLE,
    MAG_DOWN_TABLE,
    MAG_UP_TABLE,
    TUN_IFNAME,
    tunnel_table,
)
from pmiprouter.fast.netaddr import network_int, prefix_length
from pmiprouter.fast.positional import positional

#: Linux address family numbers, used in RuleEntry (AF_INET, AF_INET6).
FAMILY_V4 = 2
FAMILY_V6 = 10

DEFAULT_V6 = IPv6Network('::/0')
DEFAULT_V4 = IPv4Network('0.0.0.0/0')


def family_of(net: IPNetwork) -> int:
    """Return the Linux address family number of a network."""
    return FAMILY_V6 if net.version == 6 else FAMILY_V4


#: What one mobile node needs, split by what the objects name (see :func:`mn_plan`).
Routes = tuple[RouteEntry, ...]
Rules = tuple[RuleEntry, ...]
MnObjects = tuple[Routes, Rules, Routes, Rules]


class Pools:
    """The prefixes an LMA hands home prefixes out of, each routed once into ``dev`` (the one
    device behind which the data plane's own table finds each MN's tunnel)."""

    def __init__(self, prefixes: tuple[IPNetwork, ...] = (), dev: str | None = None) -> None:
        self.dev = dev
        self.prefixes = prefixes if dev is not None else ()
        # (version, pool prefix length, the pool's value shifted right by what it leaves free,
        # its route in a tuple of its own), longest pool first: a prefix is matched by shifting
        # its own value. (The tuple is every pooled MN's shared routes: one object for them all.)
        self._pools = sorted(
            ((net.version, net.prefixlen, network_int(net) >> (net.max_prefixlen - net.prefixlen),
              (RouteEntry(LMA_TABLE, net, dev),)) for net in self.prefixes),
            key=lambda pool: -pool[1],
        )

    def route_of(self, prefix: IPNetwork) -> RouteEntry | None:
        """The route of the pool holding ``prefix`` whole, or None (it needs a route of its own)."""
        routes = self.routes_of(prefix)
        return routes[0] if routes else None

    def routes_of(self, prefix: IPNetwork) -> tuple[RouteEntry] | None:
        """``(route_of(prefix),)``, the same tuple for every prefix of the pool; or None."""
        if not self._pools:
            return None
        version, length, value = prefix.version, prefix_length(prefix), network_int(prefix)
        bits = 128 if version == 6 else 32
        for pool_version, pool_length, pool_value, routes in self._pools:
            if pool_version == version and length >= pool_length and value >> (bits - pool_length) == pool_value:
                return routes
        return None

    def __repr__(self) -> str:
        return f'Pools({", ".join(str(p) for p in self.prefixes)} dev {self.dev})'


#: No pools: every home prefix gets a route of its own (the kernel backend: one device per MAG).
NO_POOLS = Pools()


def mn_objects(
    spec: MnRouteSpec, tunnel_name: str, dev: str, pools: Pools = NO_POOLS
) -> tuple[tuple[RouteEntry, ...], tuple[RuleEntry, ...]]:
    """Return the routes and rules one mobile node needs, each once, in a stable order
    (the spec's prefixes, then the defaults): backends install them in this order.

    Args:
        spec: the mobile node's forwarding spec.
        tunnel_name: the tunnel's deterministic name (selects the table).
        dev: the device packets for the tunnel are routed to (the tunnel device itself, or the
            userspace backend's TUN device).
        pools: the LMA's pools, when ``dev`` is the one device of every tunnel.
    """
    routes, rules, shared_routes, shared_rules = mn_plan(spec, tunnel_name, dev, pools)
    return routes + shared_routes, rules + shared_rules


def mn_plan(spec: MnRouteSpec, tunnel_name: str, dev: str, pools: Pools = NO_POOLS) -> MnObjects:
    """:func:`mn_objects` split by what the objects name, for the bookkeeping of ``base.py``:
    ``(routes, rules, shared_routes, shared_rules)``.

    ``routes`` and ``rules`` name a home prefix (as destination or source), prefix by prefix in
    the order of ``spec.prefixes``; a prefix a pool's route covers has none. The shared ones name
    none (a table's defaults, the realm's uplink rule, a pool's route), so other MNs need them too.
    """
    realm = spec.realm_ifname
    table = table_of(spec.role, realm, tunnel_name, dev)
    if spec.role is _LMA and realm is None:
        return lma_plan(spec.prefixes, dev, pools)
    if table == MAG_DOWN_TABLE:
        return mag_tun_plan(spec.prefixes, spec.access_ifname, dev)
    if spec.role is Role.MAG and not spec.tunnel.keyed:
        return mag_plan(spec.prefixes, spec.access_ifname, table, dev)
    # Lists, not sets: no entry repeats (a spec lists each prefix once), and hashing networks
    # is what a route change costs most.
    routes: list[RouteEntry] = []
    rules: list[RuleEntry] = []
    versions: list[int] = []
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
    shared_routes: list[RouteEntry] = []
    shared_rules: list[RuleEntry] = []
    for version in versions:
        default = DEFAULT_V6 if version == 6 else DEFAULT_V4
        fam = FAMILY_V6 if version == 6 else FAMILY_V4
        if spec.role is Role.MAG:
            shared_routes.append(RouteEntry(table, default, dev))
        elif spec.realm_ifname:
            shared_routes.append(RouteEntry(table, default, spec.realm_ifname))
            shared_rules.append(RuleEntry(PRIO_REALM_UP, table, fam, None, None, dev))
    return tuple(routes), tuple(rules), tuple(shared_routes), tuple(shared_rules)


def mag_tun_plan(prefixes: tuple[IPNetwork, ...], access: str | None, dev: str) -> MnObjects:
    """:func:`mn_plan` of a MAG spec behind the shared TUN: a route per prefix to the access link,
    and the TUN's uplink default and rules per address family (shared: no rule names an MN)."""
    assert access is not None
    routes = tuple(RouteEntry(MAG_DOWN_TABLE, net, access) for net in prefixes)
    shared_routes: Routes = ()
    shared_rules: Rules = ()
    for version in sorted({net.version for net in prefixes}, reverse=True):
        fam = FAMILY_V6 if version == 6 else FAMILY_V4
        shared_routes += (RouteEntry(MAG_UP_TABLE, DEFAULT_V6 if version == 6 else DEFAULT_V4, dev),)
        shared_rules += (
            RuleEntry(PRIO_MAG_UP_SHARED, MAG_UP_TABLE, fam, None, None, access),
            RuleEntry(PRIO_MAG_DOWN, MAG_DOWN_TABLE, fam, None, None, dev),
            RuleEntry(PRIO_MAG_LOCAL, MAG_DOWN_TABLE, fam, None, None, 'lo'),
        )
    return routes, (), shared_routes, shared_rules


def mag_plan(prefixes: tuple[IPNetwork, ...], access: str | None, table: int, dev: str) -> MnObjects:
    """:func:`mn_plan` of a MAG spec on a tunnel device of its own, without GRE keys (see the
    module docstring): per prefix its downlink route and its uplink (a source-specific route,
    or for an IPv4 HoA a rule into the tunnel's table); the rules without selectors, shared."""
    assert access is not None
    routes: Routes = ()
    rules: Rules = ()
    shared_routes: Routes = ()
    shared_rules: Rules = ()
    for version in sorted({net.version for net in prefixes}, reverse=True):
        fam = FAMILY_V6 if version == 6 else FAMILY_V4
        shared_rules += (RuleEntry(PRIO_MAG_DOWN, MAG_DOWN_TABLE, fam, None, None, dev),
                         RuleEntry(PRIO_MAG_LOCAL, MAG_DOWN_TABLE, fam, None, None, 'lo'))
        if version == 6:
            shared_rules += (RuleEntry(PRIO_MAG_UP_SHARED, MAG_UP_TABLE, FAMILY_V6, None, None, access),)
        else:
            shared_routes += (RouteEntry(table, DEFAULT_V4, dev),)
    for net in prefixes:
        routes += (RouteEntry(MAG_DOWN_TABLE, net, access),)
        if isinstance(net, IPv6Network):
            routes += (RouteEntry(MAG_UP_TABLE, DEFAULT_V6, dev, net),)
        else:
            rules += (RuleEntry(PRIO_MAG_UP, table, FAMILY_V4, net, None, access),)
    return routes, rules, shared_routes, shared_rules


def table_of(role: Role, realm: str | None, tunnel_name: str, dev: str) -> int:
    """The table of a tunnel's mobile nodes (see the module docstring)."""
    if realm is None and role is _LMA:
        return LMA_TABLE
    if dev == TUN_IFNAME and realm is None:
        # The user-space backend's shared TUN: the kernel only has to steer the prefix into it
        # (its forwarder chooses the tunnel), so every MN shares one table, and a handover
        # between two such tunnels changes no kernel object at all.
        return MAG_DOWN_TABLE
    return tunnel_table(tunnel_name)


def lma_plan(prefixes: tuple[IPNetwork, ...], dev: str, pools: Pools = NO_POOLS) -> MnObjects:
    """:func:`mn_plan` of an LMA spec without a realm, the one of every registration: a route per
    prefix in the role table (or its pool's, shared, when ``pools`` route into ``dev``), and the
    role table's rule for each address family (shared)."""
    # Tuples grown in place: one or two prefixes, no list to convert. The entries are built from
    # all their fields, in order (pmiprouter/fast/positional.py).
    pooled = pools.dev == dev
    if len(prefixes) == 1 and isinstance(prefixes[0], IPv6Network):  # one IPv6 prefix: nearly every MN
        pool_routes = pools.routes_of(prefixes[0]) if pooled else None
        if pool_routes is not None:
            return (), (), pool_routes, _LMA_RULES_V6
        return (_make_route((LMA_TABLE, prefixes[0], dev, None)),), (), (), _LMA_RULES_V6
    routes: Routes = ()
    shared_routes: Routes = ()
    rules: Rules = ()
    for net in prefixes:
        pool_route = pools.route_of(net) if pooled else None
        if pool_route is None:
            routes += (_make_route((LMA_TABLE, net, dev, None)),)
        elif pool_route not in shared_routes:
            shared_routes += (pool_route,)
        rule = _LMA_RULE_V6 if isinstance(net, IPv6Network) else _LMA_RULE_V4
        if rule not in rules:
            rules += (rule,)
    return routes, (), shared_routes, rules


_make_route = positional(RouteEntry)
_LMA = Role.LMA
#: The LMA role table's rules, one per address family: every lookup goes there first.
_LMA_RULE_V6 = RuleEntry(PRIO_LMA_DOWN, LMA_TABLE, FAMILY_V6, None, None, None)
_LMA_RULE_V4 = RuleEntry(PRIO_LMA_DOWN, LMA_TABLE, FAMILY_V4, None, None, None)
_LMA_RULES_V6 = (_LMA_RULE_V6,)


def same_binding(a: MnRouteSpec, b: MnRouteSpec) -> bool:
    """True when ``b`` replaces ``a`` (a handover): same role and context, overlapping prefixes."""
    return same_context(a, b) and bool(set(a.prefixes) & set(b.prefixes))


def same_context(a: MnRouteSpec, b: MnRouteSpec) -> bool:
    """True when ``b`` replaces ``a`` if they share a prefix: same role, access link and realm."""
    return a.role is b.role and a.access_ifname == b.access_ifname and a.realm_ifname == b.realm_ifname
