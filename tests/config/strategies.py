"""Hypothesis strategies generating canonical `RouterConfig` values within the grammar.

Canonical means what the CLI itself would build: keyed tuples sorted by key, values in
the grammar's ranges, and dependent fields at their defaults when their feature is off.
"""

from __future__ import annotations

from ipaddress import IPv4Network, IPv6Network, ip_network
from typing import Any

from hypothesis import strategies as st

from pmiprouter.config.model import (
    ACCESS_TECHNOLOGIES,
    ENCAPSULATIONS,
    LOG_LEVELS,
    SERVICE_TYPES,
    AccessInterface,
    DomainConfig,
    Ipv4Pool,
    Ipv6Pool,
    LmaConfig,
    LoggingConfig,
    MagConfig,
    MnProfile,
    PeerConfig,
    RouterConfig,
    Secret,
    SshConfig,
    UserConfig,
    address_key,
    key_of,
)

names = st.from_regex(r'[A-Za-z0-9][A-Za-z0-9._-]{0,9}', fullmatch=True)
ipv6 = st.ip_addresses(v=6)
ipv4 = st.ip_addresses(v=4)
macs = st.binary(min_size=6, max_size=6).map(lambda b: '.'.join(b[i : i + 2].hex() for i in range(0, 6, 2)))
nais = st.from_regex(r'[a-z0-9][a-z0-9._-]{0,10}@[a-z0-9]{1,8}\.example', fullmatch=True)
ms = st.integers(100, 65535)
seconds = st.integers(10, 65535)


def optional(strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """None or a value of `strategy`."""
    return st.none() | strategy


def keyed(strategy: st.SearchStrategy[Any], max_size: int = 3) -> st.SearchStrategy[tuple[Any, ...]]:
    """A tuple of items with distinct keys, sorted by key (as `upsert` keeps them)."""
    return st.lists(strategy, max_size=max_size, unique_by=key_of).map(lambda xs: tuple(sorted(xs, key=key_of)))


@st.composite
def ipv6_networks(draw: st.DrawFn, min_len: int = 0) -> IPv6Network:
    """An IPv6 prefix with no host bits."""
    length = draw(st.integers(min_len, 128))
    return ip_network((draw(ipv6), length), strict=False)  # type: ignore[return-value]


@st.composite
def ipv4_networks(draw: st.DrawFn) -> IPv4Network:
    """An IPv4 prefix with no host bits."""
    return ip_network((draw(ipv4), draw(st.integers(0, 32))), strict=False)  # type: ignore[return-value]


secrets = st.builds(
    Secret,
    type=st.just(9),
    hash=st.from_regex(r'\$9\$[./0-9A-Za-z]{14}\$[./0-9A-Za-z]{43}', fullmatch=True),
) | st.builds(Secret, type=st.just(5), hash=st.from_regex(r'\$1\$[./0-9A-Za-z]{1,8}\$[./0-9A-Za-z]{22}', fullmatch=True))

users = st.builds(
    UserConfig,
    name=st.from_regex(r'[a-z][a-z0-9._@-]{0,9}', fullmatch=True),
    secret=secrets,
    privilege=st.integers(0, 15),
)

peers = st.builds(PeerConfig, name=names, ipv6_address=optional(ipv6), ipv4_address=optional(ipv4))


@st.composite
def mn_profiles(draw: st.DrawFn) -> MnProfile:
    """A NAI or MAC profile."""
    kind = draw(st.sampled_from(['nai', 'mac']))
    return MnProfile(
        kind=kind,
        identifier=draw(nais if kind == 'nai' else macs),
        lma=draw(optional(names)),
        hnps=tuple(sorted(draw(st.sets(ipv6_networks(), max_size=3)))),
        ipv4_home_address=draw(optional(ipv4)),
        service=draw(st.sampled_from(SERVICE_TYPES)),
        gre_key=draw(optional(st.integers(1, 2**32 - 1))),
    )


@st.composite
def domains(draw: st.DrawFn) -> DomainConfig:
    """A domain; the timestamp window stays at its default under sequence numbers."""
    replay = draw(st.sampled_from(['timestamp', 'sequence-number']))
    window = draw(st.integers(1, 255000)) if replay == 'timestamp' else 300
    auth: dict[str, Any] = {}
    if draw(st.booleans()):
        key_format = draw(st.sampled_from(['ascii', 'hex']))
        key = draw(
            st.from_regex(r'[!-~]{1,20}', fullmatch=True)
            if key_format == 'ascii'
            else st.from_regex(r'([0-9a-fA-F]{2}){1,16}', fullmatch=True)
        )
        auth = {'auth_spi': draw(st.integers(256, 2**32 - 1)), 'auth_key_format': key_format, 'auth_key': key}
    return DomainConfig(
        name=draw(names),
        encap=draw(st.sampled_from(ENCAPSULATIONS)),
        replay_protection=replay,
        timestamp_window_ms=window,
        lmas=draw(keyed(peers)),
        mags=draw(keyed(peers)),
        mn_profiles=draw(keyed(mn_profiles())),
        **auth,
    )


@st.composite
def heartbeat(draw: st.DrawFn) -> dict[str, Any]:
    """Heartbeat fields: defaults unless enabled."""
    if not draw(st.booleans()):
        return {}
    return {
        'heartbeat_enabled': True,
        'heartbeat_interval_s': draw(st.integers(30, 3600)),
        'heartbeat_retries': draw(st.integers(1, 10)),
    }


@st.composite
def ipv6_pools(draw: st.DrawFn) -> Ipv6Pool:
    """An HNP pool whose pfxlen is not shorter than its prefix."""
    prefix = draw(ipv6_networks(min_len=1))
    return Ipv6Pool(name=draw(names), prefix=prefix, pfxlen=draw(st.integers(max(1, prefix.prefixlen), 128)))


@st.composite
def lmas(draw: st.DrawFn) -> LmaConfig:
    """An LMA role."""
    return LmaConfig(
        name=draw(names),
        domain=draw(names),
        ipv6_address=draw(optional(ipv6)),
        ipv4_address=draw(optional(ipv4)),
        hnp_maximum=draw(st.integers(1, 16)),
        ipv6_pools=draw(keyed(ipv6_pools())),
        ipv4_pools=draw(keyed(st.builds(Ipv4Pool, name=names, prefix=ipv4_networks()))),
        bce_lifetime_s=draw(seconds),
        bce_refresh_time_s=draw(st.integers(4, 65535)),
        min_delay_before_bce_delete_ms=draw(ms),
        max_delay_before_new_bce_assign_ms=draw(ms),
        dynamic_mag_learning=draw(st.booleans()),
        bri_min_delay_ms=draw(st.integers(500, 65535)),
        bri_max_delay_ms=draw(st.integers(500, 65535)),
        bri_max_retries=draw(st.integers(0, 10)),
        **draw(heartbeat()),
    )


@st.composite
def mags(draw: st.DrawFn) -> MagConfig:
    """A MAG role."""
    lma = draw(optional(st.tuples(names, names)))
    dhcp = draw(st.sampled_from([None, 'server', 'relay']))
    return MagConfig(
        name=draw(names),
        domain=draw(names),
        ipv6_address=draw(optional(ipv6)),
        ipv4_address=draw(optional(ipv4)),
        interfaces=draw(
            keyed(
                st.builds(
                    AccessInterface,
                    name=st.from_regex(r'[a-z][a-z0-9.]{0,9}', fullmatch=True),
                    access_tech=st.sampled_from(sorted(ACCESS_TECHNOLOGIES)),
                )
            )
        ),
        lma=lma[0] if lma else None,
        lma_domain=lma[1] if lma else None,
        fixed_link_local_address=draw(optional(ipv6)),
        fixed_link_layer_address=draw(optional(macs)),
        binding_lifetime_s=draw(seconds),
        binding_refresh_time_s=draw(st.integers(4, 65535)),
        binding_init_retx_time_ms=draw(ms),
        binding_max_retx_time_ms=draw(ms),
        local_routing=draw(st.booleans()),
        dhcp_mode=dhcp,
        dhcp_relay_destination=draw(ipv4) if dhcp == 'relay' else None,
        dhcp6_relay_destination=draw(optional(ipv6)),
        **draw(heartbeat()),
    )


router_configs = st.builds(
    RouterConfig,
    hostname=st.from_regex(r'[A-Za-z][A-Za-z0-9-]{0,20}', fullmatch=True),
    logging=st.builds(
        LoggingConfig,
        buffered_size_bytes=st.integers(4096, 2**31 - 1),
        console_level=st.sampled_from([None, *LOG_LEVELS]),
        hosts=st.sets(ipv4 | ipv6, max_size=3).map(lambda hs: tuple(sorted(hs, key=address_key))),
    ),
    users=keyed(users),
    enable_secret=optional(secrets),
    ssh=st.builds(
        SshConfig,
        port=st.integers(1, 65535),
        timeout_s=st.integers(1, 120),
        authentication_retries=st.integers(0, 5),
    ),
    home_agent=st.booleans(),
    domains=keyed(domains(), max_size=2),
    lmas=keyed(lmas(), max_size=2),
    mags=keyed(mags(), max_size=2),
)
