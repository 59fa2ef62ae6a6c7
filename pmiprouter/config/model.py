"""The frozen configuration model of the appliance.

Pure module (no twisted, socket or time). Every collection is a tuple kept in a canonical
order (sorted by key) so that two equal configurations compare equal and render to the
same text. Defaults are the RFC 5213 §9, RFC 5846 §11, RFC 5847 §5 and RFC 6275 §12
values; fields carry their unit in the name.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network
from typing import Any

# Keyed tuples (sorted by key) and their edits, re-exported: they live in `keyed.py` with
# the drafts the loader uses to build thousands of MN profiles in linear time.
from pmiprouter.config.keyed import find as find
from pmiprouter.config.keyed import key_of as key_of
from pmiprouter.config.keyed import remove as remove
from pmiprouter.config.keyed import upsert as upsert

#: Encapsulations offered by `encap` (Cisco keywords where they exist).
ENCAPSULATIONS = ('ipv6-in-ipv6', 'gre-ipv6', 'ipv6-in-ipv4', 'gre-ipv4', 'udptunnel')

#: Access Technology Type keywords -> option 24 code (RFC 5213 §8.5 and the IANA registry).
ACCESS_TECHNOLOGIES: dict[str, int] = {
    'virtual': 1,
    'ppp': 2,
    'ieee-802.3': 3,
    'ieee-802.11': 4,
    'ieee-802.16e': 5,
    '3gpp-geran': 6,
    '3gpp-utran': 7,
    '3gpp-eutran': 8,
    '3gpp2-ehrpd': 9,
    '3gpp2-hrpd': 10,
    '3gpp2-1xrtt': 11,
    '3gpp2-umb': 12,
    '3gpp-nb-iot': 13,
}

#: Syslog severities in IOS spelling, most severe first.
LOG_LEVELS = (
    'emergencies',
    'alerts',
    'critical',
    'errors',
    'warnings',
    'notifications',
    'informational',
    'debugging',
)

SERVICE_TYPES = ('ipv4', 'ipv6', 'dual')


@dataclass(frozen=True)
class Secret:
    """A stored password hash in Cisco form: type 5 (`$1$`), 8 (`$8$`) or 9 (`$9$`)."""

    type: int
    hash: str


@dataclass(frozen=True)
class UserConfig:
    """`username NAME [privilege N] secret T HASH`."""

    name: str
    secret: Secret
    privilege: int = 1


#: Public key types `key-hash` names (SSH algorithm names of the key blob).
SSH_KEY_TYPES = ('ecdsa-sha2-nistp256', 'ssh-ed25519', 'ssh-rsa')


@dataclass(frozen=True)
class KeyHash:
    """`key-hash TYPE HASH [NAME]`: a public key by the MD5 of its blob (32 upper-case hex
    digits), as IOS keeps it; the client shows the key, the server checks the hash."""

    type: str
    hash: str
    name: str | None = None

    @property
    def key(self) -> tuple[str, str]:
        """Sort and lookup key."""
        return (self.type, self.hash)


@dataclass(frozen=True)
class PubkeyUser:
    """`ip ssh pubkey-chain` / `username NAME`: the public keys one user may log in with."""

    name: str
    keys: tuple[KeyHash, ...] = ()


@dataclass(frozen=True)
class SshConfig:
    """`ip ssh ...`: port, listen addresses (none: every address), negotiation time-out,
    authentication retries and the public keys of `ip ssh pubkey-chain`."""

    port: int = 22
    timeout_s: int = 120
    authentication_retries: int = 3
    listen_addresses: tuple[IPv4Address | IPv6Address, ...] = ()
    pubkey_users: tuple[PubkeyUser, ...] = ()


@dataclass(frozen=True)
class LoggingConfig:
    """`logging ...`: buffer size, console level (None = `no logging console`), hosts."""

    buffered_size_bytes: int = 4096
    console_level: str | None = 'informational'
    hosts: tuple[IPv4Address | IPv6Address, ...] = ()


@dataclass(frozen=True)
class PeerConfig:
    """An LMA or MAG known to a domain (`lma NAME` / `mag NAME` in the domain)."""

    name: str
    ipv6_address: IPv6Address | None = None
    ipv4_address: IPv4Address | None = None


@dataclass(frozen=True)
class MnProfile:
    """A static mobile-node profile, keyed by NAI or by MAC address (RFC 5213 §2.2)."""

    kind: str  # 'nai' or 'mac'
    identifier: str
    lma: str | None = None
    hnps: tuple[IPv6Network, ...] = ()
    ipv4_home_address: IPv4Address | None = None
    service: str = 'ipv6'
    gre_key: int | None = None

    @property
    def key(self) -> tuple[str, str]:
        """Sort and lookup key: NAI profiles first, then MAC profiles."""
        return (self.kind, self.identifier)


@dataclass(frozen=True)
class DomainConfig:
    """`ipv6 mobile pmipv6-domain NAME`: parameters shared by the LMA and its MAGs."""

    name: str
    encap: str = 'ipv6-in-ipv6'
    # RFC 5213 §9 TimestampBasedApproachInUse = 1; 'sequence-number' switches it off.
    replay_protection: str = 'timestamp'
    timestamp_window_ms: int = 300
    auth_spi: int | None = None
    auth_key_format: str | None = None  # 'ascii' or 'hex'
    auth_key: str | None = None
    lmas: tuple[PeerConfig, ...] = ()
    mags: tuple[PeerConfig, ...] = ()
    mn_profiles: tuple[MnProfile, ...] = ()


@dataclass(frozen=True)
class Ipv6Pool:
    """An HNP pool: prefixes of length `pfxlen` are carved from `prefix`."""

    name: str
    prefix: IPv6Network
    pfxlen: int = 64


@dataclass(frozen=True)
class Ipv4Pool:
    """An IPv4 home-address pool (RFC 5844)."""

    name: str
    prefix: IPv4Network


@dataclass(frozen=True)
class LmaConfig:
    """`ipv6 mobile pmipv6-lma NAME domain DOMAIN`: the local LMA role."""

    name: str
    domain: str
    ipv6_address: IPv6Address | None = None
    ipv4_address: IPv4Address | None = None
    hnp_maximum: int = 1
    ipv6_pools: tuple[Ipv6Pool, ...] = ()
    ipv4_pools: tuple[Ipv4Pool, ...] = ()
    bce_lifetime_s: int = 3600
    bce_refresh_time_s: int = 300
    min_delay_before_bce_delete_ms: int = 10000  # RFC 5213 §9
    max_delay_before_new_bce_assign_ms: int = 1500  # RFC 5213 §9
    dynamic_mag_learning: bool = False
    heartbeat_enabled: bool = False
    heartbeat_interval_s: int = 60  # RFC 5847 §5 HEARTBEAT_INTERVAL
    heartbeat_retries: int = 3  # RFC 5847 §5 MISSING_HEARTBEATS_ALLOWED
    bri_min_delay_ms: int = 1000  # RFC 5846 §11 InitMINDelayBRIs
    bri_max_delay_ms: int = 2000  # RFC 5846 §11 MAX_BRACK_TIMEOUT
    bri_max_retries: int = 1  # RFC 5846 §11 BRIMaxRetriesNumber


@dataclass(frozen=True)
class AccessInterface:
    """A MAG access interface and the access technology reported in option 24."""

    name: str
    access_tech: str = 'ieee-802.3'


@dataclass(frozen=True)
class MagConfig:
    """`ipv6 mobile pmipv6-mag NAME domain DOMAIN`: the local MAG role."""

    name: str
    domain: str
    ipv6_address: IPv6Address | None = None
    ipv4_address: IPv4Address | None = None
    interfaces: tuple[AccessInterface, ...] = ()
    lma: str | None = None
    lma_domain: str | None = None
    fixed_link_local_address: IPv6Address | None = None
    fixed_link_layer_address: str | None = None
    binding_lifetime_s: int = 3600
    binding_refresh_time_s: int = 300
    binding_init_retx_time_ms: int = 1000  # RFC 6275 §12 INITIAL_BINDACK_TIMEOUT
    binding_max_retx_time_ms: int = 32000  # RFC 6275 §12 MAX_BINDACK_TIMEOUT
    local_routing: bool = False  # RFC 5213 §9 EnableMAGLocalRouting
    dhcp_mode: str | None = None  # DHCPv4: None or 'server' (co-located server), 'relay'
    dhcp_relay_destination: IPv4Address | None = None  # the DHCPv4 server relayed to
    dhcp6_relay_destination: IPv6Address | None = None  # the DHCPv6 server relayed to (RFC 5213 §6.11)
    heartbeat_enabled: bool = False
    heartbeat_interval_s: int = 60
    heartbeat_retries: int = 3


@dataclass(frozen=True)
class RouterConfig:
    """The whole appliance configuration (what `show running-config` renders)."""

    hostname: str = 'Router'
    logging: LoggingConfig = field(default_factory=LoggingConfig)
    users: tuple[UserConfig, ...] = ()
    enable_secret: Secret | None = None
    ssh: SshConfig = field(default_factory=SshConfig)
    home_agent: bool = False
    domains: tuple[DomainConfig, ...] = ()
    lmas: tuple[LmaConfig, ...] = ()
    mags: tuple[MagConfig, ...] = ()


def default_of(cls: type, name: str) -> Any:
    """The declared default of dataclass field `name` of `cls`."""
    for f in dataclasses.fields(cls):
        if f.name == name:
            if f.default is not dataclasses.MISSING:
                return f.default
            if f.default_factory is not dataclasses.MISSING:
                return f.default_factory()
            break
    raise KeyError(f'{cls.__name__}.{name} has no default')


def address_key(address: IPv4Address | IPv6Address) -> tuple[int, int]:
    """Sort key putting IPv4 before IPv6 (the two types do not compare)."""
    return (address.version, int(address))


