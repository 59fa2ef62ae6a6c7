"""EngineDriver: feeds events to a pure engine and carries out the actions it returns.

`feed(event)` -> `engine.handle(event, clock.seconds())` -> send / time / program / log.
Timers are `callLater`s keyed like the engine's TimerKeys (starting a key again replaces
it); data-plane work goes to the executor and comes back as DataplaneApplied/Failed events.
Every exception stops here, counted and logged: the reactor never sees one.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from ipaddress import IPv4Address, IPv6Address
from typing import Any, Protocol

from twisted.internet.interfaces import IDelayedCall, IReactorTime
from twisted.logger import Logger, LogLevel
from twisted.python.failure import Failure

from pmiprouter.core.actions import Action, ApplyDataplane, CancelTimer, Log, SendMessage, StartTimer
from pmiprouter.core.events import DataplaneApplied, DataplaneFailed, Event, MessageReceived, TimerFired, Transport
from pmiprouter.mh.codec import encode
from pmiprouter.mh.errors import EncodeError
from pmiprouter.runtime.dataplane_worker import DataplaneExecutor

LEVELS = {'debug': LogLevel.debug, 'info': LogLevel.info, 'warn': LogLevel.warn, 'error': LogLevel.error}


class Engine(Protocol):
    def handle(self, event: Any, now: float) -> list[Action]: ...


class Ipv6Sender(Protocol):
    def send(self, dst: IPv6Address, src: IPv6Address | None, wire: bytes) -> None: ...


class Ipv4Sender(Protocol):
    def send(self, dst: IPv4Address, wire: bytes, port: int | None) -> None: ...


class EngineDriver:
    """Owns one engine's timers and carries out its actions."""

    log = Logger()

    def __init__(
        self,
        engine: Engine,
        clock: IReactorTime,
        executor: DataplaneExecutor,
        ipv6: Ipv6Sender | None = None,
        ipv4: dict[IPv4Address, Ipv4Sender] | None = None,
        extra: Callable[[Any], None] | None = None,
    ) -> None:
        self.engine = engine
        self.clock = clock
        self.executor = executor
        self.ipv6 = ipv6
        self.ipv4 = ipv4 or {}
        self.extra = extra  # carries out role-specific actions (the MAG's access-link actions)
        self.timers: dict[tuple[str, int], IDelayedCall] = {}
        self.counters: Counter[str] = Counter()
        self.trace = False  # log every Mobility Header in and out (debug; costs time per message)

    def feed(self, event: Event) -> None:
        if self.trace and isinstance(event, MessageReceived):
            self._trace('mh-received', event.message, event.src)
        try:
            actions = self.engine.handle(event, self.clock.seconds())
        except Exception:
            self.counters['engine-errors'] += 1
            self.log.failure('engine failed on {event}', event=type(event).__name__)
            return
        for action in actions:
            try:
                self.execute(action)
            except Exception:
                self.counters['action-errors'] += 1
                self.log.failure('action {action} failed', action=type(action).__name__)

    def execute(self, action: Action) -> None:
        match action:
            case SendMessage():
                self.send(action)
            case StartTimer(key=key, at=at):
                self.cancel(key)
                delay = max(0.0, at - self.clock.seconds())
                self.timers[key] = self.clock.callLater(delay, self._fire, key)
            case CancelTimer(key=key):
                self.cancel(key)
            case ApplyDataplane():
                self.program(action)
            case Log(level=level, event=name, fields=fields):
                text = ' '.join(f'{k}={{{k}}}' for k in fields)
                self.log.emit(LEVELS.get(level, LogLevel.info), f'{name} {text}'.strip(), **fields)
            case _ if self.extra is not None:
                self.extra(action)
            case _:
                self.counters['unknown-actions'] += 1

    def send(self, action: SendMessage) -> None:
        try:
            wire = encode(action.message)
        except EncodeError as exc:
            self.counters['encode-errors'] += 1
            self.log.error('cannot encode {message}: {error}', message=type(action.message).__name__, error=exc)
            return
        if self.trace:
            self._trace('mh-sent', action.message, action.dst)
        if action.transport is Transport.IPV6 and self.ipv6 is not None:
            self.ipv6.send(action.dst, action.src, wire)  # type: ignore[arg-type]
        elif action.transport is Transport.UDP4 and action.src in self.ipv4:
            self.ipv4[action.src].send(action.dst, wire, action.dport)  # type: ignore[index, arg-type]
        else:
            self.counters['no-route-for-reply'] += 1
            self.log.warn('no {transport} socket to send from {src}', transport=action.transport.value, src=action.src)
            return
        self.counters['sent'] += 1

    def _trace(self, what: str, message: object, peer: object) -> None:
        sequence = getattr(message, 'sequence', '')
        status = getattr(message, 'status', None)
        detail = f' status={int(status)}' if status is not None else ''
        self.log.debug(f'{what} {type(message).__name__} peer={{peer}} seq={{sequence}}{detail}', peer=peer, sequence=sequence)

    def program(self, change: ApplyDataplane) -> None:
        deferred = self.executor.apply(change)
        deferred.addCallbacks(
            lambda _: self.feed(DataplaneApplied(change.ticket)),
            lambda failure: self.feed(DataplaneFailed(change.ticket, self._reason(failure))),
        )

    @staticmethod
    def _reason(failure: Failure) -> str:
        return f'{failure.type.__name__}: {failure.getErrorMessage()}'  # type: ignore[union-attr]

    def _fire(self, key: tuple[str, int]) -> None:
        self.timers.pop(key, None)
        self.feed(TimerFired(key))

    def cancel(self, key: tuple[str, int]) -> None:
        call = self.timers.pop(key, None)
        if call is not None and call.active():
            call.cancel()

    def stop(self) -> None:
        for key in list(self.timers):
            self.cancel(key)
