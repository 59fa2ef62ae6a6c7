"""The common PBU read from its bytes changes nothing but the speed: the daemon's LMA with and
without the MH port's first look (CommonPbuOffer), fed the same datagrams at the same times, sends
the same bytes and ends in the same state (hypothesis)."""

from __future__ import annotations

import random
import socket
from dataclasses import replace
from ipaddress import IPv4Address, IPv6Address, IPv6Network
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from twisted.internet import task
from twisted.internet.defer import Deferred
from twisted.python.failure import Failure

from pmiprouter.core.lma import LocalMobilityAnchor
from pmiprouter.core.persistence import entry_to_record
from pmiprouter.core.events import CommonPbuReceived
from pmiprouter.core.policy import GreMode, LmaPolicy
from pmiprouter.core.request import ProxyRegistration
from pmiprouter.core.seqno import timestamp_from_seconds
from pmiprouter.dataplane.interface import DataplaneError, MnRouteSpec
from pmiprouter.dataplane.memory import MemoryDataplane
from pmiprouter.mh import (
    AccessTechnologyTypeOption,
    BindingUpdate,
    BUFlags,
    GREKey,
    HandoffIndicatorOption,
    HomeNetworkPrefix,
    IPv4HomeAddressRequest,
    MobileNodeIdentifier,
    MobileNodeLinkLayerIdentifier,
    Timestamp,
    encode,
)
from pmiprouter.mh.iana import MNIdentifierSubtype
from pmiprouter.runtime.common_path import CommonPbuOffer
from pmiprouter.core.actions import ApplyDataplane
from pmiprouter.runtime.dataplane_worker import Inline, apply_changes
from pmiprouter.runtime.driver import EngineDriver
from pmiprouter.runtime.mhport import _PKTINFO, MHPort
from tests.core.harness import LMAA, MAG1, MAG2, T0, policy

STRANGER = IPv6Address('2001:db8:9::9')
FAILING_NAI = 'mn2@example.com'  # the data plane refuses this MN's routes


class FailingDataplane(MemoryDataplane):
    def ensure_mn_routes(self, spec: MnRouteSpec) -> None:
        if spec.label == FAILING_NAI:
            raise DataplaneError('no room for this one')
        super().ensure_mn_routes(spec)


class LaterExecutor:
    """A worker thread's executor whose changes are applied, in order, when the test says."""

    def __init__(self, dataplane: MemoryDataplane) -> None:
        self.dataplane = dataplane
        self.queue: list[tuple[ApplyDataplane, Deferred[None]]] = []

    def apply(self, change: ApplyDataplane) -> Deferred[None]:
        done: Deferred[None] = Deferred()
        self.queue.append((change, done))
        return done

    def finish(self) -> None:
        while self.queue:  # a completion may queue more changes: they run too
            change, done = self.queue.pop(0)
            try:
                apply_changes(self.dataplane, change)
            except DataplaneError as exc:
                done.errback(Failure(exc))
            else:
                done.callback(None)

    def stop(self) -> None:
        self.queue.clear()


class NoSocket:
    def fileno(self) -> int:
        return -1


class Daemon:
    """The LMA service's pieces: MH port, driver, memory data plane, clock; `first` or not."""

    def __init__(self, lma_policy: LmaPolicy, common: bool, worker: bool = False) -> None:
        self.clock = task.Clock()
        self.clock.advance(T0)
        self.lma = LocalMobilityAnchor(lma_policy)
        self.dataplane = FailingDataplane()
        self.sent: list[tuple[object, object, bytes]] = []
        self.logs: list[tuple[str, str, dict[str, Any]]] = []
        self.worker = LaterExecutor(self.dataplane) if worker else None
        self.driver = EngineDriver(self.lma, self.clock, self.worker or Inline(self.dataplane), self)  # type: ignore[arg-type]
        self.driver.emit = lambda action: self.logs.append((action.level, action.event, dict(action.fields)))  # type: ignore[method-assign]
        self.port = MHPort(None, self.deliver, NoSocket())  # type: ignore[arg-type]
        self.common = CommonPbuOffer(self.driver, lma_policy.lma_addresses) if common else None
        self.port.first = self.common

    def deliver(self, event: Any) -> None:
        if event.dst in self.lma.policy.lma_addresses:  # as RoleService.deliver
            self.driver.feed(event)

    def send(self, dst: object, src: object, wire: bytes) -> None:
        self.sent.append((dst, src, wire))

    def receive(self, wire: bytes, src: IPv6Address, dst: IPv6Address = LMAA) -> None:
        self.port.handle((wire, [(socket.IPPROTO_IPV6, socket.IPV6_PKTINFO, _PKTINFO.pack(dst.packed, 2))], str(src)))

    def observable(self) -> dict[str, Any]:
        lma = self.lma
        return {
            'sent': self.sent,
            'logs': self.logs,
            'bindings': [(entry_to_record(e), e.state, e.tunnel) for e in lma.bindings()],
            'dataplane': self.dataplane.snapshot(),
            'timers': dict(self.driver.timers.deadlines),
            'stats': (lma.stats.received, lma.stats.sent, lma.stats.events, lma.stats.pba_status),
            'engine': (lma.revision, lma.dirty, lma.tunnel_users, lma.books.pending, lma.books.ticket_of),
            # The PBA owed to a PBU whose route is being installed: a common PBU is kept as read,
            # where the general path keeps its parse; the parse of its bytes must be the same.
            'owed': {key: (owed(r), status) for key, (r, status) in lma.books.replies.items()},
            'counters': self.driver.counters,
            'pools': [pool.in_use for pool in lma.sessions.addresses.prefix_pools],
        }


def owed(reply: ProxyRegistration | CommonPbuReceived) -> ProxyRegistration:
    return ProxyRegistration.parse(reply.decoded()) if isinstance(reply, CommonPbuReceived) else reply


NAIS = ['mn1@example.com', FAILING_NAI, 'v4only@example.com', 'v6only@example.com', 'static@example.com',
        'off@example.com', 'nobody@example.com']


@st.composite
def datagrams(draw: st.DrawFn) -> tuple[float, bytes, IPv6Address, IPv6Address]:
    """(seconds later, wire, source, destination): mostly common PBUs, some of every other kind."""
    nai = draw(st.sampled_from(NAIS + ['mn1@example.com'] * 3))
    options: list[object] = [MobileNodeIdentifier(draw(st.sampled_from([MNIdentifierSubtype.NAI] * 5 + [7])), nai.encode())]
    options.append(HomeNetworkPrefix.of(draw(st.sampled_from(['::/0'] * 6 + ['2001:db8:aaaa:1::/64']))))
    options.append(HandoffIndicatorOption(draw(st.sampled_from([1, 1, 2, 3, 4]))))
    options.append(AccessTechnologyTypeOption(3))
    ll_id = draw(st.sampled_from([None, b'\0' * 6, b'\x00\x11\x22\x33\x44\x55', b'\x00\x11\x22\x33\x44\x56']))
    if ll_id is not None:
        options.append(MobileNodeLinkLayerIdentifier(ll_id))
    skew = draw(st.sampled_from([None, 0.0, 0.0, 0.1, -5.0]))
    later = draw(st.sampled_from([0.0, 0.0, 1.0, 30.0, 700.0]))
    if skew is not None:
        options.append(Timestamp(timestamp_from_seconds(T0 + skew)))  # fixed: the clock moves on
    options += draw(st.sampled_from([[], [], [], [IPv4HomeAddressRequest(0, IPv4Address(0))], [GREKey(None)]]))
    random.Random(draw(st.integers(0, 99))).shuffle(options)
    flags = draw(st.sampled_from([BUFlags.A | BUFlags.P] * 4 + [BUFlags.P]))
    lifetime = draw(st.sampled_from([600, 600, 8, 0, 100_000]))
    wire = encode(BindingUpdate(draw(st.integers(0, 65535)), flags, lifetime, tuple(options)))  # type: ignore[arg-type]
    src = draw(st.sampled_from([MAG1, MAG1, MAG2, STRANGER, LMAA]))
    dst = draw(st.sampled_from([LMAA] * 5 + [STRANGER]))
    return later, wire, src, dst


def again(wire: bytes, sequence_step: int, timestamp_step: int) -> bytes:
    """The same PBU sent again later: its Sequence # and Timestamp (if any) moved on (or back)."""
    out = bytearray(wire)
    out[6:8] = ((int.from_bytes(wire[6:8], 'big') + sequence_step) % 65536).to_bytes(2, 'big')
    i = 12
    while i < len(out):
        if out[i] == 0:  # Pad1
            i += 1
            continue
        if out[i] == 27 and out[i + 1] == 8:  # Timestamp
            stamp = (int.from_bytes(out[i + 2:i + 10], 'big') + timestamp_step) % 2**64
            out[i + 2:i + 10] = stamp.to_bytes(8, 'big')
        i += 2 + out[i + 1]
    return bytes(out)


@st.composite
def sequences(draw: st.DrawFn) -> list[tuple[float, bytes, IPv6Address, IPv6Address]]:
    """Datagrams, about half of them an earlier one sent again (renewals, retransmissions, stale ones)."""
    steps: list[tuple[float, bytes, IPv6Address, IPv6Address]] = []
    for _ in range(draw(st.integers(1, 12))):
        if steps and draw(st.booleans()):
            later, wire, src, dst = steps[draw(st.integers(0, len(steps) - 1))]
            step = draw(st.sampled_from([1, 1, 1, 0, -1, 40000]))
            wire = again(wire, step, draw(st.sampled_from([1 << 16, 1 << 16, 0, -(1 << 16)])))  # ±1 s (48.16 fixed point)
            steps.append((draw(st.sampled_from([0.0, 1.0, 30.0])), wire, src, dst))
        else:
            steps.append(draw(datagrams()))
    return steps


POLICIES = [
    policy(use_timestamps=False),
    policy(),  # timestamps, 0.3 s window
    policy(use_timestamps=False, hnp_pools=((IPv6Network('2001:db8:aaaa::/63'), 64),)),  # two prefixes: exhaustion
    policy(use_timestamps=False, gre=GreMode.REQUIRED, max_lifetime_s=300),
    policy(use_timestamps=False, authorized_mags=frozenset(), dynamic_mag_learning=True),
]


@settings(deadline=None, max_examples=300)
@given(st.sampled_from(range(len(POLICIES))), sequences())
def test_common_path_is_invisible(which: int, steps: list[tuple[float, bytes, IPv6Address, IPv6Address]]) -> None:
    engine_only, with_common = Daemon(POLICIES[which], False), Daemon(POLICIES[which], True)
    for later, wire, src, dst in steps:
        for daemon in (engine_only, with_common):
            daemon.clock.advance(later)  # timers fire (lifetimes end) in both
            daemon.receive(wire, src, dst)
        assert with_common.observable() == engine_only.observable()


@settings(deadline=None, max_examples=300)
@given(
    st.sampled_from(range(len(POLICIES))),
    sequences().flatmap(lambda steps: st.tuples(st.just(steps), st.lists(st.booleans(), min_size=len(steps), max_size=len(steps)))),
)
def test_common_path_is_invisible_with_a_worker_thread(
    which: int, plan: tuple[list[tuple[float, bytes, IPv6Address, IPv6Address]], list[bool]]
) -> None:
    """The same with a data plane that answers later: other PBUs (a retransmission, a renewal, a
    de-registration) may arrive while a common PBU's route is still being installed."""
    engine_only, with_common = Daemon(POLICIES[which], False, worker=True), Daemon(POLICIES[which], True, worker=True)
    for (later, wire, src, dst), finish in zip(*plan):
        for daemon in (engine_only, with_common):
            daemon.clock.advance(later)
            daemon.receive(wire, src, dst)
            if finish:
                assert daemon.worker is not None
                daemon.worker.finish()
        assert with_common.observable() == engine_only.observable()
    for daemon in (engine_only, with_common):
        assert daemon.worker is not None
        daemon.worker.finish()
    assert with_common.observable() == engine_only.observable()


def _attach(ll_id: bytes, timestamp: bool) -> bytes:
    options: list[object] = [MobileNodeIdentifier.nai('mn1@example.com'), HomeNetworkPrefix.of('::/0'),
                             HandoffIndicatorOption(1), AccessTechnologyTypeOption(3), MobileNodeLinkLayerIdentifier(ll_id)]
    if timestamp:
        options.append(Timestamp(timestamp_from_seconds(T0)))
    return encode(BindingUpdate.proxy(100, 600, tuple(options)))  # type: ignore[arg-type]


@settings(deadline=None, max_examples=200)
@given(
    st.sampled_from([0, 1, 4]),  # sequence numbers, timestamps, dynamic MAG learning
    st.booleans(),
    st.lists(st.tuples(
        st.sampled_from([1, 1, 1, 2, 0, -1]),  # Sequence # step
        st.sampled_from([0.0, 0.1, 1.0, 400.0, 700.0]),  # seconds later (lifetimes end after 600)
        st.sampled_from([MAG1, MAG1, MAG1, MAG2]),  # a handover now and then
        st.sampled_from([b'\x00\x11\x22\x33\x44\x55'] * 4 + [b'\x00\x11\x22\x33\x44\x66', bytes(6)]),  # another interface
        st.sampled_from([600, 600, 600, 0]),  # a de-registration now and then
        st.booleans(),  # a worker thread's change completes before the next PBU
    ), min_size=1, max_size=10),
)
def test_common_renewals_are_invisible(which: int, worker: bool, steps: list[tuple[int, float, IPv6Address, bytes, int, bool]]) -> None:
    """One MN attaches, then renews, moves, retransmits, sends stale PBUs, adds an interface and
    de-registers, at the same times in both daemons: the same bytes and state throughout."""
    lma_policy = POLICIES[which]
    engine_only, with_common = Daemon(lma_policy, False, worker=worker), Daemon(lma_policy, True, worker=worker)
    wire, sequence, elapsed = _attach(b'\x00\x11\x22\x33\x44\x55', lma_policy.use_timestamps), 100, 0.0
    for daemon in (engine_only, with_common):
        daemon.receive(wire, MAG1)
    for step, later, mag, ll_id, lifetime, finish in steps:
        sequence, elapsed = (sequence + step) % 65536, elapsed + later
        # The Timestamp: the clock's now (in the window) when the Sequence # moves on, else a second old.
        stamp = elapsed if step > 0 else elapsed - 1.0
        wire = again(_attach(ll_id, lma_policy.use_timestamps), sequence - 100, int(stamp * 65536))
        if lifetime == 0:
            wire = wire[:10] + bytes(2) + wire[12:]  # Lifetime 0: a de-registration (not common: the engine's)
        for daemon in (engine_only, with_common):
            daemon.clock.advance(later)
            daemon.receive(wire, mag)
            if finish and daemon.worker is not None:
                daemon.worker.finish()
        assert with_common.observable() == engine_only.observable()


def test_common_path_takes_the_common_pbu_and_only_that() -> None:
    """A new MN's PBU and its renewal are handled as read; a rejected one goes the general way."""
    lma_policy = replace(policy(), use_timestamps=False)
    daemon, reference = Daemon(lma_policy, True), Daemon(lma_policy, False)
    first = encode(BindingUpdate.proxy(1, 600, (
        MobileNodeIdentifier.nai('mn1@example.com'), HomeNetworkPrefix.of('::/0'), HandoffIndicatorOption(1),
        AccessTechnologyTypeOption(3), MobileNodeLinkLayerIdentifier(b'\x00\x11\x22\x33\x44\x55'), Timestamp(5))))
    renewal = first[:6] + (2).to_bytes(2, 'big') + first[8:]
    for d in (daemon, reference):
        d.receive(first, MAG1)
        d.receive(renewal, MAG1)
        d.receive(first, STRANGER)
    assert daemon.common is not None and daemon.common.taken == 3
    assert (daemon.lma.common.handled, reference.lma.common.handled) == (2, 0)
    assert daemon.observable() == reference.observable()
    assert [wire[6] for _dst, _src, wire in daemon.sent] == [0, 0, 154]  # accepted, renewed, MAG not authorized
