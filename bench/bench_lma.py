#!/usr/bin/env python3
"""LMA engine benchmark: registrations per second and memory per binding (pure engine, no sockets).

Each registration is a full PBU -> data-plane intent -> DataplaneApplied -> PBA round through
`LocalMobilityAnchor.handle`, unique MNs, one /64 and one IPv4 address each. Memory is the
traced allocation growth divided by the number of bindings.
Run: `.venv/bin/python bench/bench_lma.py [--bindings N ...]`.
"""

from __future__ import annotations

import argparse
import gc
import time
import tracemalloc
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network

from pmiprouter.core.actions import ApplyDataplane
from pmiprouter.core.events import DataplaneApplied, MessageReceived
from pmiprouter.core.lma import LocalMobilityAnchor
from pmiprouter.core.policy import LmaPolicy, MobileNodeProfile
from pmiprouter.mh import (
    AccessTechnologyTypeOption,
    BindingUpdate,
    HandoffIndicatorOption,
    HomeNetworkPrefix,
    IPv4HomeAddressRequest,
    MobileNodeIdentifier,
    MobileNodeLinkLayerIdentifier,
    Timestamp,
)

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
    options = (
        MobileNodeIdentifier.nai(f'mn{i}@example.com'),
        HomeNetworkPrefix.of('::/0'),
        HandoffIndicatorOption(1),
        AccessTechnologyTypeOption(3),
        MobileNodeLinkLayerIdentifier(i.to_bytes(6, 'big')),
        IPv4HomeAddressRequest(0, IPv4Address(0)),
        Timestamp(0),
    )
    return MessageReceived(MAG, LMAA, BindingUpdate.proxy(1, 3600, options))


def register(lma: LocalMobilityAnchor, events: list[MessageReceived], now: float) -> None:
    for event in events:
        for action in lma.handle(event, now):
            if isinstance(action, ApplyDataplane):
                lma.handle(DataplaneApplied(action.ticket), now)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument('--bindings', type=int, nargs='*', default=[100_000])
    parser.add_argument('--rate-sample', type=int, default=50_000)
    args = parser.parse_args()

    lma = make_lma(args.rate_sample)
    events = [pbu(i) for i in range(args.rate_sample)]
    start = time.perf_counter()
    register(lma, events, 1000.0)
    elapsed = time.perf_counter() - start
    assert len(lma.cache) == args.rate_sample
    print(f'registrations: {args.rate_sample / elapsed:,.0f}/s on one core ({args.rate_sample} unique MNs, engine only)')

    for count in args.bindings:
        lma = make_lma(count)
        events = [pbu(i) for i in range(count)]
        gc.collect()
        tracemalloc.start()
        before = tracemalloc.get_traced_memory()[0]
        register(lma, events, 1000.0)
        gc.collect()
        after = tracemalloc.get_traced_memory()[0]
        tracemalloc.stop()
        del events
        assert len(lma.cache) == count
        print(f'memory: {(after - before) / count:,.0f} bytes per binding at {count:,} bindings')
    return 0


if __name__ == '__main__':
    raise SystemExit(main())
