"""Address allocation for the LMA: home network prefixes and IPv4 home addresses (pure).

RFC 5213 §5.3.2 (ALL_ZERO HNP: the LMA allocates unused prefixes), RFC 5844 §3.1.2.2
(IPv4 HoA Request 0.0.0.0: the LMA allocates from its home network). Released values are
handed out again only when no fresh one is left.
"""

from __future__ import annotations

from collections import deque
from ipaddress import IPv4Address, IPv4Network, IPv6Network

from pmiprouter.core.policy import Ipv4HomeAddress
from pmiprouter.fast.netaddr import HomePrefix6, ipv4_address, network_int, prefix_length


class PoolExhausted(Exception):
    """No free value left (the LMA answers 130 Insufficient resources)."""


class IndexPool:
    """Integers 0..size-1, handed out lowest-unused-first, released ones reused last.

    Used indexes below the allocation cursor live in a bitmap (one bit each: this counts
    per binding at a million bindings); the few reserved beyond it (static or restored
    addresses) in a set.
    """

    def __init__(self, size: int) -> None:
        self.size = size
        self._next = 0
        self._free: deque[int] = deque()
        self._bits = bytearray()
        self._beyond: set[int] = set()
        self._count = 0

    def _used(self, index: int) -> bool:
        if index < self._next:
            return bool(self._bits[index >> 3] & (1 << (index & 7)))
        return index in self._beyond

    def _mark(self, index: int, used: bool) -> None:
        if index < self._next:
            if used:
                self._bits[index >> 3] |= 1 << (index & 7)
            else:
                self._bits[index >> 3] &= ~(1 << (index & 7)) & 0xFF
        elif used:
            self._beyond.add(index)
        else:
            self._beyond.discard(index)
        self._count += 1 if used else -1

    def _advance(self) -> int:
        """Move the cursor by one; the index it passes keeps its state in the bitmap."""
        index = self._next
        if index >> 3 >= len(self._bits):
            self._bits.append(0)
        self._next += 1
        if index in self._beyond:
            self._beyond.discard(index)
            self._bits[index >> 3] |= 1 << (index & 7)
        return index

    def allocate(self) -> int:
        # Fresh values first; released ones only when none is left, oldest release first
        # (a prefix may still be cached by hosts or routers for a while).
        while self._next < self.size:
            if not self._beyond:  # the usual case, inlined (once per registration): nothing reserved ahead
                index = self._next
                bits = self._bits
                if index >> 3 >= len(bits):
                    bits.append(0)
                self._next = index + 1
                bit = 1 << (index & 7)
                if not bits[index >> 3] & bit:
                    bits[index >> 3] |= bit
                    self._count += 1
                    return index
                continue
            index = self._advance()
            if not self._used(index):
                self._mark(index, True)
                return index
        while self._free:
            index = self._free.popleft()
            if not self._used(index):
                self._mark(index, True)
                return index
        raise PoolExhausted(f'all {self.size} values in use')

    def reserve(self, index: int) -> bool:
        """Mark `index` used (a static or restored assignment); False when it already was."""
        if not 0 <= index < self.size or self._used(index):
            return False
        self._mark(index, True)
        return True

    def release(self, index: int) -> None:
        if 0 <= index < self.size and self._used(index):
            self._mark(index, False)
            self._free.append(index)

    @property
    def in_use(self) -> int:
        return self._count


class PrefixPool:
    """Prefixes of one length carved out of one configured IPv6 pool (e.g. /64s of a /48)."""

    def __init__(self, pool: IPv6Network, prefix_length: int = 64) -> None:
        if prefix_length < pool.prefixlen or prefix_length > 128:
            raise ValueError(f'cannot carve /{prefix_length} prefixes out of {pool}')
        self.pool = pool
        self.prefix_length = prefix_length
        self._shift = 128 - prefix_length
        self._base = int(pool.network_address)
        self._indexes = IndexPool(1 << (prefix_length - pool.prefixlen))
        # HomePrefix6s: equal to plain networks, hashed at half the cost, built without parsing
        # or checks (every index is in the pool and aligned).
        self._carve = HomePrefix6.carver(prefix_length)

    def __contains__(self, prefix: IPv6Network) -> bool:
        # Integers, not `subnet_of` (its broadcast addresses cost ~30 us per prefix on a restore
        # of a million bindings).
        return (isinstance(prefix, IPv6Network) and prefix_length(prefix) == self.prefix_length
                and (network_int(prefix) - self._base) >> (128 - self.pool.prefixlen) == 0)

    def _index(self, prefix: IPv6Network) -> int:
        return (network_int(prefix) - self._base) >> self._shift

    def allocate(self) -> IPv6Network:
        return self._carve(self._base + (self._indexes.allocate() << self._shift))

    def reserve(self, prefix: IPv6Network) -> bool:
        return prefix in self and self._indexes.reserve(self._index(prefix))

    def release(self, prefix: IPv6Network) -> None:
        if prefix in self:
            self._indexes.release(self._index(prefix))

    @property
    def in_use(self) -> int:
        return self._indexes.in_use


class IPv4Pool:
    """IPv4 home addresses of one home network: the first host is the default router (RFC 5844 §3.3.3)."""

    def __init__(self, network: IPv4Network) -> None:
        if network.prefixlen > 30:
            raise ValueError(f'IPv4 pool {network} leaves no room for a router and hosts')
        self.network = network
        self.default_router = IPv4Address(int(network.network_address) + 1)
        self._prefix_length = network.prefixlen
        self._first_host = int(network.network_address) + 2  # after the network address and the router
        self._indexes = IndexPool(network.num_addresses - 3)  # minus network, router, broadcast

    def __contains__(self, address: IPv4Address) -> bool:
        return 0 <= int(address) - self._first_host < self._indexes.size

    def allocate(self) -> Ipv4HomeAddress:
        index = self._indexes.allocate()
        return Ipv4HomeAddress(ipv4_address(self._first_host + index), self._prefix_length)

    def reserve(self, address: IPv4Address) -> bool:
        return address in self and self._indexes.reserve(int(address) - self._first_host)

    def release(self, address: IPv4Address) -> None:
        if address in self:
            self._indexes.release(int(address) - self._first_host)

    @property
    def in_use(self) -> int:
        return self._indexes.in_use
