"""Events and actions of the MAG's access side (pure, frozen).

The MAG engine also consumes the shared events of `pmiprouter.core.events` (MessageReceived
for PBAs and Heartbeats, TimerFired, DataplaneApplied/Failed) and returns the shared actions
of `pmiprouter.core.actions`. What is here is specific to the access link: attachment
detection (RFC 5213 §6.9.1.1 step 1, §6.13), Router Solicitation/Advertisement (§6.6, §6.9.2),
neighbour probing before renewal (§6.9.1.3) and the co-located DHCPv4 server (RFC 5844 §3.4).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv6Address, IPv6Network

from pmiprouter.fast.frozen import quick_init


class AttachTrigger(enum.Enum):
    """What told us a mobile node is on an access link (issue 5: netlink, RS, DHCP)."""

    LINK = 'link'  # link up / L2 association on the MN's point-to-point link
    NEIGHBOUR = 'neighbour'  # a new neighbour entry for the MAC
    ROUTER_SOLICITATION = 'rs'
    DHCP = 'dhcp'  # DHCPv4 DISCOVER or DHCPv6 SOLICIT


class AttachHint(enum.Enum):
    """What the access technology knows about the attachment (RFC 5213 §6.9.1.1 steps 4-5).

    The engine maps it to the Handoff Indicator; it never guesses 2 or 3 itself.
    """

    NEW = 'new'  # a new attachment, not a handoff -> HI 1
    FROM_OTHER_MAG = 'from-other-mag'  # L2 says the same interface left another MAG -> HI 3
    UNKNOWN = 'unknown'  # -> HI 4


class DetachReason(enum.Enum):
    """Why a mobile node is considered gone (RFC 5213 §6.13)."""

    LINK_DOWN = 'link-down'
    NUD_FAILURE = 'nud-failure'
    DHCP_RELEASE = 'dhcp-release'
    ADMIN = 'admin'


@quick_init
@dataclass(frozen=True, slots=True)
class MobileNodeAttached:
    """A mobile node was detected on `ifname`.

    `hint` None derives it from the trigger: a link event is a new attachment (HI 1); an RS,
    DHCP or neighbour entry without a link event means we cannot tell (HI 4).
    """

    ifname: str
    mac: bytes
    trigger: AttachTrigger = AttachTrigger.LINK
    hint: AttachHint | None = None


@quick_init
@dataclass(frozen=True, slots=True)
class MobileNodeDetached:
    """The mobile node left `ifname` (link down, NUD failure, admin)."""

    ifname: str
    mac: bytes
    reason: DetachReason = DetachReason.LINK_DOWN


@quick_init
@dataclass(frozen=True, slots=True)
class RouterSolicitationReceived:
    """An RS from `mac` on `ifname` (RFC 4861 §6.2.6; RFC 5213 §6.9.2)."""

    ifname: str
    mac: bytes


@quick_init
@dataclass(frozen=True, slots=True)
class NeighbourReachable:
    """The MN answered the probe asked for by ProbeNeighbour (RFC 4861 §7.3)."""

    ifname: str
    mac: bytes


@quick_init
@dataclass(frozen=True, slots=True)
class DhcpDiscover:
    """A DHCPv4 DISCOVER (or DHCPv6 SOLICIT) from `mac` (RFC 5844 §3.4.1)."""

    ifname: str
    mac: bytes


@quick_init
@dataclass(frozen=True, slots=True)
class DhcpRelease:
    """A DHCPRELEASE: IPv4-only de-registration, never the IPv6 prefixes (RFC 5844 §3.4)."""

    ifname: str
    mac: bytes


MagEvent = (
    MobileNodeAttached | MobileNodeDetached | RouterSolicitationReceived | NeighbourReachable | DhcpDiscover | DhcpRelease
)


@quick_init
@dataclass(frozen=True, slots=True)
class SendRouterAdvertisement:
    """Send an RA to `mac` on `ifname` (RFC 5213 §6.6, §6.7; RFC 4861 §4.2).

    Attributes:
        prefixes: the MN's HNPs, as on-link (L=1) autonomous (A=1) Prefix Information options.
        lifetime: valid and preferred lifetime of those prefixes; 0 withdraws them (§6.12).
        mtu: the MTU option, min(tunnel MTU, access link MTU) (§6.9.5).
        router_lifetime: Router Lifetime; 0 when service ends.
        source: our link-local source address on that link (fixed or from the LMA).
        source_mac: our link-layer address for the Source Link-Layer Address option, the
            domain's fixed one (RFC 5213 §6.9.3; RFC 6543) or None for the interface's own.
    """

    ifname: str
    mac: bytes
    prefixes: tuple[IPv6Network, ...]
    lifetime: int
    mtu: int
    router_lifetime: int
    source: IPv6Address | None
    source_mac: bytes | None = None


@quick_init
@dataclass(frozen=True, slots=True)
class SetLinkLocal:
    """Use `address` as our link-local address on `ifname` (RFC 5213 §6.9.1.2: no DAD needed)."""

    ifname: str
    address: IPv6Address


@quick_init
@dataclass(frozen=True, slots=True)
class ProbeNeighbour:
    """Check with NUD that `mac` is still on `ifname`; answer NeighbourReachable or MobileNodeDetached."""

    ifname: str
    mac: bytes


@quick_init
@dataclass(frozen=True, slots=True)
class OfferIpv4:
    """The DHCPv4 server may lease `address` to `mac` (RFC 5844 §3.4.1: Subnet Mask, Router, MTU).

    `relay` is True when the LMA's IPv4 DHCP Support Mode said S=0 (RFC 5844 §3.3.4): the
    MAG then relays the MN's DHCP to the domain's server instead of answering itself.
    """

    ifname: str
    mac: bytes
    address: IPv4Address
    prefix_length: int
    router: IPv4Address | None
    mtu: int
    relay: bool = False


@quick_init
@dataclass(frozen=True, slots=True)
class RevokeIpv4:
    """The DHCPv4 server must stop serving `mac` (no IPv4 service any more)."""

    ifname: str
    mac: bytes


MagAction = SendRouterAdvertisement | SetLinkLocal | ProbeNeighbour | OfferIpv4 | RevokeIpv4
