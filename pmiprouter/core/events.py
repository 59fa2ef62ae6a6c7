"""Events the engines receive (pure values; slotted, not frozen, for the reason actions.py gives).

Each engine has one entry point, `handle(event, now) -> list[Action]` (design.md).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv6Address

from typing import NamedTuple

from pmiprouter.mh.codec import decode
from pmiprouter.mh.errors import DecodeError
from pmiprouter.mh.message import MobilityMessage

IPAddress = IPv6Address | IPv4Address


class Transport(enum.Enum):
    """How a Mobility Header travelled: raw IPv6 (RFC 5213) or IPv4/UDP 5436 (RFC 5844 §4)."""

    IPV6 = 'ipv6'
    UDP4 = 'udp4'



@dataclass(slots=True)
class MessageReceived:
    """A decoded Mobility Header from `src` to `dst` (our address it was sent to)."""

    src: IPAddress
    dst: IPAddress
    message: MobilityMessage
    transport: Transport = Transport.IPV6
    sport: int | None = None  # UDP source port, where the answer goes (RFC 5844 §4.1.3.2)


class CommonPbuReceived(NamedTuple):
    """A MAG's usual PBU from `src` to `dst`, read from its bytes (fast/common_pbu.py) instead of
    decoded: the values `ProxyRegistration.parse` would give, and the datagram for anything else.

    The usual PBU: flags A and P, an NAI MN-ID, an ALL_ZERO Home Network Prefix, the Handoff
    Indicator and the Access Technology Type, perhaps the link-layer ID and a Timestamp, each once.
    """

    sequence: int
    lifetime_s: int
    identifier: bytes  # the NAI's bytes
    handoff: int
    att: int
    ll_id: bytes | None  # the link-layer identifier as received (all zero included); None: no option
    timestamp: int | None
    src: IPv6Address
    dst: IPv6Address
    wire: bytes

    @property
    def mn_ll_id(self) -> bytes:
        """The identifier a binding keeps: b'' for none or all zero, as the engine stores it."""
        ll_id = self.ll_id
        return ll_id if ll_id is not None and ll_id.lstrip(b'\0') else b''

    def decoded(self) -> MessageReceived:
        """The same datagram as the codec reads it (DecodeError is possible: the reader checks
        the layout, the codec also the values)."""
        return MessageReceived(self.src, self.dst, decode(self.wire), Transport.IPV6)



@dataclass(slots=True)
class MessageSent:
    """`message` left for `dst`: the runtime handed it to its socket at `now`.

    Fed back only for the messages a role asks about (the MAG: its PBUs), so that the engine
    measures PBU -> PBA from the moment the PBU left, not from the moment it was decided.
    """

    dst: IPAddress
    message: MobilityMessage



@dataclass(slots=True)
class MalformedReceived:
    """Bytes from `src` that did not decode; the engine counts them and may answer (RFC 6275 §9.2)."""

    src: IPAddress
    dst: IPAddress
    error: DecodeError
    transport: Transport = Transport.IPV6
    sport: int | None = None



@dataclass(slots=True)
class TimerFired:
    """A timer started with StartTimer(key, at) came due."""

    key: tuple[str, int]



@dataclass(slots=True)
class DataplaneApplied:
    """The data-plane changes of `ticket` are in place."""

    ticket: int



@dataclass(slots=True)
class DataplaneBatchApplied:
    """The data-plane changes of every ticket in `tickets` are in place (one burst's, applied together)."""

    tickets: tuple[int, ...]



@dataclass(slots=True)
class DataplaneFailed:
    """The data-plane changes of `ticket` could not be made."""

    ticket: int
    reason: str


Event = (MessageReceived | CommonPbuReceived | MessageSent | MalformedReceived | TimerFired | DataplaneApplied
         | DataplaneBatchApplied | DataplaneFailed)
