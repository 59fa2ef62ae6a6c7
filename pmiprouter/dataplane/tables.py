"""Immutable forwarding tables of the userspace backend (rebuilt on every change, swapped whole).

The worker thread that programs the dataplane builds a new :class:`Tables` and assigns it in
one step; the reactor thread reads whichever object is current. No locks on the fast path.

Purity: no I/O.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from pmiprouter.dataplane.interface import IPNetwork, TunnelMode, TunnelSpec

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
    """

    def __init__(self, items: Iterable[tuple[IPNetwork, Any]] = ()) -> None:
        by_len: dict[tuple[int, int], dict[int, Any]] = {}
        for net, value in items:
            bits = 128 if net.version == 6 else 32
            key = int(net.network_address) >> (bits - net.prefixlen)
            by_len.setdefault((net.version, net.prefixlen), {})[key] = value
        longest_first = sorted(by_len.items(), key=lambda kv: -kv[0][1])
        # Stored as (shift, table): the lookup shifts the address instead of masking it.
        self._v6 = [(128 - plen, d) for (v, plen), d in longest_first if v == 6]
        self._v4 = [(32 - plen, d) for (v, plen), d in longest_first if v == 4]
        self._v6_upper = all(shift >= 64 for shift, _d in self._v6)
        if self._v6_upper:
            self._v6 = [(shift - 64, d) for shift, d in self._v6]

    def lookup6(self, buf: bytearray | memoryview, off: int) -> Any:
        """Return the value of the longest prefix holding the IPv6 address at ``off``, or None."""
        if not self._v6:
            return None
        if self._v6_upper:
            addr = _U64.unpack_from(buf, off)[0]
        else:
            addr = int.from_bytes(buf[off:off + 16], 'big')
        for shift, table in self._v6:
            value = table.get(addr >> shift)
            if value is not None:
                return value
        return None

    def lookup4(self, buf: bytearray | memoryview, off: int) -> Any:
        """Return the value of the longest prefix holding the IPv4 address at ``off``, or None."""
        if not self._v4:
            return None
        addr = _U32.unpack_from(buf, off)[0]
        for shift, table in self._v4:
            value = table.get(addr >> shift)
            if value is not None:
                return value
        return None

    def __bool__(self) -> bool:
        return bool(self._v6 or self._v4)


@dataclass(eq=False)
class TunnelCtx:
    """Everything the fast path needs about one tunnel (built once per change).

    Attributes:
        name: the tunnel's deterministic name.
        spec: the tunnel spec.
        carrier: see :data:`CARRIER`.
        remote: socket address of the peer.
        mtu: tunnel MTU for inner packets.
        tun_fd: where decapsulated packets are written (the shared TUN, or the keyed one).
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
    by_fd: dict[int, TunnelCtx] = field(default_factory=dict)  # keyed TUN fd -> ctx
