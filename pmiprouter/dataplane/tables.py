"""Forwarding tables of the userspace backend, read by the packet pump without a lock.

A :class:`Tables` object is replaced whole (one assignment) when tunnels come or go; a
binding change only puts or drops its own prefixes in the :class:`PrefixTable` objects
in place (see there why a reader never sees a torn state). No locks on the fast path.

Purity: no I/O.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from ipaddress import IPv6Network

from pmiprouter.dataplane.interface import IPNetwork, TunnelMode, TunnelSpec
from pmiprouter.fast.netaddr import network_int, prefix_length

#: Carrier of each mode: which socket sends it and how received packets are recognised.
CARRIER = {
    TunnelMode.IP6IP6: 'ip6', TunnelMode.IP6_ANY: 'ip6', TunnelMode.GRE6: 'gre6',
    TunnelMode.IP4: 'ip4', TunnelMode.GRE4: 'gre4', TunnelMode.UDP4: 'udp', TunnelMode.UDP4_TLV: 'udp',
}


_U64 = struct.Struct('!Q')
_U32 = struct.Struct('!I')


class PrefixTable:
    """Longest-prefix match over IPv6 and IPv4 prefixes, keyed by integer prefix values.

    When no IPv6 prefix is longer than /64 (the PMIPv6 case: HNPs are /64) only the upper 64
    bits of the address are read, which is one ``unpack_from`` instead of a slice and a
    128-bit integer.

    Changed in place by the thread that programs the data plane (:meth:`put`, :meth:`drop`:
    O(1), one binding's prefixes per change instead of a rebuild over every binding) while
    the packet pump reads it without a lock. That is safe because every change a reader can
    observe is one atomic step: a key set or deleted in a per-length dict, or a new
    ``(upper, levels)`` tuple assigned in one attribute store when a prefix length appears
    or disappears. A lookup reads that tuple once, so it never pairs a shift with the wrong
    flag. A binding with several prefixes may be seen half moved for one packet; each packet
    still goes to a tunnel that held the binding a moment ago or holds it now.
    """

    def __init__(self, items: Iterable[tuple[IPNetwork, Any]] = ()) -> None:
        # (version, prefix length) -> {prefix value: value}; the dicts are the ones lookups read.
        self._levels: dict[tuple[int, int], dict[int, Any]] = {}
        for net, value in items:
            self._level(net)[prefix_key(net)] = value
        self._publish()

    def put(self, net: IPNetwork, value: Any, key: int | None = None) -> None:
        """Map ``net`` to ``value`` (replacing what it had); ``key``: its :func:`prefix_key`, if
        the caller has it (one prefix going into two tables shares one int)."""
        if key is None:
            key = prefix_key(net)
        level = self._levels.get(_level_of(net))
        if level is not None:
            level[key] = value  # one atomic store
            return
        self._level(net)[key] = value
        self._publish()  # a new prefix length: readers get the new level list in one store

    def drop(self, net: IPNetwork, key: int | None = None) -> None:
        """Forget ``net`` (nothing happens if it is not there)."""
        level = self._levels.get(_level_of(net))
        if level is not None:
            # An emptied level stays (a lookup tries one more dict): prefix lengths are few,
            # and a tunnel whose last MN leaves and comes back does not republish its levels.
            level.pop(prefix_key(net) if key is None else key, None)

    def _level(self, net: IPNetwork) -> dict[int, Any]:
        return self._levels.setdefault(_level_of(net), {})

    def _publish(self) -> None:
        longest_first = sorted(self._levels.items(), key=lambda kv: -kv[0][1])
        # Stored as (shift, table): the lookup shifts the address instead of masking it.
        v6 = [(128 - plen, d) for (v, plen), d in longest_first if v == 6]
        upper = all(shift >= 64 for shift, _d in v6)
        if upper:
            v6 = [(shift - 64, d) for shift, d in v6]
        self._v6 = (upper, tuple(v6))
        self._v4 = tuple((32 - plen, d) for (v, plen), d in longest_first if v == 4)

    def lookup6(self, buf: bytearray | memoryview, off: int) -> Any:
        """Return the value of the longest prefix holding the IPv6 address at ``off``, or None."""
        upper, levels = self._v6
        if not levels:
            return None
        if upper:
            addr = _U64.unpack_from(buf, off)[0]
        else:
            addr = int.from_bytes(buf[off:off + 16], 'big')
        for shift, table in levels:
            value = table.get(addr >> shift)
            if value is not None:
                return value
        return None

    def lookup4(self, buf: bytearray | memoryview, off: int) -> Any:
        """Return the value of the longest prefix holding the IPv4 address at ``off``, or None."""
        levels = self._v4
        if not levels:
            return None
        addr = _U32.unpack_from(buf, off)[0]
        for shift, table in levels:
            value = table.get(addr >> shift)
            if value is not None:
                return value
        return None

    def entries(self) -> dict[tuple[int, int, int], Any]:
        """Every prefix as (version, prefix length, prefix value) -> value (tests, debugging)."""
        return {(version, plen, key): value
                for (version, plen), level in self._levels.items() for key, value in level.items()}

    def __len__(self) -> int:
        return sum(len(d) for d in self._levels.values())

    def __bool__(self) -> bool:
        return any(self._levels.values())


def prefix_key(net: IPNetwork) -> int:
    """A prefix's value: its network address shifted right over the host bits."""
    return network_int(net) >> ((128 if isinstance(net, IPv6Network) else 32) - prefix_length(net))


def _level_of(net: IPNetwork) -> tuple[int, int]:
    """The (version, prefix length) of the level holding ``net``."""
    return (6 if isinstance(net, IPv6Network) else 4), prefix_length(net)


@dataclass(eq=False)
class TunnelCtx:
    """Everything the fast path needs about one tunnel (built once, when the tunnel is ensured).

    Attributes:
        name: the tunnel's deterministic name.
        spec: the tunnel spec.
        carrier: see :data:`CARRIER`.
        remote: socket address of the peer.
        mtu: tunnel MTU for inner packets.
        tun_fd: where decapsulated packets are written (the shared TUN, or the TUN device of the
            domain -- an LMA realm, a MAG access link -- of the MN of a keyed tunnel).
        senders: inner IP version -> socket-like object with ``sendmsg``.
        gre: inner IP version -> GRE header bytes (GRE and TLV modes).
        icmp6_src / icmp4_src: source address of ICMP errors we generate (None: cannot send).
        lma_prefixes: MN prefixes that may appear as inner *source* (LMA uplink check).
        mag_prefixes: MN prefixes that may appear as inner *destination* (MAG downlink check).
        out: filled by the forwarder when it adopts the tables: indexed by inner IP version (4
            or 6), the precomputed send path (socket fd, header bytes, C socket address), so
            the fast path finds it by list index instead of dict lookups.
    """

    name: str
    spec: TunnelSpec
    carrier: str
    remote: tuple[Any, ...]
    mtu: int
    tun_fd: int
    senders: dict[int, Any] = field(default_factory=dict)
    gre: dict[int, bytes] = field(default_factory=dict)
    icmp6_src: bytes | None = None
    icmp4_src: bytes = b''
    lma_prefixes: PrefixTable = field(default_factory=PrefixTable)
    mag_prefixes: PrefixTable = field(default_factory=PrefixTable)
    out: list[Any] = field(default_factory=list)


@dataclass(frozen=True)
class Tables:
    """One consistent view: encap lookups for the shared TUN, decap lookups by peer."""

    lma: PrefixTable = field(default_factory=PrefixTable)  # inner dst -> ctx (LMA downlink)
    mag: PrefixTable = field(default_factory=PrefixTable)  # inner src -> ctx (MAG uplink)
    peers: dict[tuple[Any, ...], TunnelCtx] = field(default_factory=dict)  # (carrier, remote[, key])
    # A domain's TUN fd -> its (lma, mag) lookups: keyed tunnels' MNs, which may share a private
    # IPv4 address with an MN of another domain (RFC 5845), are looked up in their domain's.
    by_fd: dict[int, tuple[PrefixTable, PrefixTable]] = field(default_factory=dict)
