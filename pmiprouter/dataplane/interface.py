"""The dataplane contract shared by the kernel, userspace and memory backends.

The LMA/MAG engines (``pmiprouter.core``) emit actions carrying a :class:`TunnelSpec` or a
:class:`MnRouteSpec`; the runtime hands them to one :class:`Dataplane` on a single worker thread.
Everything here is a small frozen, hashable value, so an action can be compared, logged and
replayed.

RFCs: RFC 5213 §5.6 and §6.10 (one bidirectional tunnel per MAG-LMA pair, shared by all of its
mobile nodes), RFC 5844 §4 (IPv4 transport, IPv4-UDP encapsulation), RFC 5845 (GRE keys: the one
case where a tunnel is per mobile node), RFC 2473 (IPv6 tunnelling).

Purity: no I/O; imports only the standard library.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network
from typing import ClassVar, NamedTuple, Protocol, Union

from pmiprouter.fast.netaddr import HomePrefix4, network_int
from pmiprouter.fast.slotted import slot_builder

IPAddress = Union[IPv4Address, IPv6Address]
IPNetwork = Union[IPv4Network, IPv6Network]

#: UDP port of the IPv4-UDP data encapsulation (RFC 5844 §6, "pmip6-data").
PMIP6_DATA_PORT = 5437


class DataplaneError(Exception):
    """A dataplane operation failed or was refused (bad spec, broken invariant, kernel error)."""


class UnsupportedMode(DataplaneError):
    """The backend cannot carry this encapsulation mode (e.g. IPv4-UDP in the kernel backend)."""


class TunnelMode(enum.Enum):
    """Encapsulation modes of RFC 5213 / 5844 / 5845 (protocol.md §6.5).

    The value is the keyword used in configuration and logs.
    """

    #: IPv6 transport, IPv6 payload only (Next Header 41; RFC 5213 §5.6.2, RFC 2473).
    IP6IP6 = 'ip6ip6'
    #: IPv6 transport, IPv6 and IPv4 payloads (Next Header 41 / 4; RFC 5844 §3.1.3).
    IP6_ANY = 'ip6any'
    #: IPv4 transport, IPv6 and IPv4 payloads (protocol 41 / 4; RFC 5844 §4, "IPv4" mode).
    IP4 = 'ipv4'
    #: IPv4 transport over UDP 5437, payload right after the UDP header (RFC 5844 §4.1.4.1).
    UDP4 = 'ipv4-udp'
    #: IPv4 transport over UDP 5437 with the 4-byte TLV header, then GRE (RFC 5845 §7.1-7.2).
    UDP4_TLV = 'ipv4-udp-tlv'
    #: GRE over IPv6 (RFC 2784/2890 key field; RFC 5845 §7.3.1).
    GRE6 = 'gre6'
    #: GRE over IPv4 (RFC 2784/2890 key field; RFC 5845 §7.3.1).
    GRE4 = 'gre4'

    @property
    def transport_version(self) -> int:
        """IP version of the outer (transport) header: 6 or 4."""
        return 6 if self in (TunnelMode.IP6IP6, TunnelMode.IP6_ANY, TunnelMode.GRE6) else 4

    @property
    def uses_gre(self) -> bool:
        """True when a GRE header (and so possibly a GRE key) follows the outer header."""
        return self in (TunnelMode.GRE6, TunnelMode.GRE4, TunnelMode.UDP4_TLV)

    @property
    def carries_ipv4(self) -> bool:
        """True when IPv4 payloads may use the tunnel (all modes but plain ip6ip6)."""
        return self is not TunnelMode.IP6IP6

    @property
    def overhead(self) -> int:
        """Bytes added in front of the inner packet (GRE with a key counted as 8 bytes)."""
        outer = 40 if self.transport_version == 6 else 20
        extra = {TunnelMode.UDP4: 8, TunnelMode.UDP4_TLV: 8 + 4 + 8, TunnelMode.GRE6: 8, TunnelMode.GRE4: 8}
        return outer + extra.get(self, 0)


class Role(enum.Enum):
    """Which end of the tunnel programs the routes (RFC 5213 §5.6.2 vs §6.10.5)."""

    LMA = 'lma'
    MAG = 'mag'


_MAX_KEY = 0xFFFFFFFF


@dataclass(frozen=True)
class TunnelSpec:
    """One bidirectional tunnel between a MAG and an LMA.

    Without GRE keys a tunnel is shared by every mobile node of the MAG-LMA pair and lives as
    long as one of them uses it; it is never rebuilt on a handover. With GRE keys (RFC 5845) the
    keys are per mobile node, so the spec -- and the device -- is per mobile node too.

    Attributes:
        local: our transport address (Proxy-CoA on a MAG, LMAA on an LMA).
        remote: the peer's transport address.
        mode: the encapsulation.
        gre_key_in: key we expect in received GRE headers (None: no key field).
        gre_key_out: key we put into sent GRE headers (None: no key field).
        mtu: tunnel MTU for inner packets; None means 1500 minus the mode's overhead.
    """

    local: IPAddress
    remote: IPAddress
    mode: TunnelMode
    gre_key_in: int | None = None
    gre_key_out: int | None = None
    mtu: int | None = None

    def __post_init__(self) -> None:
        version = self.mode.transport_version
        if self.local.version != version or self.remote.version != version:
            raise DataplaneError(
                f'{self.mode.value} needs IPv{version} endpoints: {self.local} -> {self.remote}')
        if self.local == self.remote:
            raise DataplaneError(f'tunnel endpoints are equal: {self.local}')
        keys = (self.gre_key_in, self.gre_key_out)
        if not self.mode.uses_gre and keys != (None, None):
            raise DataplaneError(f'GRE keys given for non-GRE mode {self.mode.value}')
        for key in keys:
            if key is not None and not 0 <= key <= _MAX_KEY:
                raise DataplaneError(f'GRE key out of range: {key}')
        if self.mtu is not None and not 576 <= self.mtu <= 65535:
            raise DataplaneError(f'tunnel MTU out of range: {self.mtu}')
        # Specs are dictionary keys on every route change: hash the fields once.
        object.__setattr__(self, 'hash_value', hash((self.local, self.remote, self.mode, self.gre_key_in, self.gre_key_out, self.mtu)))

    def __hash__(self) -> int:
        return self.hash_value  # type: ignore[attr-defined, no-any-return]

    @property
    def effective_mtu(self) -> int:
        """The MTU inner packets must fit (RFC 2473 §6.7: link MTU minus encapsulation)."""
        return self.mtu if self.mtu is not None else 1500 - self.mode.overhead

    @property
    def keyed(self) -> bool:
        """True for a per-mobile-node GRE tunnel (RFC 5845), which gets its own device."""
        return self.gre_key_in is not None or self.gre_key_out is not None


class _Derived:
    """Slots for what :class:`MnRouteSpec` derives from its fields (they are not fields: not
    compared, not arguments)."""

    __slots__ = ('prefixes', 'hash_value')


@dataclass(frozen=True, slots=True, init=False)
class MnRouteSpec(_Derived):
    """Forwarding state of one mobile node through one tunnel.

    LMA: routes the HNPs and the IPv4 HoA into the tunnel (RFC 5213 §5.6.2). MAG: policy-routes
    packets *from* the mobile node's prefixes on its access interface into the tunnel, and
    decapsulated packets *to* them out of the access interface (RFC 5213 §6.10.5).

    Every argument is checked (:class:`DataplaneError`).

    Attributes:
        role: LMA or MAG.
        tunnel: the tunnel the mobile node is bound to (its GRE keys are the MN's keys).
        hnps: home network prefixes.
        ipv4_hoa: IPv4 home address (RFC 5844), routed as a /32.
        access_ifname: MAG only, required: the access link of the mobile node.
        realm_ifname: LMA only, optional: interface of the MN's routing realm. Downlink is
            matched on it and uplink out of the MN's keyed tunnel is routed to it, which lets
            GRE keys keep mobile nodes with the same private IPv4 HoA apart (RFC 5845 §1).
        label: free text for logs and `show` (e.g. the MN-Identifier); not used for forwarding.
        prefixes: derived: all home prefixes, each once: the HNPs, then the IPv4 HoA as a /32.
    """

    role: Role
    tunnel: TunnelSpec
    hnps: tuple[IPv6Network, ...] = ()
    ipv4_hoa: IPv4Address | None = None
    access_ifname: str | None = None
    realm_ifname: str | None = None
    label: str = field(default='', compare=False)
    #: All home prefixes, each once: the HNPs, then the IPv4 HoA as a /32 (derived).
    prefixes: ClassVar[tuple[IPNetwork, ...]]

    def __new__(
        cls, role: Role, tunnel: TunnelSpec, hnps: tuple[IPv6Network, ...] = (), ipv4_hoa: IPv4Address | None = None,
        access_ifname: str | None = None, realm_ifname: str | None = None, label: str = '',
    ) -> MnRouteSpec:
        # Built here rather than by a dataclass __init__, with what it derives (a spec is built
        # per registration): see pmiprouter/fast/slotted.py.
        if not hnps and ipv4_hoa is None:
            raise DataplaneError('a mobile node needs at least one HNP or an IPv4 HoA')
        if role is _MAG:
            if not access_ifname:
                raise DataplaneError('a MAG route spec needs the access interface')
            if realm_ifname:
                raise DataplaneError('realm_ifname is for the LMA only')
        elif role is _LMA:
            if access_ifname:
                raise DataplaneError('an LMA route spec has no access interface')
        else:
            raise DataplaneError(f'not a role: {role!r}')
        # Derived once: the data plane reads them, and hashes the spec, several times per change.
        # The hash is any function of the compared fields: the /32's and the tunnel's stored
        # hashes, the first HNP's address integer and the count of HNPs stand for them
        # (hashing any of those objects runs Python code).
        if ipv4_hoa is not None:
            if tunnel.mode in _IPV6_ONLY_MODES:
                raise DataplaneError(f'mode {tunnel.mode.value} cannot carry the IPv4 HoA')
            v4 = _host4(ipv4_hoa)
            prefixes = (*(hnps if len(hnps) < 2 else _unique(hnps)), v4)
            v4_hash = v4.hash_value
        else:
            prefixes = tuple(hnps if len(hnps) < 2 else _unique(hnps))
            v4_hash = 0
        tunnel_hash = tunnel.hash_value if type(tunnel) is TunnelSpec else hash(tunnel)  # type: ignore[attr-defined]
        first = network_int(hnps[0]) if hnps else None  # equal HNPs: equal addresses
        return _build(cls, role, tunnel, hnps, ipv4_hoa, access_ifname, realm_ifname, label, prefixes,
                      hash((role is _LMA, tunnel_hash, first, len(hnps), v4_hash, access_ifname, realm_ifname)))

    @classmethod
    def lma(cls, tunnel: TunnelSpec, hnps: tuple[IPv6Network, ...], ipv4_hoa: IPv4Address | None = None,
            label: str = '') -> MnRouteSpec:
        """``MnRouteSpec(Role.LMA, tunnel, hnps, ipv4_hoa, label=label)``, the LMA's spec of every
        registration, without the class call's machinery (the same constructor: same checks)."""
        return cls.__new__(cls, _LMA, tunnel, hnps, ipv4_hoa, None, None, label)

    def __hash__(self) -> int:
        return self.hash_value  # type: ignore[no-any-return]

    def __reduce__(self) -> tuple[object, ...]:
        # copy and pickle rebuild it through the constructor, which derives the rest
        return (type(self), (self.role, self.tunnel, self.hnps, self.ipv4_hoa, self.access_ifname,
                             self.realm_ifname, self.label))

    @property
    def gre_key(self) -> int | None:
        """The MN's outgoing GRE key (RFC 5845), carried by its tunnel spec."""
        return self.tunnel.gre_key_out


_build = slot_builder(MnRouteSpec)  # (cls, the fields in order, then prefixes and hash_value)
_host4 = HomePrefix4  # an IPv4Address alone: its /32, built without parsing


def _unique(hnps: tuple[IPv6Network, ...]) -> tuple[IPv6Network, ...]:
    """The HNPs, each once, in order (the data plane tracks who needs a prefix's objects)."""
    return tuple(dict.fromkeys(hnps)) if len(set(hnps)) < len(hnps) else tuple(hnps)
_LMA = Role.LMA
_MAG = Role.MAG
#: Modes that cannot carry an IPv4 HoA (a tuple: membership by identity, no enum hashing).
_IPV6_ONLY_MODES = tuple(mode for mode in TunnelMode if not mode.carries_ipv4)


@dataclass(frozen=True, order=True)
class LinkEntry:
    """An observed device that belongs to the dataplane (``ifindex`` is not part of equality)."""

    ifname: str
    kind: str
    ifindex: int = field(default=0, compare=False)


class RouteEntry(NamedTuple):
    """A route in one of our tables (a named tuple: built and hashed for every route change);
    ``src``: an IPv6 source-specific route's source prefix (``default from A dev D``)."""

    table: int
    dst: IPNetwork
    dev: str
    src: IPNetwork | None = None


class RuleEntry(NamedTuple):
    """A policy rule pointing into one of our tables (family from the selectors or ``family``)."""

    priority: int
    table: int
    family: int
    src: IPNetwork | None = None
    dst: IPNetwork | None = None
    iif: str | None = None


@dataclass(frozen=True)
class DataplaneState:
    """What a backend holds: the specs it was asked for and the objects it observes.

    ``tunnels`` and ``mn_routes`` are the input of :meth:`Dataplane.reconcile`; ``links``,
    ``routes`` and ``rules`` are what is really there (kernel tables, or the memory model).
    """

    backend: str = ''
    tunnels: frozenset[TunnelSpec] = frozenset()
    mn_routes: frozenset[MnRouteSpec] = frozenset()
    links: frozenset[LinkEntry] = frozenset()
    routes: frozenset[RouteEntry] = frozenset()
    rules: frozenset[RuleEntry] = frozenset()


class Dataplane(Protocol):
    """Forwarding state for PMIPv6. Every operation is idempotent.

    Blocking implementations are called from one worker thread only (the runtime serialises
    them); nothing here may be called from two threads at once.
    """

    def ensure_tunnel(self, spec: TunnelSpec) -> str:
        """Create the tunnel if missing (never rebuild an existing one); return its device name."""
        ...

    def remove_tunnel(self, spec: TunnelSpec) -> None:
        """Delete the tunnel; refused while mobile-node routes still use it."""
        ...

    def anchor_pools(self, prefixes: tuple[IPNetwork, ...]) -> None:
        """Name the LMA's pools: a backend with one device for every tunnel routes each pool
        there once instead of each MN's prefix (plan.Pools)."""
        ...

    def ensure_mn_routes(self, spec: MnRouteSpec) -> None:
        """Install routes and rules of one MN; replaces the MN's previous binding (handover)."""
        ...

    def remove_mn_routes(self, spec: MnRouteSpec) -> None:
        """Remove what :meth:`ensure_mn_routes` installed for this spec."""
        ...

    def snapshot(self) -> DataplaneState:
        """Return the current state, for `show`, reconciliation and tests."""
        ...

    def reconcile(self, wanted: DataplaneState) -> None:
        """Make the state equal ``wanted``'s specs; delete orphans that are ours, nothing else."""
        ...

    def close(self) -> None:
        """Release sockets and devices owned by the process (kernel objects stay)."""
        ...
