"""From the router configuration to the engines' policies (pure translation, no I/O).

The engines never read configuration syntax; this is the one place that knows both.
"""

from __future__ import annotations

from ipaddress import IPv4Address, IPv6Address

from pmiprouter.config.model import DomainConfig, LmaConfig, MnProfile, RouterConfig, find
from pmiprouter.core.policy import GreMode, Ipv4HomeAddress, LmaPolicy, MobileNodeProfile, Service

GRE_ENCAPSULATIONS = ('gre-ipv6', 'gre-ipv4')


def mn_identifier(profile: MnProfile) -> bytes:
    """The MN-Identifier a MAG sends for this profile: the NAI, or the 6 MAC bytes (RFC 8371 EUI-48)."""
    if profile.kind == 'mac':
        return bytes.fromhex(''.join(ch for ch in profile.identifier if ch not in ':.-'))
    return profile.identifier.encode()


def lma_policy(config: RouterConfig, lma: LmaConfig) -> LmaPolicy:
    """The LmaPolicy of one `ipv6 mobile pmipv6-lma` block."""
    domain = find(config.domains, lma.domain)
    if domain is None:
        domain = DomainConfig(lma.domain)
    addresses: set[IPv6Address | IPv4Address] = {a for a in (lma.ipv6_address, lma.ipv4_address) if a is not None}
    mags: set[IPv6Address | IPv4Address] = set()
    for mag in domain.mags:
        mags |= {a for a in (mag.ipv6_address, mag.ipv4_address) if a is not None}
    ipv4_pools = tuple(pool.prefix for pool in lma.ipv4_pools)
    profiles = {}
    for profile in domain.mn_profiles:
        if profile.lma not in (None, lma.name):
            continue
        ipv4 = None
        if profile.ipv4_home_address is not None:
            pool = next((p for p in ipv4_pools if profile.ipv4_home_address in p), None)
            ipv4 = Ipv4HomeAddress(profile.ipv4_home_address, pool.prefixlen if pool is not None else 32)
        identifier = mn_identifier(profile)
        profiles[identifier] = MobileNodeProfile(
            identifier, Service(profile.service), profile.hnps, ipv4
        )
    return LmaPolicy(
        lma_addresses=frozenset(addresses),
        profiles=profiles,
        authorized_mags=frozenset(mags),
        dynamic_mag_learning=lma.dynamic_mag_learning,
        hnp_pools=tuple((pool.prefix, pool.pfxlen) for pool in lma.ipv6_pools),
        ipv4_pools=ipv4_pools,
        max_lifetime_s=lma.bce_lifetime_s,
        min_delay_before_bce_delete_s=lma.min_delay_before_bce_delete_ms / 1000,
        max_delay_before_new_bce_assign_s=lma.max_delay_before_new_bce_assign_ms / 1000,
        use_timestamps=domain.replay_protection == 'timestamp',
        timestamp_window_s=domain.timestamp_window_ms / 1000,
        gre=GreMode.REQUIRED if domain.encap in GRE_ENCAPSULATIONS else GreMode.OPTIONAL,
        accept_forced_udp=domain.encap == 'udptunnel',
    )
