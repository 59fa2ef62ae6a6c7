"""What the MAG is configured to do, as plain data the engine consults (pure).

Built by the runtime from the router configuration; the engine never reads configuration
syntax. Defaults are RFC 5213 §9 and §6.9.4 (INITIAL_BINDACK_TIMEOUT 1 s, MAX_BINDACK_TIMEOUT
32 s from RFC 6275 §12), RFC 5213 §6.9.1.4 (de-registration cleanup after
INITIAL_BINDACK_TIMEOUT) and RFC 6543 (the reserved MAG link-local address).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from ipaddress import IPv4Address, IPv6Address, IPv6Network

from pmiprouter.core.events import IPAddress, Transport
from pmiprouter.core.policy import RFC6543_LINK_LOCAL, Ipv4HomeAddress, Service
from pmiprouter.mh.iana import AccessTechnologyType

RFC6543_LINK_LAYER = bytes.fromhex('00005e005213')


def parse_mac(text: str) -> bytes:
    """A MAC written 00:11:22:33:44:55, 00-11-... or 0011.2233.4455 as its 6 bytes."""
    raw = bytes.fromhex(''.join(ch for ch in text if ch not in ':-.'))
    if len(raw) != 6:
        raise ValueError(f'not a MAC-48 address: {text!r}')
    return raw


def format_mac(mac: bytes) -> str:
    """6 bytes as 00:11:22:33:44:55 (logs and `show`)."""
    return ':'.join(f'{b:02x}' for b in mac)


@dataclass(frozen=True, slots=True)
class AccessInterface:
    """One access link (RFC 5213 §6.3: each MN is served as if alone on a point-to-point link).

    Attributes:
        ifname: the interface name.
        att: Access Technology Type sent for MNs on it (RFC 5213 §8.5).
        mtu: the access link MTU; the RA MTU option is min(tunnel MTU, this) (§6.9.5).
    """

    ifname: str
    att: int = AccessTechnologyType.IEEE_802_3
    mtu: int = 1500


@dataclass(frozen=True, slots=True)
class MagProfile:
    """One mobile node's policy profile, found by its MAC (RFC 5213 §6.2, RFC 5844 §3).

    Attributes:
        mac: the MN's link-layer address (6 bytes); also its MN-LL-ID.
        nai: the MN-Identifier sent to the LMA; None uses the MAC itself (EUI-48, RFC 8371),
            which is how the LMA side keys `mac-address` profiles.
        service: IP versions requested (IPv6-only, IPv4-only or dual stack).
        home_prefixes: static HNPs to request; empty asks with one ALL_ZERO HNP.
        ipv4_home_address: a static IPv4 HoA to request; None asks for 0.0.0.0.
        lma: an LMA address for this MN instead of the policy's default.
        gre_key: the downlink GRE key for this MN; None derives a unique one.
        enabled: False denies PMIPv6 service to this MAC (RFC 5213 §6.9.1.1 step 2).
    """

    mac: bytes
    nai: str | None = None
    service: Service = Service.IPV6
    home_prefixes: tuple[IPv6Network, ...] = ()
    ipv4_home_address: Ipv4HomeAddress | None = None
    lma: IPAddress | None = None
    gre_key: int | None = None
    enabled: bool = True


@dataclass(frozen=True, slots=True)
class MagPolicy:
    """Everything the MAG engine needs to serve its access links.

    Attributes:
        mag_address: our IPv6 Proxy-CoA (IPv6 transport).
        mag_address_v4: our IPv4 Proxy-CoA (IPv4/UDP transport, RFC 5844 §4).
        lma_address: the default IPv6 LMAA.
        lma_address_v4: the default IPv4-LMAA.
        transport: signalling and tunnel transport: IPv6 or IPv4/UDP 5436.
        interfaces: the access links we serve.
        use_timestamps: TimestampBasedApproachInUse (RFC 5213 §9); False uses sequence numbers.
        lifetime_s: requested binding lifetime.
        renewal_margin_s: renew this long before expiry (capped at half the granted lifetime).
        initial_bindack_timeout_s / max_bindack_timeout_s: PBU retransmission (§6.9.4).
        deregistration_wait_s: cleanup after a de-registration without a PBA (§6.9.1.4).
        probe_before_renewal / probe_timeout_s: NUD before re-registration (§6.9.1.3, §6.13).
        fixed_link_local: FixedMAGLinkLocalAddressOnAllAccessLinks; None (ALL_ZERO) asks the LMA.
        fixed_link_layer: FixedMAGLinkLayerAddressOnAllAccessLinks.
        gre: send a GRE Key option (RFC 5845) in registrations.
        force_udp: set the F flag over IPv4 transport (RFC 5844 §4.2.2).
        profiles: profiles by MAC.
        serve_unknown: serve MACs without a profile, with the MAC as MN-Identifier.
        unknown_service: the service of such MNs.
        local_routing: EnableMAGLocalRouting (RFC 5213 §9).
        router_lifetime_s: Router Lifetime in our RAs.
        tunnel_mtu: the tunnel MTU when known (else 1500 minus the encapsulation).
    """

    mag_address: IPv6Address | None = None
    mag_address_v4: IPv4Address | None = None
    lma_address: IPv6Address | None = None
    lma_address_v4: IPv4Address | None = None
    transport: Transport = Transport.IPV6
    interfaces: tuple[AccessInterface, ...] = ()
    use_timestamps: bool = True
    lifetime_s: int = 600
    renewal_margin_s: float = 60.0
    initial_bindack_timeout_s: float = 1.0
    max_bindack_timeout_s: float = 32.0
    deregistration_wait_s: float = 1.0
    probe_before_renewal: bool = True
    probe_timeout_s: float = 3.0  # RFC 4861 §10: MAX_UNICAST_SOLICIT 3 x RETRANS_TIMER 1 s
    fixed_link_local: IPv6Address | None = RFC6543_LINK_LOCAL
    fixed_link_layer: bytes | None = RFC6543_LINK_LAYER
    gre: bool = False
    force_udp: bool = False
    profiles: dict[bytes, MagProfile] = field(default_factory=dict)
    serve_unknown: bool = False
    unknown_service: Service = Service.IPV6
    local_routing: bool = False
    router_lifetime_s: int = 1800
    tunnel_mtu: int | None = None

    def interface(self, ifname: str) -> AccessInterface | None:
        return next((i for i in self.interfaces if i.ifname == ifname), None)

    def profile(self, mac: bytes) -> MagProfile | None:
        """The MN's profile; an unknown MAC gets a default one only when `serve_unknown`."""
        found = self.profiles.get(mac)
        if found is None and self.serve_unknown:
            return MagProfile(mac, service=self.unknown_service)
        return found

    def endpoints(self, profile: MagProfile) -> tuple[IPAddress, IPAddress]:
        """(our Proxy-CoA, the LMAA) for this MN on the configured transport.

        Raises:
            ValueError: the addresses for the transport are not configured.
        """
        if self.transport is Transport.IPV6:
            local: IPAddress | None = self.mag_address
            remote: IPAddress | None = profile.lma if isinstance(profile.lma, IPv6Address) else self.lma_address
        else:
            local = self.mag_address_v4
            remote = profile.lma if isinstance(profile.lma, IPv4Address) else self.lma_address_v4
        if local is None or remote is None:
            raise ValueError(f'no MAG/LMA address for transport {self.transport.value}')
        return local, remote
