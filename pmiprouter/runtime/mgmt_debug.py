"""`debug ipv6 mobile pmipv6 {events|messages|dataplane}`: taps on the engine drivers.

The EngineDriver has no observer hook, so a tap wraps four of its bound methods on the
instance (`feed`, `send`, `send_wire`, `program`) while any debug category is on, and puts the
originals back when the last one goes off: with debugging off the hot path is untouched. A
common PBU (read from its bytes) and a PBA sent as bytes are decoded for their line.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ipaddress import IPv6Address

from pmiprouter.core.actions import ApplyDataplane, SendMessage
from pmiprouter.core.events import CommonPbuReceived, DataplaneApplied, DataplaneFailed, MessageReceived, TimerFired
from pmiprouter.mh.codec import decode
from pmiprouter.mh.errors import DecodeError
from pmiprouter.runtime.driver import EngineDriver

Emit = Callable[[str, str], None]


def describe(message: Any) -> str:
    """A one-line decode of a Mobility Header message: type, sequence, status, MN id."""
    parts = [type(message).__name__]
    proxy = getattr(message, 'is_proxy', False)
    if parts[0] == 'BindingAcknowledgement':
        parts[0] = 'PBA' if proxy else 'BA'
    elif parts[0] == 'BindingUpdate':
        parts[0] = 'PBU' if proxy else 'BU'
    for name in ('sequence', 'lifetime', 'status'):
        value = getattr(message, name, None)
        if value is not None:
            parts.append(f'{name}={getattr(value, "name", value)}')
    for option in getattr(message, 'options', ()):
        text = getattr(option, 'text', None)
        if isinstance(text, str):
            parts.append(f'mn={text}')
        elif type(option).__name__ == 'HomeNetworkPrefix':
            parts.append(f'hnp={getattr(option, "prefix", option)}')
    return ' '.join(parts)


def describe_wire(wire: bytes) -> str:
    """`describe` of an encoded Mobility Header."""
    try:
        return describe(decode(wire))
    except DecodeError as error:
        return f'malformed ({error})'


class DebugTaps:
    """The active debug categories and the wrapped drivers."""

    def __init__(self, emit: Emit) -> None:
        self.emit = emit
        self.active: set[str] = set()
        self.tapped: dict[EngineDriver, dict[str, Any]] = {}  # each driver (by identity) and its own methods

    def set(self, category: str | None, on: bool, drivers: list[EngineDriver]) -> None:
        """Switch `category` (None: all of them) and tap or untap `drivers` accordingly."""
        from pmiprouter.cli.handlers.operational import DEBUG_CATEGORIES

        names = set(DEBUG_CATEGORIES) if category is None else {category}
        self.active = self.active | names if on else self.active - names
        if self.active:
            for driver in drivers:
                self._tap(driver)
        else:
            self._untap_all()

    def retap(self, drivers: list[EngineDriver]) -> None:
        """Tap drivers that appeared since (a role started by a live change) while debugging is on."""
        if self.active:
            for driver in drivers:
                self._tap(driver)

    def _tap(self, driver: EngineDriver) -> None:
        if driver in self.tapped:
            return
        originals = {name: getattr(driver, name) for name in ('feed', 'send', 'send_wire', 'program')}
        self.tapped[driver] = originals

        def feed(event: Any) -> None:
            if isinstance(event, MessageReceived) and 'messages' in self.active:
                self.emit('messages', f'RX {describe(event.message)} from {event.src}')
            elif isinstance(event, CommonPbuReceived) and 'messages' in self.active:
                self.emit('messages', f'RX {describe_wire(event.wire)} from {event.src}')
            elif isinstance(event, (TimerFired, DataplaneApplied, DataplaneFailed)) and 'events' in self.active:
                self.emit('events', f'{type(event).__name__} {getattr(event, "key", getattr(event, "ticket", ""))}')
            originals['feed'](event)

        def send(action: SendMessage) -> None:
            if 'messages' in self.active:
                self.emit('messages', f'TX {describe(action.message)} to {action.dst}')
            originals['send'](action)

        def send_wire(dst: IPv6Address, src: IPv6Address, wire: bytes) -> None:
            if 'messages' in self.active:
                self.emit('messages', f'TX {describe_wire(wire)} to {dst}')
            originals['send_wire'](dst, src, wire)

        def program(change: ApplyDataplane) -> None:
            if 'dataplane' in self.active:
                self.emit('dataplane', f'ticket {change.ticket}: {change}')
            originals['program'](change)

        driver.feed = feed  # type: ignore[method-assign]
        driver.send = send  # type: ignore[method-assign]
        driver.send_wire = send_wire  # type: ignore[method-assign]
        driver.program = program  # type: ignore[method-assign]

    def _untap_all(self) -> None:
        for driver, originals in self.tapped.items():
            for name in originals:
                delattr(driver, name)  # the instance attribute goes; the class method shows again
        self.tapped.clear()
