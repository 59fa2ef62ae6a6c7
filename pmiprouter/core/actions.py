"""Actions the engines return (pure, frozen): messages to send, timers, data-plane changes, logs.

Data-plane changes use the specs of `pmiprouter.dataplane.interface` (pure values); the
runtime hands them to the configured backend on its worker thread.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pmiprouter.core.events import IPAddress, Transport
from pmiprouter.dataplane.interface import MnRouteSpec, TunnelSpec
from pmiprouter.fast.frozen import quick_init
from pmiprouter.mh.message import MobilityMessage


@quick_init
@dataclass(frozen=True, slots=True)
class SendMessage:
    """Send `message` from `src` to `dst` over `transport` (UDP: to port `dport`)."""

    dst: IPAddress
    src: IPAddress
    message: MobilityMessage
    transport: Transport = Transport.IPV6
    dport: int | None = None


@quick_init
@dataclass(frozen=True, slots=True)
class SendEncoded:
    """Send a Mobility Header already encoded (the LMA's PBA to a common PBU) over IPv6."""

    dst: IPAddress
    src: IPAddress
    wire: bytes


@quick_init
@dataclass(frozen=True, slots=True)
class StartTimer:
    """Fire TimerFired(key) at absolute time `at`; starting a key again replaces the old deadline."""

    key: tuple[str, int]
    at: float


@quick_init
@dataclass(frozen=True, slots=True)
class CancelTimer:
    key: tuple[str, int]


@quick_init
@dataclass(frozen=True, slots=True)
class ApplyDataplane:
    """Make these changes in this order (tunnels, routes, removals), then report
    DataplaneApplied(ticket) or DataplaneFailed(ticket). Routes are replaced in place, so a
    handover moves a mobile node's prefixes to the new tunnel in one step."""

    ticket: int
    ensure_tunnels: tuple[TunnelSpec, ...] = ()
    ensure_routes: tuple[MnRouteSpec, ...] = ()
    remove_routes: tuple[MnRouteSpec, ...] = ()
    remove_tunnels: tuple[TunnelSpec, ...] = ()


@quick_init
@dataclass(frozen=True, slots=True)
class Log:
    """A structured log line (engines never call a logger themselves)."""

    level: str
    event: str
    fields: dict[str, Any] = field(default_factory=dict)


class Texts:
    """A log field listing values as text, formatted only when the line is written.

    The MN's RA waits behind everything the engine builds before it: turning prefixes into
    text is not needed for that, and a line below the daemon's level never needs it at all.
    """

    __slots__ = ('values',)

    def __init__(self, values: tuple[object, ...]) -> None:
        self.values = values

    def __str__(self) -> str:
        return str([str(value) for value in self.values])

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Texts) and other.values == self.values

    __hash__ = None  # type: ignore[assignment]


Action = SendMessage | StartTimer | CancelTimer | ApplyDataplane | Log
