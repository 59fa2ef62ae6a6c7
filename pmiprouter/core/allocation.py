"""Choosing the home network prefixes and IPv4 home address of a new mobility session (pure).

RFC 5213 §5.3.2 (ALL_ZERO: the LMA allocates; NON_ZERO: owned and authorized, else 155),
RFC 5844 §3.1.2.2 (0.0.0.0: allocate, else the requested address must be authorized: 171;
none free: 130).
"""

from __future__ import annotations

from collections.abc import Mapping
from ipaddress import IPv4Address, IPv4Network, IPv6Network
from typing import NamedTuple

from pmiprouter.core.errors import Rejection
from pmiprouter.core.policy import Ipv4HomeAddress, LmaPolicy, MobileNodeProfile
from pmiprouter.core.pools import IPv4Pool, PoolExhausted, PrefixPool
from pmiprouter.core.request import ProxyRegistration
from pmiprouter.mh.iana import BAStatus


class Addresses(NamedTuple):
    """What a new session gets (a named tuple: one is built per registration)."""

    prefixes: tuple[IPv6Network, ...]
    ipv4: Ipv4HomeAddress | None
    ipv4_router: IPv4Address | None


class AddressAllocator:
    """The LMA's pools; what is bound is read from the binding cache's own indexes."""

    def __init__(self, policy: LmaPolicy, bound_prefixes: Mapping[IPv6Network, int], bound_ipv4: Mapping[IPv4Address, int]) -> None:
        self.prefix_pools = [PrefixPool(pool, length) for pool, length in policy.hnp_pools]
        self.ipv4_pools = [IPv4Pool(n) for n in policy.ipv4_pools]
        # Bound = indexed by the cache (the LMA adds the entry right after allocating, in one step).
        self.bound_prefixes = bound_prefixes
        self.bound_ipv4 = bound_ipv4

    def allocate(self, request: ProxyRegistration, profile: MobileNodeProfile) -> Addresses:
        """Prefixes and IPv4 HoA for a new session; nothing is taken when a Rejection is raised."""
        prefixes = self._prefixes(request, profile) if request.hnps and profile.service.ipv6 else ()
        try:
            ipv4, router = self._ipv4(request, profile) if request.ipv4_requests and profile.service.ipv4 else (None, None)
        except Rejection:
            self.release(prefixes, None)
            raise
        return Addresses(prefixes, ipv4, router)

    def release(self, prefixes: tuple[IPv6Network, ...], ipv4: Ipv4HomeAddress | None) -> None:
        for prefix in prefixes:
            for pool in self.prefix_pools:
                pool.release(prefix)
        if ipv4 is not None:
            for v4pool in self.ipv4_pools:
                v4pool.release(ipv4.ip)

    def restore(self, prefixes: tuple[IPv6Network, ...], ipv4: Ipv4HomeAddress | None) -> None:
        """Mark addresses of a restored binding as bound (state file at start)."""
        for prefix in prefixes:
            self._take_prefix(prefix)
        if ipv4 is not None:
            self._take_ipv4(ipv4.ip)

    def _take_prefix(self, prefix: IPv6Network) -> None:
        for pool in self.prefix_pools:
            pool.reserve(prefix)

    def _take_ipv4(self, address: IPv4Address) -> None:
        for pool in self.ipv4_pools:
            pool.reserve(address)

    def _prefixes(self, request: ProxyRegistration, profile: MobileNodeProfile) -> tuple[IPv6Network, ...]:
        if request.non_zero_prefixes:
            wanted = [h.network for h in request.non_zero_prefixes]
            for prefix in wanted:
                owned = prefix in profile.home_prefixes or any(prefix in pool for pool in self.prefix_pools)
                if not owned or prefix in self.bound_prefixes:
                    raise Rejection(BAStatus.NOT_AUTHORIZED_FOR_HOME_NETWORK_PREFIX, f'{prefix} not available to this MN')
            for prefix in wanted:
                self._take_prefix(prefix)
            return tuple(wanted)
        prefixes = self.any_prefix(profile)
        if prefixes is None:
            raise Rejection(BAStatus.INSUFFICIENT_RESOURCES, 'no home network prefix left')
        return prefixes

    def any_prefix(self, profile: MobileNodeProfile) -> tuple[IPv6Network, ...] | None:
        """ALL_ZERO (§5.3.2): the profile's first free static prefix, else one from the pools;
        None when none is left."""
        static = [p for p in profile.home_prefixes if p not in self.bound_prefixes] if profile.home_prefixes else None
        if static:
            self._take_prefix(static[0])
            return (static[0],)
        for pool in self.prefix_pools:
            try:
                prefix = pool.allocate()
            except PoolExhausted:
                continue
            return (prefix,)
        return None

    def _ipv4(self, request: ProxyRegistration, profile: MobileNodeProfile) -> tuple[Ipv4HomeAddress, IPv4Address | None]:
        asked = request.ipv4_request
        assert asked is not None
        static = profile.ipv4_home_address
        if int(asked.address):
            if static is not None and static.ip == asked.address and asked.address not in self.bound_ipv4:
                self._take_ipv4(asked.address)
                return static, self._router_for(static)
            pool = next((p for p in self.ipv4_pools if asked.address in p), None)
            if pool is None or asked.address in self.bound_ipv4 or (static is not None and static.ip != asked.address):
                raise Rejection(BAStatus.NOT_AUTHORIZED_FOR_IPV4_HOME_ADDRESS, f'{asked.address} not available')
            self._take_ipv4(asked.address)
            return Ipv4HomeAddress(asked.address, pool.network.prefixlen), pool.default_router
        if static is not None and static.ip not in self.bound_ipv4:
            self._take_ipv4(static.ip)
            return static, self._router_for(static)
        for pool in self.ipv4_pools:
            try:
                address = pool.allocate()
            except PoolExhausted:
                continue
            return address, pool.default_router
        raise Rejection(BAStatus.INSUFFICIENT_RESOURCES, 'no IPv4 home address left')

    def _router_for(self, address: Ipv4HomeAddress) -> IPv4Address | None:
        pool = next((p for p in self.ipv4_pools if address.ip in p), None)
        if pool is not None:
            return pool.default_router
        # A static address outside the pools: the first host of its home network is the router.
        if address.prefix_length >= 31:
            return None
        return IPv4Network((address.ip, address.prefix_length), strict=False).network_address + 1
