"""EngineDriver with task.Clock: messages, timers and data-plane results flow between engine and world."""

from __future__ import annotations

from dataclasses import dataclass, field
from ipaddress import IPv4Address, IPv6Address

from twisted.internet.task import Clock

from pmiprouter.core.actions import SendMessage
from pmiprouter.core.events import MessageReceived, MessageSent, TimerFired
from pmiprouter.core.lma import LocalMobilityAnchor
from pmiprouter.dataplane.interface import DataplaneError, MnRouteSpec, TunnelSpec
from pmiprouter.mh import BAStatus, BindingAcknowledgement, BindingUpdate, MobileNodeIdentifier, decode
from pmiprouter.runtime.dataplane_worker import Inline
from pmiprouter.runtime.driver import EngineDriver
from tests.core.harness import LMAA, MAG1, T0, pbu, policy


@dataclass
class RecordingDataplane:
    """Records calls; `fail` makes ensure_tunnel raise like a kernel refusing."""

    calls: list[tuple[str, object]] = field(default_factory=list)
    fail: bool = False

    def ensure_tunnel(self, spec: TunnelSpec) -> str:
        if self.fail:
            raise DataplaneError('no tunnel support')
        self.calls.append(('ensure_tunnel', spec))
        return 'pmip0'

    def remove_tunnel(self, spec: TunnelSpec) -> None:
        self.calls.append(('remove_tunnel', spec))

    def ensure_mn_routes(self, spec: MnRouteSpec) -> None:
        self.calls.append(('ensure_mn_routes', spec))

    def remove_mn_routes(self, spec: MnRouteSpec) -> None:
        self.calls.append(('remove_mn_routes', spec))

    def close(self) -> None:
        self.calls.append(('close', None))


@dataclass
class Sent:
    packets: list[tuple[object, object, bytes]] = field(default_factory=list)

    def send(self, dst: IPv6Address, src: IPv6Address | None, wire: bytes) -> None:
        self.packets.append((dst, src, wire))


def make(fail: bool = False, **policy_args: object) -> tuple[EngineDriver, Clock, RecordingDataplane, Sent]:
    clock = Clock()
    clock.advance(T0)
    dataplane = RecordingDataplane(fail=fail)
    sent = Sent()
    driver = EngineDriver(LocalMobilityAnchor(policy(**policy_args)), clock, Inline(dataplane), ipv6=sent)  # type: ignore[arg-type]
    return driver, clock, dataplane, sent


def test_pbu_is_programmed_then_answered() -> None:
    """A PBU leads to tunnel + routes in the data plane and then a PBA on the wire."""
    driver, _, dataplane, sent = make()
    driver.feed(MessageReceived(MAG1, LMAA, pbu()))
    assert [c[0] for c in dataplane.calls] == ['ensure_tunnel', 'ensure_mn_routes']
    (dst, src, wire), = sent.packets
    pba = decode(wire)
    assert (dst, src) == (MAG1, LMAA) and isinstance(pba, BindingAcknowledgement) and pba.status == 0


def test_lifetime_timer_runs_on_the_reactor_clock() -> None:
    """The binding expires when the clock reaches its lifetime, not before."""
    driver, clock, dataplane, _ = make()
    driver.feed(MessageReceived(MAG1, LMAA, pbu(lifetime=40)))
    clock.advance(39)
    assert ('remove_tunnel' not in [c[0] for c in dataplane.calls])
    clock.advance(1)
    assert [c[0] for c in dataplane.calls][-2:] == ['remove_mn_routes', 'remove_tunnel']
    assert not driver.timers


def test_restarted_timer_replaces_the_old_deadline() -> None:
    """A renewal moves the lifetime timer; the old deadline does not fire."""
    driver, clock, dataplane, _ = make()
    driver.feed(MessageReceived(MAG1, LMAA, pbu(lifetime=40)))
    clock.advance(20)
    driver.feed(MessageReceived(MAG1, LMAA, pbu(seq=2, lifetime=40, ts=T0 + 20, hnps=('2001:db8:aaaa::/64',), hi=5)))
    clock.advance(25)
    assert 'remove_tunnel' not in [c[0] for c in dataplane.calls]
    clock.advance(15)
    assert 'remove_tunnel' in [c[0] for c in dataplane.calls]


def test_dataplane_failure_becomes_pba_130() -> None:
    """A backend error reaches the engine as DataplaneFailed and the MAG gets 130."""
    driver, _, _, sent = make(fail=True)
    driver.feed(MessageReceived(MAG1, LMAA, pbu()))
    pba = decode(sent.packets[-1][2])
    assert isinstance(pba, BindingAcknowledgement) and pba.status == BAStatus.INSUFFICIENT_RESOURCES


def test_engine_exception_is_contained() -> None:
    """An engine bug is counted and logged; the driver keeps working."""

    class Broken:
        def handle(self, event: object, now: float) -> list[object]:
            raise RuntimeError('bug')

    driver = EngineDriver(Broken(), Clock(), Inline(RecordingDataplane()))  # type: ignore[arg-type]
    driver.feed(MessageReceived(MAG1, LMAA, pbu()))
    assert driver.counters['engine-errors'] == 1


def test_reply_without_a_socket_is_counted() -> None:
    """A UDP reply from an address we have no socket for is counted, not raised."""
    from pmiprouter.core.events import Transport

    driver, _, _, _ = make()
    driver.feed(MessageReceived(IPv4Address('192.0.2.1'), IPv4Address('198.51.100.1'), pbu(), Transport.UDP4, 5436))
    assert driver.counters['no-route-for-reply'] == 1


def test_log_actions_below_the_daemon_level_are_dropped() -> None:
    """At --log-level warn a registration's info lines are never emitted; at info they are."""
    from twisted.logger import LogLevel, globalLogPublisher

    seen: list[dict[str, object]] = []
    globalLogPublisher.addObserver(seen.append)
    try:
        quiet, _, _, _ = make()
        quiet.log_level = LogLevel.warn
        quiet.feed(MessageReceived(MAG1, LMAA, pbu()))
        assert not [e for e in seen if e.get('log_namespace', '').startswith('pmiprouter.runtime.driver')]
        chatty, _, _, _ = make()
        chatty.log_level = LogLevel.info
        chatty.feed(MessageReceived(MAG1, LMAA, pbu()))
        created = [e for e in seen if str(e.get('log_format', '')).startswith('session-created')]
        assert len(created) == 1 and created[0]['log_format'] == 'session-created mn={mn} mag={mag} id={id}'
    finally:
        globalLogPublisher.removeObserver(seen.append)


def test_set_log_level_applies_to_new_drivers() -> None:
    from twisted.logger import LogLevel

    from pmiprouter.runtime.driver import set_log_level

    try:
        set_log_level('error')
        driver, _, _, _ = make()
        assert driver.log_level is LogLevel.error
    finally:
        set_log_level('debug')


def test_all_timers_share_one_reactor_call() -> None:
    """A thousand bindings, one DelayedCall on the clock; each still expires on time."""
    from tests.core.harness import profile

    names = [f'mn{i}@example.com' for i in range(1000)]
    driver, clock, _, sent = make(profiles={name.encode(): profile(name) for name in names})
    for i, name in enumerate(names):
        driver.feed(MessageReceived(MAG1, LMAA, pbu(nai=name, lifetime=40, mac=f'02:00:00:00:{i >> 8:02x}:{i & 255:02x}')))
    assert len(sent.packets) == 1000 and len(driver.timers) == 1000
    assert len(clock.getDelayedCalls()) == 1
    clock.advance(40)
    assert not driver.timers and not driver.engine.cache.entries  # type: ignore[attr-defined]


class SendsOnePbu:
    """An engine that answers its first event with one PBU and records every event after."""

    def __init__(self) -> None:
        self.pbu = BindingUpdate.proxy(7, 300, (MobileNodeIdentifier.nai('mn@example.com'),))
        self.events: list[tuple[object, float]] = []

    def handle(self, event: object, now: float) -> list[SendMessage]:
        self.events.append((event, now))
        return [SendMessage(LMAA, MAG1, self.pbu)] if len(self.events) == 1 else []


def test_sent_messages_of_the_reported_types_come_back_as_message_sent() -> None:
    """The MAG measures PBU -> PBA from the PBU on the wire: the driver says when it sent it."""
    engine, clock, sent = SendsOnePbu(), Clock(), Sent()
    clock.advance(T0)
    driver = EngineDriver(engine, clock, Inline(RecordingDataplane()), ipv6=sent)  # type: ignore[arg-type]
    driver.report_sent = frozenset({BindingUpdate})
    driver.feed(TimerFired(('any', 1)))
    assert len(sent.packets) == 1
    assert engine.events[1] == (MessageSent(LMAA, engine.pbu), T0)


def test_unsent_or_unreported_messages_are_not_fed_back() -> None:
    for report, socket in ((frozenset({BindingUpdate}), None), (frozenset(), Sent())):
        engine, clock = SendsOnePbu(), Clock()
        driver = EngineDriver(engine, clock, Inline(RecordingDataplane()), ipv6=socket)  # type: ignore[arg-type]
        driver.report_sent = report
        driver.feed(TimerFired(('any', 1)))
        assert [type(event) for event, _ in engine.events] == [TimerFired]
