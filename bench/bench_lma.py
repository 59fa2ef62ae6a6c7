#!/usr/bin/env python3
"""LMA engine benchmark: registrations per second and memory per binding (pure engine, no sockets).

Each registration is a full PBU -> data-plane intent -> DataplaneApplied -> PBA round through
`LocalMobilityAnchor.handle`, unique MNs, one /64 and one IPv4 address each. Memory is the
traced allocation growth divided by the number of bindings (or, with --rss, the growth of
the resident set: faster at a million bindings, and it includes the allocator's overhead).
Run: `.venv/bin/python bench/bench_lma.py [--bindings N ...] [--rss] [--daemon-path N] [--count-calls N]`.
"""

from __future__ import annotations

import argparse
import gc
import os
import time
import tracemalloc
from collections.abc import Iterable
from typing import Any
from ipaddress import IPv4Network, IPv6Address, IPv6Network

from pmiprouter.core.actions import ApplyDataplane
from pmiprouter.core.events import DataplaneApplied, MessageReceived
from pmiprouter.core.lma import LocalMobilityAnchor
from pmiprouter.core.policy import LmaPolicy, MobileNodeProfile
from pmiprouter.mh import Timestamp
from pmiprouter.runtime.gc_tuning import settle_heap
from pbus import attach_pbu

LMAA = IPv6Address('2001:db8:2::1')
MAG = IPv6Address('2001:db8:1::1')


def make_lma(count: int) -> LocalMobilityAnchor:
    profiles = {f'mn{i}@example.com'.encode(): MobileNodeProfile(f'mn{i}@example.com'.encode()) for i in range(count)}
    policy = LmaPolicy(
        lma_addresses=frozenset({LMAA}),
        profiles=profiles,
        authorized_mags=frozenset({MAG}),
        hnp_pools=((IPv6Network('2001:db8::/32'), 64),),
        ipv4_pools=(IPv4Network('10.0.0.0/8'),),
        use_timestamps=False,
    )
    return LocalMobilityAnchor(policy)


def pbu(i: int) -> MessageReceived:
    """MN i's first registration, dual stack, as the LMA's MH port hands it over."""
    message = attach_pbu(f'mn{i}@example.com', i.to_bytes(6, 'big'), 1, 3600, ipv4=True, timestamp=Timestamp(0))
    return MessageReceived(MAG, LMAA, message)


SAVE_EVERY = 10_000  # registrations between two state-file saves, as the daemon saves once a second


def register(lma: LocalMobilityAnchor, events: Iterable[MessageReceived], now: float, step: float = 0.0) -> None:
    for count, event in enumerate(events, 1):
        for action in lma.handle(event, now):
            if isinstance(action, ApplyDataplane):
                lma.handle(DataplaneApplied(action.ticket), now)
        now += step
        if count % SAVE_EVERY == 0:
            lma.dirty.clear()  # what the daemon's periodic save does (LmaService.save)


def daemon_path(count: int, profile: Any = None) -> float:
    """CPU seconds for `count` registrations through the daemon's own code without sockets:
    PBU bytes -> MHPort -> EngineDriver -> engine -> memory data plane -> PBA bytes.
    With `profile` (a cProfile.Profile), only the timed loop runs under it."""
    import socket

    from twisted.internet import reactor
    from twisted.logger import LogLevel

    from pmiprouter.dataplane.memory import MemoryDataplane
    from pmiprouter.mh import encode
    from pmiprouter.runtime.dataplane_worker import Inline
    from pmiprouter.runtime.driver import EngineDriver
    from pmiprouter.runtime.mhport import _PKTINFO, MHPort

    class NoSocket:
        def fileno(self) -> int:
            return -1

    class Replies:
        count = 0

        def send(self, dst: object, src: object, wire: bytes) -> None:
            self.count += 1

    replies = Replies()
    driver = EngineDriver(make_lma(count), reactor, Inline(MemoryDataplane()), replies)  # type: ignore[arg-type]
    driver.log_level = LogLevel.warn  # as the daemon bench runs
    port = MHPort(reactor, driver.feed, NoSocket())  # type: ignore[arg-type]
    ancillary = [(socket.IPPROTO_IPV6, socket.IPV6_PKTINFO, _PKTINFO.pack(LMAA.packed, 2))]
    wires = [encode(pbu(i).message) for i in range(count)]
    source = str(MAG)
    settle_heap()  # as the daemon does once it has started
    if profile is not None:
        profile.enable()
    start = time.process_time()
    for wire in wires:
        port.handle((wire, ancillary, source))
    elapsed = time.process_time() - start
    if profile is not None:
        profile.disable()
    assert replies.count == count
    return elapsed


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument('--bindings', type=int, nargs='*', default=[100_000])
    parser.add_argument('--rate-sample', type=int, default=50_000)
    parser.add_argument('--daemon-path', type=int, metavar='N', help='also time N registrations through port, driver and memory data plane')
    parser.add_argument('--rss', action='store_true', help='measure memory as resident-set growth (fast) instead of tracemalloc')
    parser.add_argument('--count-calls', type=int, metavar='N',
                        help='count the Python function calls per registration on the daemon path (deterministic, '
                             'unlike times on a shared machine)')
    args = parser.parse_args()

    if args.count_calls:
        import cProfile
        import pstats

        profile = cProfile.Profile()
        daemon_path(args.count_calls, profile)
        calls = pstats.Stats(profile).total_calls  # type: ignore[attr-defined]
        print(f'daemon path: {calls / args.count_calls:.0f} Python function calls per registration '
              f'({args.count_calls} unique MNs)')

    lma = make_lma(args.rate_sample)
    events = [pbu(i) for i in range(args.rate_sample)]
    settle_heap()  # the collector tuned as the daemon tunes it once started (runtime/gc_tuning.py)
    start, cpu = time.perf_counter(), time.process_time()
    register(lma, events, 1000.0)
    elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu
    assert len(lma.cache) == args.rate_sample
    print(f'registrations: {args.rate_sample / elapsed:,.0f}/s wall clock, {args.rate_sample / cpu:,.0f} per CPU-second '
          f'({args.rate_sample} unique MNs, engine only)')

    if args.daemon_path:
        cpu = daemon_path(args.daemon_path)
        print(f'daemon path without sockets: {args.daemon_path / cpu:,.0f} registrations per CPU-second '
              f'({cpu / args.daemon_path * 1e6:.0f} us each, {args.daemon_path} unique MNs)')

    for count in args.bindings:
        lma = make_lma(count)
        # Each PBU is built (as the daemon decodes it) inside the measurement, one at a time, at
        # its own time: what the binding keeps of it (MN-ID, link-layer ID, times) is counted,
        # the rest is freed before the next one.
        events = (pbu(i) for i in range(count))
        gc.collect()
        if args.rss:
            before = resident_bytes()
            register(lma, events, 1000.0, step=1e-4)
            gc.collect()
            after, how = resident_bytes(), 'resident-set growth'
        else:
            tracemalloc.start()
            before = tracemalloc.get_traced_memory()[0]
            register(lma, events, 1000.0, step=1e-4)
            gc.collect()
            after, how = tracemalloc.get_traced_memory()[0], 'traced allocations'
            tracemalloc.stop()
        assert len(lma.cache) == count
        print(f'memory: {(after - before) / count:,.0f} bytes per binding at {count:,} bindings ({how})')
    return 0


def resident_bytes() -> int:
    """This process's resident set (Linux /proc/self/statm, in pages)."""
    with open('/proc/self/statm') as statm:
        return int(statm.read().split()[1]) * os.sysconf('SC_PAGE_SIZE')


if __name__ == '__main__':
    raise SystemExit(main())
