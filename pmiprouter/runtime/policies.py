"""From the router configuration to the engines' policies (pure translation, no I/O).

The engines never read configuration syntax; this is the one place that knows both.
"""

from __future__ import annotations

from ipaddress import IPv4Address, IPv6Address

from pmiprouter.config.model import ACCESS_TECHNOLOGIES, DomainConfig, LmaConfig, MagConfig, MnProfile, RouterConfig, find
from pmiprouter.core.events import Transport
from pmiprouter.core.mag_policy import RFC6543_LINK_LAYER, AccessInterface, MagPolicy, MagProfile, parse_mac
from pmiprouter.core.policy import RFC6543_LINK_LOCAL, GreMode, Ipv4HomeAddress, LmaPolicy, MobileNodeProfile, Service
from pmiprouter.core.revocation import BriTiming

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
        bri_timing=BriTiming(lma.bri_min_delay_ms / 1000, lma.bri_max_delay_ms / 1000, lma.bri_max_retries),
    )


IPV4_TRANSPORT_ENCAPSULATIONS = ('ipv6-in-ipv4', 'gre-ipv4', 'udptunnel')


def mag_policy(config: RouterConfig, mag: MagConfig) -> MagPolicy:
    """The MagPolicy of one `ipv6 mobile pmipv6-mag` block.

    MNs are matched by MAC: `mac-address` profiles of the domain give their service and
    static addresses, and the MAC itself is the MN-Identifier the LMA keys them by.
    """
    domain = find(config.domains, mag.lma_domain or mag.domain) or DomainConfig(mag.domain)
    lma = find(domain.lmas, mag.lma) if mag.lma else (domain.lmas[0] if domain.lmas else None)
    profiles = {}
    for profile in domain.mn_profiles:
        if profile.kind != 'mac':
            continue
        mac = mn_identifier(profile)
        ipv4 = Ipv4HomeAddress(profile.ipv4_home_address, 32) if profile.ipv4_home_address is not None else None
        profiles[mac] = MagProfile(mac, None, Service(profile.service), profile.hnps, ipv4, gre_key=profile.gre_key)
    interfaces = tuple(AccessInterface(i.name, ACCESS_TECHNOLOGIES[i.access_tech]) for i in mag.interfaces)
    ipv4_transport = domain.encap in IPV4_TRANSPORT_ENCAPSULATIONS
    return MagPolicy(
        mag_address=mag.ipv6_address,
        mag_address_v4=mag.ipv4_address,
        lma_address=lma.ipv6_address if lma is not None else None,
        lma_address_v4=lma.ipv4_address if lma is not None else None,
        transport=Transport.UDP4 if ipv4_transport else Transport.IPV6,
        interfaces=interfaces,
        use_timestamps=domain.replay_protection == 'timestamp',
        lifetime_s=mag.binding_lifetime_s,
        initial_bindack_timeout_s=mag.binding_init_retx_time_ms / 1000,
        max_bindack_timeout_s=mag.binding_max_retx_time_ms / 1000,
        fixed_link_local=mag.fixed_link_local_address or RFC6543_LINK_LOCAL,
        fixed_link_layer=parse_mac(mag.fixed_link_layer_address) if mag.fixed_link_layer_address else RFC6543_LINK_LAYER,
        gre=domain.encap in GRE_ENCAPSULATIONS,
        force_udp=domain.encap == 'udptunnel',
        profiles=profiles,
        serve_unknown=True,
        unknown_service=Service.DUAL,
        local_routing=mag.local_routing,
    )
