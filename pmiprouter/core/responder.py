"""Answers every Mobility Header node gives the same way, LMA or MAG (pure, like the engines)."""

from __future__ import annotations

from ipaddress import IPv6Address

from collections.abc import Callable
from typing import Any

from pmiprouter.core.actions import Action, Log, SendMessage
from pmiprouter.core.events import DataplaneApplied, DataplaneBatchApplied, DataplaneFailed, MalformedReceived, MessageReceived, TimerFired
from pmiprouter.core.stats import Stats
from pmiprouter.mh.errors import UnknownMHType
from pmiprouter.mh.iana import BAStatus, BEStatus
from pmiprouter.mh.messages import BindingAcknowledgement, BindingError, BindingUpdate, Heartbeat
from pmiprouter.mh.options_pmip import RestartCounter

UNSPECIFIED = IPv6Address(0)


def reply(event: MessageReceived | MalformedReceived, message: object) -> SendMessage:
    """`message` back to the sender, from the address and over the transport it used."""
    return SendMessage(event.src, event.dst, message, event.transport, event.sport)  # type: ignore[arg-type]


def answer_heartbeat(event: MessageReceived, heartbeat: Heartbeat, restart_counter: int, stats: Stats) -> list[Action]:
    """RFC 5847 §3: always answer a Heartbeat Request, with our Restart Counter; ignore responses."""
    if heartbeat.response:
        return []
    stats.sent['heartbeat'] += 1
    return [reply(event, Heartbeat(heartbeat.sequence, response=True, options=(RestartCounter(restart_counter),)))]


def answer_home_registration(event: MessageReceived, stats: Stats) -> list[Action]:
    """A BU without the P flag is client MIPv6: answered 131 until the co-located home agent lands."""
    bu = event.message
    assert isinstance(bu, BindingUpdate)
    stats.sent['ba'] += 1
    return [reply(event, BindingAcknowledgement(BAStatus.HOME_REGISTRATION_NOT_SUPPORTED, 0, bu.sequence, 0))]  # type: ignore[arg-type]


def answer_malformed(event: MalformedReceived, stats: Stats, binding_error: bool = True) -> list[Action]:
    """Counted and logged; an unknown MH type gets a Binding Error, status 2 (RFC 6275 §9.2)."""
    stats.received['malformed'] += 1
    actions: list[Action] = [Log('warn', 'malformed', {'src': event.src, 'error': str(event.error)})]
    if binding_error and isinstance(event.error, UnknownMHType):
        stats.sent['binding-error'] += 1
        actions.append(reply(event, BindingError(BEStatus.UNRECOGNIZED_MH_TYPE_VALUE, UNSPECIFIED)))
    return actions


def handle_rest(
    event: Any,
    now: float,
    stats: Stats,
    restart_counter: int,
    on_timer: Callable[[str, int, float], list[Any]],
    on_dataplane: Callable[[int, str | None, float], list[Any]],
    binding_error: bool = True,
) -> list[Any]:
    """What an engine's `handle` does alike for both roles, once it has taken its own messages:
    Heartbeats, messages it has no use for, malformed ones, its timers and the data plane's reports."""
    match event:
        case MessageReceived(message=Heartbeat() as heartbeat):
            stats.received['heartbeat'] += 1
            return answer_heartbeat(event, heartbeat, restart_counter, stats)
        case MessageReceived():
            stats.received['other'] += 1
            return [Log('debug', 'message-ignored', {'type': type(event.message).__name__, 'src': event.src})]
        case MalformedReceived():
            return answer_malformed(event, stats, binding_error)
        case TimerFired(key=(kind, ident)):
            return on_timer(kind, ident, now)
        case DataplaneApplied(ticket=ticket):
            return on_dataplane(ticket, None, now)
        case DataplaneBatchApplied(tickets=tickets):
            actions: list[Any] = []
            for ticket in tickets:
                actions += on_dataplane(ticket, None, now)
            return actions
        case DataplaneFailed(ticket=ticket, reason=reason):
            return on_dataplane(ticket, reason, now)
    return [Log('debug', 'event-ignored', {'event': type(event).__name__})]
