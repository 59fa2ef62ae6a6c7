"""What the LMA is allowed to do, as plain data the engine consults (pure).

Built by the runtime from the router configuration (pmiprouter.config); the engine never
reads configuration syntax. Defaults are RFC 5213 §9 (MinDelayBeforeBCEDelete 10000 ms,
MaxDelayBeforeNewBCEAssign 1500 ms, TimestampValidityWindow 300 ms,
TimestampBasedApproachInUse 1, MobileNodeGeneratedTimestampInUse 0) and RFC 5844 §5.1
(AcceptForcedIPv4UDPEncapsulationRequest 0).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network

from pmiprouter.core.revocation import BriTiming
from pmiprouter.fast.by_identity import ByIdentity
from pmiprouter.fast.frozen import quick_init
from pmiprouter.mh.iana import MNIdentifierSubtype
from pmiprouter.mh.options_mipv6 import MobileNodeIdentifier

IPAddress = IPv6Address | IPv4Address
RFC6543_LINK_LOCAL = IPv6Address('fe80::200:5eff:fe00:5213')


@quick_init
@dataclass(frozen=True, slots=True)
class Ipv4HomeAddress:
    """An IPv4 home address and the prefix length of its home network (RFC 5844 §3.3.2).

    A light stand-in for `IPv4Interface` (a third of its memory, which counts per binding).
    """

    ip: IPv4Address
    prefix_length: int

    def __str__(self) -> str:
        return f'{self.ip}/{self.prefix_length}'

    @classmethod
    def parse(cls, text: str) -> Ipv4HomeAddress:
        address, _, length = text.partition('/')
        return cls(IPv4Address(address), int(length or 32))


class Service(enum.Enum):
    """The IP versions a mobile node may use (RFC 5844 §3: IPv4-only, IPv6-only, dual stack)."""

    IPV6 = 'ipv6'
    IPV4 = 'ipv4'
    DUAL = 'dual'

    @property
    def ipv6(self) -> bool:
        return self is not Service.IPV4

    @property
    def ipv4(self) -> bool:
        return self is not Service.IPV6


class GreMode(enum.Enum):
    """Whether the domain tunnels with GRE keys (RFC 5845)."""

    OFF = 'off'  # plain IP-in-IP; a GRE Key option is answered with status 2
    OPTIONAL = 'optional'  # GRE when the MAG asks for it
    REQUIRED = 'required'  # a PBU without a GRE Key option is rejected with 163


@dataclass(frozen=True, slots=True)
class MobileNodeProfile:
    """One mobile node's policy entry (RFC 5213 §6.2, RFC 5844 §3).

    Attributes:
        identifier: the MN-Identifier as on the wire (NAI bytes for subtype 1).
        service: IP versions the MN is entitled to.
        home_prefixes: static HNPs; empty means allocate from the pools.
        ipv4_home_address: a static IPv4 HoA with its home-network prefix length.
        proxy_enabled: False refuses network-based mobility (152).
        allowed_mags: MAG addresses allowed to register this MN; empty means any authorized MAG.
        nai: derived: the MN-ID (NAI subtype) its bindings keep, one object shared by all of them.
    """

    identifier: bytes
    service: Service = Service.DUAL
    home_prefixes: tuple[IPv6Network, ...] = ()
    ipv4_home_address: Ipv4HomeAddress | None = None
    proxy_enabled: bool = True
    allowed_mags: frozenset[IPAddress] = frozenset()
    # Built once with the profile rather than per registration: a binding refers to it (an
    # object less per binding) and the LMA finds the MN's bindings with it.
    nai: MobileNodeIdentifier = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, 'nai', MobileNodeIdentifier(MNIdentifierSubtype.NAI, self.identifier))


@dataclass(frozen=True, slots=True)
class LmaPolicy:
    """Everything the LMA engine needs to decide on a PBU."""

    lma_addresses: frozenset[IPAddress]
    profiles: dict[bytes, MobileNodeProfile] = field(default_factory=dict)
    authorized_mags: frozenset[IPAddress] = frozenset()
    dynamic_mag_learning: bool = False
    hnp_pools: tuple[tuple[IPv6Network, int], ...] = ()  # (pool, length of the prefixes carved from it)
    ipv4_pools: tuple[IPv4Network, ...] = ()
    max_lifetime_s: int = 3600
    min_delay_before_bce_delete_s: float = 10.0
    max_delay_before_new_bce_assign_s: float = 1.5
    wait_for_deregistration: bool = True  # RFC 5213 §5.4.1.2 step 4: SHOULD wait; False creates at once
    use_timestamps: bool = True
    timestamp_window_s: float = 0.3
    mn_generated_timestamps: bool = False
    gre: GreMode = GreMode.OPTIONAL
    gre_tlv_supported: bool = True
    accept_forced_udp: bool = False
    # The MAG link-local address the LMA hands out when a PBU asks with ALL_ZERO (RFC 5213 §5.3.6);
    # RFC 6543's reserved address keeps the MN's default router the same on every MAG.
    link_local: IPv6Address = RFC6543_LINK_LOCAL
    dhcp_server_mode: bool | None = None  # RFC 5844 §3.3.4: tell MAGs to be DHCP server (True) or relay (False)
    bri_timing: BriTiming = BriTiming()  # RFC 5846 §11: BRI retransmission (`bri delay`, `bri retries`)
    # mag_authorized's answer for profiles without their own MAG list, per address object: the
    # ports hand on one object per peer, and set membership hashes an ip_address in Python.
    _any_profile: ByIdentity[IPAddress, bool] = field(init=False, compare=False, repr=False)

    def profile(self, identifier: bytes) -> MobileNodeProfile | None:
        return self.profiles.get(identifier)

    def __post_init__(self) -> None:
        if self.authorized_mags & self.lma_addresses:  # see mag_authorized
            object.__setattr__(self, 'authorized_mags', self.authorized_mags - self.lma_addresses)
        object.__setattr__(self, '_any_profile', ByIdentity[IPAddress, bool](self._mag_of_the_domain, 1024))

    def mag_authorized(self, mag: IPAddress, profile: MobileNodeProfile | None) -> bool:
        """RFC 5213 §5.3.1 steps 5-6: the sender is a MAG allowed to register this MN. Never one of
        our own addresses (a spoofed or looped PBU): a tunnel needs two ends, and a session that
        cannot get one would be stuck. (`authorized_mags` holds none of them: __post_init__.)"""
        if profile is not None and profile.allowed_mags:
            return mag in profile.allowed_mags and mag not in self.lma_addresses
        return self._any_profile(mag)

    def _mag_of_the_domain(self, mag: IPAddress) -> bool:
        return mag in self.authorized_mags or (self.dynamic_mag_learning and mag not in self.lma_addresses)
