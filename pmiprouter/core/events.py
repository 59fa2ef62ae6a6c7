"""Events the engines receive (pure, frozen).

Each engine has one entry point, `handle(event, now) -> list[Action]` (design.md).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv6Address

from pmiprouter.fast.frozen import quick_init
from pmiprouter.mh.errors import DecodeError
from pmiprouter.mh.message import MobilityMessage

IPAddress = IPv6Address | IPv4Address


class Transport(enum.Enum):
    """How a Mobility Header travelled: raw IPv6 (RFC 5213) or IPv4/UDP 5436 (RFC 5844 §4)."""

    IPV6 = 'ipv6'
    UDP4 = 'udp4'


@quick_init
@dataclass(frozen=True, slots=True)
class MessageReceived:
    """A decoded Mobility Header from `src` to `dst` (our address it was sent to)."""

    src: IPAddress
    dst: IPAddress
    message: MobilityMessage
    transport: Transport = Transport.IPV6
    sport: int | None = None  # UDP source port, where the answer goes (RFC 5844 §4.1.3.2)


@quick_init
@dataclass(frozen=True, slots=True)
class MessageSent:
    """`message` left for `dst`: the runtime handed it to its socket at `now`.

    Fed back only for the messages a role asks about (the MAG: its PBUs), so that the engine
    measures PBU -> PBA from the moment the PBU left, not from the moment it was decided.
    """

    dst: IPAddress
    message: MobilityMessage


@quick_init
@dataclass(frozen=True, slots=True)
class MalformedReceived:
    """Bytes from `src` that did not decode; the engine counts them and may answer (RFC 6275 §9.2)."""

    src: IPAddress
    dst: IPAddress
    error: DecodeError
    transport: Transport = Transport.IPV6
    sport: int | None = None


@quick_init
@dataclass(frozen=True, slots=True)
class TimerFired:
    """A timer started with StartTimer(key, at) came due."""

    key: tuple[str, int]


@quick_init
@dataclass(frozen=True, slots=True)
class DataplaneApplied:
    """The data-plane changes of `ticket` are in place."""

    ticket: int


@quick_init
@dataclass(frozen=True, slots=True)
class DataplaneFailed:
    """The data-plane changes of `ticket` could not be made."""

    ticket: int
    reason: str


Event = MessageReceived | MessageSent | MalformedReceived | TimerFired | DataplaneApplied | DataplaneFailed
