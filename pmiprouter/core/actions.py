"""Actions the engines return (pure, frozen): messages to send, timers, data-plane changes, logs.

Data-plane changes use the specs of `pmiprouter.dataplane.interface` (pure values); the
runtime hands them to the configured backend on its worker thread.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pmiprouter.core.events import IPAddress, Transport
from pmiprouter.dataplane.interface import MnRouteSpec, TunnelSpec
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


@dataclass(frozen=True, slots=True)
class Log:
    """A structured log line (engines never call a logger themselves)."""

    level: str
    event: str
    fields: dict[str, Any] = field(default_factory=dict)


Action = SendMessage | StartTimer | CancelTimer | ApplyDataplane | Log
