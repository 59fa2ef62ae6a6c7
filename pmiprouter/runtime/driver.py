"""EngineDriver: feeds events to a pure engine and carries out the actions it returns.

`feed(event)` -> `engine.handle(event, clock.seconds())` -> send / time / program / log.
Timers live in one TimerQueue (a single reactor call for all of them), keyed like the
engine's TimerKeys (starting a key again replaces it); data-plane work goes to the executor
and comes back as DataplaneApplied/Failed events (at once for the in-memory backend, with
no Deferred in between). Between `begin_burst` and `end_burst` (the MH port brackets each read
of its socket with them) the changes wait and go to the executor as one batch, reported by one
DataplaneBatchApplied. Log actions below the daemon's log level are dropped before any
formatting. Every exception stops here, counted and logged: the reactor never sees one.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from ipaddress import IPv4Address, IPv6Address
from typing import Any, Protocol

from twisted.internet.interfaces import IReactorTime
from twisted.logger import Logger, LogLevel
from twisted.python.failure import Failure

from pmiprouter.core.actions import Action, ApplyDataplane, CancelTimer, Log, SendEncoded, SendMessage, StartTimer
from pmiprouter.core.events import (
    CommonPbuReceived, DataplaneApplied, DataplaneBatchApplied, DataplaneFailed, Event, MessageReceived, MessageSent, TimerFired, Transport,
)
from pmiprouter.mh.codec import decode, encode
from pmiprouter.mh.errors import DecodeError, EncodeError
from pmiprouter.runtime.dataplane_worker import DataplaneExecutor, Inline, Outcome, Worker, apply_batch, apply_changes
from pmiprouter.runtime.timers import TimerQueue

LEVELS = {'debug': LogLevel.debug, 'info': LogLevel.info, 'warn': LogLevel.warn, 'error': LogLevel.error}
_RANK = {level: rank for rank, level in enumerate((LogLevel.debug, LogLevel.info, LogLevel.warn, LogLevel.error, LogLevel.critical))}


def set_log_level(name: str) -> None:
    """The daemon's log level ('debug' ... 'error'): drivers skip building log events below it, and
    the data-plane worker times its changes only at debug."""
    EngineDriver.process_log_level = LEVELS[name]
    Worker.timing = name == 'debug'


class Engine(Protocol):
    def handle(self, event: Any, now: float) -> list[Action]: ...


class Ipv6Sender(Protocol):
    def send(self, dst: IPv6Address, src: IPv6Address | None, wire: bytes) -> None: ...


class Ipv4Sender(Protocol):
    def send(self, dst: IPv4Address, wire: bytes, port: int | None) -> None: ...


class EngineDriver:
    """Owns one engine's timers and carries out its actions."""

    log = Logger()
    process_log_level = LogLevel.debug  # the daemon's --log-level (set_log_level), inherited by new drivers

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
        self.timers = TimerQueue(clock, self._fire)
        self.counters: Counter[str] = Counter()
        self.trace = False  # log every Mobility Header in and out (debug; costs time per message)
        self.report_sent: frozenset[type] = frozenset()  # message types fed back as MessageSent once sent
        self.log_level = EngineDriver.process_log_level  # Log actions below this level are dropped unformatted
        self._formats: dict[tuple[str, tuple[str, ...]], str] = {}  # (event, field names) -> format string
        self._burst: list[ApplyDataplane] | None = None  # the changes waiting for the burst's end
        self.batches = 0  # bursts whose changes were applied together

    def feed(self, event: Event) -> None:
        if self.trace:
            self._trace_received(event)
        try:
            actions = self.engine.handle(event, self.clock.seconds())
        except Exception:
            self.counters['engine-errors'] += 1
            self.log.failure('engine failed on {event}', event=type(event).__name__)
            return
        self.run(actions)

    def run(self, actions: list[Action]) -> None:
        """Carry out `actions` in order; one that fails is counted and logged, and the rest go on."""
        for action in actions:
            # Dispatch on the exact type (identity tests, most frequent first): cheaper than class
            # patterns, and no call per action (every registration makes two to four).
            kind = type(action)
            try:
                if kind is StartTimer:
                    self.timers.start(action.key, action.at)  # type: ignore[union-attr]
                elif kind is SendEncoded:
                    self.send_wire(action.dst, action.src, action.wire)  # type: ignore[union-attr, arg-type]
                elif kind is ApplyDataplane:
                    self.program(action)  # type: ignore[arg-type]
                elif kind is SendMessage:
                    self.send(action)  # type: ignore[arg-type]
                elif kind is Log:
                    self.emit(action)  # type: ignore[arg-type]
                elif kind is CancelTimer:
                    self.timers.cancel(action.key)  # type: ignore[union-attr]
                elif self.extra is not None:
                    self.extra(action)
                else:
                    self.counters['unknown-actions'] += 1
            except Exception:
                self.counters['action-errors'] += 1
                self.log.failure('action {action} failed', action=type(action).__name__)

    def execute(self, action: Action) -> None:
        """Carry out one action (management calls, restore)."""
        self.run([action])

    @property
    def log_level(self) -> LogLevel:
        return self._log_level

    @log_level.setter
    def log_level(self, level: LogLevel) -> None:
        self._log_level = level
        self._min_rank = _RANK.get(level, 0)
        # An engine may skip building the lines that would be dropped here (the LMA's per-session ones).
        emits = getattr(self.engine, 'emits', None)
        if emits is not None:
            emits(frozenset(name for name in LEVELS if self.logs(name)))

    def logs(self, level: str) -> bool:
        """Whether Log actions of `level` are emitted (a caller may skip building them)."""
        return _RANK[LEVELS[level]] >= self._min_rank

    def send_wire(self, dst: IPv6Address, src: IPv6Address, wire: bytes) -> None:
        """Send an encoded Mobility Header over the IPv6 socket, counted as `send` counts."""
        if self.ipv6 is None:
            self.counters['no-route-for-reply'] += 1
            return
        if self.trace:
            self._trace('mh-sent', _decoded(wire), dst)
        self.ipv6.send(dst, src, wire)
        self.counters['sent'] += 1

    def emit(self, action: Log) -> None:
        level = LEVELS.get(action.level, LogLevel.info)
        if _RANK[level] < self._min_rank:
            return
        fields = action.fields
        shape = (action.event, tuple(fields))
        text = self._formats.get(shape)
        if text is None:
            text = self._formats[shape] = ' '.join((action.event, *(f'{k}={{{k}}}' for k in fields)))
        self.log.emit(level, text, **fields)

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
        if type(action.message) in self.report_sent:
            self.feed(MessageSent(action.dst, action.message))

    def _trace_received(self, event: Event) -> None:
        if isinstance(event, MessageReceived):
            self._trace('mh-received', event.message, event.src)
        elif isinstance(event, CommonPbuReceived):
            self._trace('mh-received', _decoded(event.wire), event.src)

    def _trace(self, what: str, message: object, peer: object) -> None:
        sequence = getattr(message, 'sequence', '')
        status = getattr(message, 'status', None)
        detail = f' status={int(status)}' if status is not None else ''
        self.log.debug(f'{what} {type(message).__name__} peer={{peer}} seq={{sequence}}{detail}', peer=peer, sequence=sequence)

    def begin_burst(self) -> None:
        """Hold data-plane changes until `end_burst`: they are applied and reported together."""
        if self._burst is None:
            self._burst = []

    def end_burst(self) -> None:
        """Apply the changes held since `begin_burst` as one batch (never raises)."""
        changes, self._burst = self._burst, None
        if not changes:
            return
        self.batches += 1
        try:
            if isinstance(self.executor, Inline):  # synchronous backend: report at once, no Deferred
                self._report(changes, apply_batch(self.executor.dataplane, changes))
                return
            deferred = self.executor.apply_batch(changes)
        except Exception as exc:  # the batch as a whole (a netlink socket error): each change fails
            self.counters['batch-errors'] += 1
            self.log.failure('data-plane batch of {count} changes failed', count=len(changes))
            self._report(changes, dict.fromkeys(range(len(changes)), f'{type(exc).__name__}: {exc}'))
            return
        deferred.addCallbacks(
            lambda failed: self._report(changes, failed),
            lambda failure: self._report(changes, dict.fromkeys(range(len(changes)), self._reason(failure))),
        )

    def _report(self, changes: list[ApplyDataplane], failed: Outcome) -> None:
        """Feed the outcome in the changes' order: each run of applied ones as one event."""
        if not failed:  # the usual burst: one event
            self._applied([change.ticket for change in changes])
            return
        applied: list[int] = []
        for index, change in enumerate(changes):
            reason = failed.get(index)
            if reason is None:
                applied.append(change.ticket)
                continue
            self._applied(applied)
            applied = []
            self.feed(DataplaneFailed(change.ticket, reason))
        self._applied(applied)

    def _applied(self, tickets: list[int]) -> None:
        if len(tickets) > 1:
            self.feed(DataplaneBatchApplied(tuple(tickets)))
        elif tickets:
            self.feed(DataplaneApplied(tickets[0]))

    def program(self, change: ApplyDataplane) -> None:
        burst = self._burst
        if burst is not None:
            burst.append(change)
            return
        if isinstance(self.executor, Inline):  # synchronous backend: report at once, no Deferred
            try:
                apply_changes(self.executor.dataplane, change)
            except Exception as exc:
                self.feed(DataplaneFailed(change.ticket, f'{type(exc).__name__}: {exc}'))
            else:
                self.feed(DataplaneApplied(change.ticket))
            return
        deferred = self.executor.apply(change)
        deferred.addCallbacks(
            lambda _: self.feed(DataplaneApplied(change.ticket)),
            lambda failure: self.feed(DataplaneFailed(change.ticket, self._reason(failure))),
        )

    @staticmethod
    def _reason(failure: Failure) -> str:
        return f'{failure.type.__name__}: {failure.getErrorMessage()}'  # type: ignore[union-attr]

    def _fire(self, key: tuple[str, int]) -> None:
        self.feed(TimerFired(key))

    def cancel(self, key: tuple[str, int]) -> None:
        self.timers.cancel(key)

    def stop(self) -> None:
        self.timers.stop()


def _decoded(wire: bytes) -> object:
    """An encoded Mobility Header's message, for a trace line (the malformed error if it is not one)."""
    try:
        return decode(wire)
    except DecodeError as error:
        return error
