"""Actions the engines return (pure, frozen): messages to send, timers, data-plane intents, logs.

Data-plane intents say *what* must forward (a tunnel to a peer, a mobile node's prefixes
over it); the runtime turns them into calls on the configured data-plane backend.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from ipaddress import IPv4Interface, IPv6Network
from typing import Any

from pmiprouter.core.events import IPAddress, Transport
from pmiprouter.mh.message import MobilityMessage


@dataclass(frozen=True, slots=True)
class SendMessage:
    """Send `message` from `src` to `dst` over `transport` (UDP: to port `dport`)."""

    dst: IPAddress
    src: IPAddress
    message: MobilityMessage
    transport: Transport = Transport.IPV6
    dport: int | None = None


@dataclass(frozen=True, slots=True)
class StartTimer:
    """Fire TimerFired(key) at absolute time `at`; starting a key again replaces the old deadline."""

    key: tuple[str, int]
    at: float


@dataclass(frozen=True, slots=True)
class CancelTimer:
    key: tuple[str, int]


class Encapsulation(enum.Enum):
    """Tunnel encapsulation between a MAG and the LMA (RFC 5213 §5.6, RFC 5844 §4, RFC 5845 §7)."""

    IP_IN_IPV6 = 'ip-in-ipv6'  # IPv6 transport; IPv6 (nh 41) and IPv4 (nh 4) payloads
    IP_IN_IPV4 = 'ip-in-ipv4'  # IPv4 transport, plain (protocol 41 / 4)
    UDP4 = 'udp4'  # IPv4 transport, UDP 5437 (F flag / NAT Detection)
    UDP4_TLV = 'udp4-tlv'  # IPv4 transport, UDP 5437 with the TLV header (T flag)
    GRE = 'gre'  # GRE with keys over the IPv6 or IPv4 transport


@dataclass(frozen=True, slots=True)
class TunnelIntent:
    """The bidirectional tunnel between this node (`local`) and a peer (`remote`), shared by its MNs."""

    local: IPAddress
    remote: IPAddress
    encapsulation: Encapsulation


@dataclass(frozen=True, slots=True)
class RouteIntent:
    """One mobile node's forwarding over a tunnel (LMA: downlink to its prefixes; MAG: uplink from them).

    `drop` holds the prefixes without forwarding (RFC 5213 §5.3.5: data is dropped while a
    de-registered entry waits MinDelayBeforeBCEDelete).
    """

    binding_id: int
    tunnel: TunnelIntent
    prefixes: tuple[IPv6Network, ...] = ()
    ipv4_address: IPv4Interface | None = None
    gre_key_out: int | None = None  # key we put on packets we send
    gre_key_in: int | None = None  # key we expect on packets we receive
    drop: bool = False


@dataclass(frozen=True, slots=True)
class ApplyDataplane:
    """Make these changes, in order, then report DataplaneApplied(ticket) or DataplaneFailed(ticket)."""

    ticket: int
    ensure_tunnels: tuple[TunnelIntent, ...] = ()
    ensure_routes: tuple[RouteIntent, ...] = ()
    remove_routes: tuple[RouteIntent, ...] = ()
    remove_tunnels: tuple[TunnelIntent, ...] = ()


@dataclass(frozen=True, slots=True)
class Log:
    """A structured log line (engines never call a logger themselves)."""

    level: str
    event: str
    fields: dict[str, Any] = field(default_factory=dict)


Action = SendMessage | StartTimer | CancelTimer | ApplyDataplane | Log
