"""A burst's data-plane changes are applied as one batch: no PBA before its forwarding state exists,
one executor call and one engine event per burst, and otherwise what a data plane that answers
later would give (the engine's PROGRAMMING state covers both)."""

from __future__ import annotations

import socket
from dataclasses import replace
from ipaddress import IPv6Address
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from twisted.internet.defer import Deferred

from pmiprouter.core.actions import ApplyDataplane
from pmiprouter.core.events import DataplaneApplied, DataplaneBatchApplied, MessageReceived
from pmiprouter.core.lma import LocalMobilityAnchor
from pmiprouter.mh import (
    AccessTechnologyTypeOption, BindingUpdate, HandoffIndicatorOption, HomeNetworkPrefix, MobileNodeIdentifier,
    MobileNodeLinkLayerIdentifier, encode,
)
from pmiprouter.runtime.dataplane_worker import Outcome, apply_batch
from pmiprouter.runtime.mhport import _PKTINFO, MHPort
from tests.core.harness import LMAA, MAG1, T0, policy, pbu
from tests.runtime.test_common_path import FAILING_NAI, POLICIES, Daemon, sequences

SEQUENCE_ONLY = replace(policy(), use_timestamps=False)


def attach(nai: str, sequence: int = 1) -> bytes:
    return encode(BindingUpdate.proxy(sequence, 600, (
        MobileNodeIdentifier.nai(nai), HomeNetworkPrefix.of('::/0'), HandoffIndicatorOption(1),
        AccessTechnologyTypeOption(3), MobileNodeLinkLayerIdentifier(b'\x00\x11\x22\x33\x44\x55'))))


def statuses(daemon: Daemon) -> list[int]:
    return [wire[6] for _dst, _src, wire in daemon.sent]


def test_a_bursts_pbas_follow_its_one_batch() -> None:
    daemon = Daemon(SEQUENCE_ONLY, common=True)
    daemon.driver.begin_burst()
    for nai in ('mn1@example.com', 'v6only@example.com', 'static@example.com'):
        daemon.receive(attach(nai), MAG1)
    assert daemon.sent == [] and not daemon.dataplane.snapshot().mn_routes  # nothing programmed, nothing answered
    revision = daemon.lma.revision
    daemon.driver.end_burst()
    assert daemon.driver.batches == 1 and daemon.lma.revision == revision + 1  # one DataplaneBatchApplied
    assert statuses(daemon) == [0, 0, 0]
    assert len(daemon.dataplane.snapshot().mn_routes) == 3


def test_a_change_that_fails_in_a_burst_fails_alone() -> None:
    daemon = Daemon(SEQUENCE_ONLY, common=True)
    daemon.driver.begin_burst()
    for nai in ('mn1@example.com', FAILING_NAI, 'v6only@example.com'):
        daemon.receive(attach(nai), MAG1)
    daemon.driver.end_burst()
    assert statuses(daemon) == [0, 130, 0]  # in the changes' order
    assert sorted(e.mn_id.text for e in daemon.lma.bindings()) == ['mn1@example.com', 'v6only@example.com']


class BatchLater:
    """A worker thread's executor that records each batch and answers it when the test says."""

    def __init__(self, dataplane: Any) -> None:
        self.dataplane = dataplane
        self.batches: list[tuple[list[ApplyDataplane], Deferred[Outcome]]] = []

    def apply(self, change: ApplyDataplane) -> Deferred[None]:
        raise AssertionError('a burst goes as one batch')

    def apply_batch(self, changes: list[ApplyDataplane]) -> Deferred[Outcome]:
        done: Deferred[Outcome] = Deferred()
        self.batches.append((changes, done))
        return done


def test_a_worker_thread_gets_one_job_per_burst() -> None:
    daemon = Daemon(SEQUENCE_ONLY, common=True)
    executor = BatchLater(daemon.dataplane)
    daemon.driver.executor = executor  # type: ignore[assignment]
    daemon.driver.begin_burst()
    daemon.receive(attach('mn1@example.com'), MAG1)
    daemon.receive(attach('v6only@example.com'), MAG1)
    daemon.driver.end_burst()
    assert [len(changes) for changes, _ in executor.batches] == [2] and daemon.sent == []
    changes, done = executor.batches[0]
    done.callback(apply_batch(daemon.dataplane, changes))
    assert statuses(daemon) == [0, 0]


def test_a_batch_the_worker_cannot_run_fails_each_change() -> None:
    daemon = Daemon(SEQUENCE_ONLY, common=True)
    executor = BatchLater(daemon.dataplane)
    daemon.driver.executor = executor  # type: ignore[assignment]
    daemon.driver.begin_burst()
    daemon.receive(attach('mn1@example.com'), MAG1)
    daemon.receive(attach('v6only@example.com'), MAG1)
    daemon.driver.end_burst()
    executor.batches[0][1].errback(RuntimeError('thread pool stopped'))
    assert statuses(daemon) == [130, 130] and daemon.lma.bindings() == []


def test_the_batch_event_is_its_tickets_one_by_one() -> None:
    """DataplaneBatchApplied((a, b)) does what DataplaneApplied(a) then DataplaneApplied(b) do."""
    engines = [LocalMobilityAnchor(SEQUENCE_ONLY) for _ in range(2)]
    tickets = []
    for engine in engines:
        tickets = []
        for seq, nai in enumerate(('mn1@example.com', 'v6only@example.com'), 1):
            actions = engine.handle(MessageReceived(MAG1, LMAA, pbu(seq=seq, nai=nai, ts=None)), T0)
            tickets += [a.ticket for a in actions if isinstance(a, ApplyDataplane)]
    one_by_one = engines[0].handle(DataplaneApplied(tickets[0]), T0) + engines[0].handle(DataplaneApplied(tickets[1]), T0)
    together = engines[1].handle(DataplaneBatchApplied(tuple(tickets)), T0)
    assert len(together) == 2 and together == one_by_one
    assert [e.state for e in engines[0].bindings()] == [e.state for e in engines[1].bindings()]


class Datagrams:
    """A stand-in socket: the queued datagrams, then 'nothing more' (BlockingIOError)."""

    def __init__(self, packets: list[tuple[bytes, str]]) -> None:
        self.packets = packets

    def fileno(self) -> int:
        return -1

    def recvmsg(self, size: int, control: int) -> tuple[bytes, list[tuple[int, int, bytes]], int, tuple[str]]:
        if not self.packets:
            raise BlockingIOError
        wire, src = self.packets.pop(0)
        return wire, [(socket.IPPROTO_IPV6, socket.IPV6_PKTINFO, _PKTINFO.pack(LMAA.packed, 2))], 0, (src,)


class Brackets:
    def __init__(self) -> None:
        self.calls: list[str] = []

    def begin_burst(self) -> None:
        self.calls.append('begin')

    def end_burst(self) -> None:
        self.calls.append('end')


def test_the_port_brackets_each_read_even_when_a_handler_fails() -> None:
    handled: list[object] = []

    def deliver(event: object) -> None:
        handled.append(event)
        raise RuntimeError('engine bug')

    port = MHPort(None, deliver, Datagrams([(attach('mn1@example.com'), str(MAG1))] * 3))  # type: ignore[arg-type]
    brackets = Brackets()
    port.bursts = brackets
    port.doRead()
    assert brackets.calls == ['begin', 'end'] and len(handled) == 3 and port.errors == 3


@settings(deadline=None, max_examples=300)
@given(
    st.sampled_from(range(len(POLICIES))),
    sequences().flatmap(lambda steps: st.tuples(st.just(steps), st.lists(st.booleans(), min_size=len(steps), max_size=len(steps)))),
)
def test_a_burst_is_a_data_plane_that_answers_at_its_end(
    which: int, plan: tuple[list[tuple[float, bytes, IPv6Address, IPv6Address]], list[bool]]
) -> None:
    """The same datagrams in the same bursts: held and batched by the driver, or handed one by one to
    a worker thread that finishes at each burst's end. The same PBAs, bindings, routes and timers."""
    batched, worker = Daemon(POLICIES[which], True), Daemon(POLICIES[which], True, worker=True)
    steps, ends = plan
    ends[-1] = True
    starting = True
    for (later, wire, src, dst), end in zip(steps, ends):
        for daemon in (batched, worker):
            if starting:
                daemon.clock.advance(later)  # a burst is read at one instant
                if daemon is batched:
                    daemon.driver.begin_burst()
                else:  # between bursts (a timer's change) both apply at once
                    assert daemon.worker is not None
                    daemon.worker.finish()
            daemon.receive(wire, src, dst)
            if end:
                if daemon is batched:
                    daemon.driver.end_burst()
                else:
                    assert daemon.worker is not None
                    daemon.worker.finish()
        starting = end
        if end:
            assert comparable(batched) == comparable(worker)


def comparable(daemon: Daemon) -> dict[str, Any]:
    """What a burst must not change: all but the engine's event count (a batch is one event); the
    PBAs and the log lines as multisets (a change made while a batch is reported is applied at
    once, inside the report, where a worker thread applies it later: a failure's line comes
    earlier)."""
    observable = daemon.observable()
    observable['engine'] = observable['engine'][1:]
    observable['sent'] = sorted(observable['sent'], key=repr)
    observable['logs'] = sorted(observable['logs'], key=repr)
    observable['counters'] = {k: v for k, v in observable['counters'].items()}
    return observable


class BrokenSocket:
    """An executor whose batch fails as a whole, synchronously (a netlink socket error)."""

    def apply(self, change: ApplyDataplane) -> Deferred[None]:
        raise AssertionError('a burst goes as one batch')

    def apply_batch(self, changes: list[ApplyDataplane]) -> Deferred[Outcome]:
        raise OSError(105, 'No buffer space available')


def test_a_batch_that_fails_as_a_whole_fails_each_change_and_never_raises() -> None:
    daemon = Daemon(SEQUENCE_ONLY, common=True)
    daemon.driver.executor = BrokenSocket()  # type: ignore[assignment]
    daemon.driver.begin_burst()
    daemon.receive(attach('mn1@example.com'), MAG1)
    daemon.receive(attach('v6only@example.com'), MAG1)
    daemon.driver.end_burst()  # (the MH port calls it in doRead's finally: it must not raise)
    assert statuses(daemon) == [130, 130] and daemon.lma.bindings() == []
    assert daemon.driver.counters['batch-errors'] == 1
