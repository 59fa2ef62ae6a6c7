#!/usr/bin/env python3
"""The LMA's usual data plane change, on the memory backend: a new mobile node on a shared tunnel.

Builds a MemoryDataplane, ensures one shared ip6any tunnel, then installs N distinct LMA route
specs (one /64 HNP each, with ``--ipv4`` an IPv4 HoA too), every prefix new: what
``LocalMobilityAnchor._route`` and the daemon's data plane worker do for each new registration.
Specs are built as the LMA builds them (``--lma-constructor``: with ``MnRouteSpec.lma``, the
LMA's shortcut to the constructor; otherwise ``MnRouteSpec(Role.LMA, ...)``) from HNPs,
addresses and labels prepared beforehand (the binding cache holds those).

``--stage`` chooses how far each run goes: ``prepare`` (the inputs only), ``spec`` (+ build the
N specs), ``install`` (+ ``ensure_mn_routes`` for each). The timings printed are CPU
microseconds per spec and per install (gc off; the machine is shared, so expect +-25 %).

``--instructions`` counts instead: it runs this script under callgrind for two values of N and
each stage and prints the CPython instructions per spec and per install (the difference of the
"Collected" totals divided by the difference of N: start-up cancels out; exact whatever the load).

Run: ``.venv/bin/python bench/bench_dataplane_install.py 20000 [--ipv4]`` or
``.venv/bin/python bench/bench_dataplane_install.py --instructions [--ipv4]``.
"""

from __future__ import annotations

import argparse
import gc
import os
import re
import subprocess
import sys
import time
from ipaddress import IPv6Address

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from pmiprouter.dataplane.interface import MnRouteSpec, Role, TunnelMode, TunnelSpec  # noqa: E402
from pmiprouter.dataplane.memory import MemoryDataplane  # noqa: E402
from pmiprouter.fast.netaddr import HomePrefix6, ipv4_address  # noqa: E402

STAGES = ('prepare', 'spec', 'install')
TUNNEL = TunnelSpec(IPv6Address('2001:db8:2::1'), IPv6Address('2001:db8:1::1'), TunnelMode.IP6_ANY)


def run(count: int, stage: str, ipv4: bool, lma_constructor: bool) -> dict[str, float]:
    """Go through the stages up to `stage`; return CPU microseconds per spec and per install."""
    inputs = [((HomePrefix6.of((0x20010DB8 << 96) | (i << 64), 64),),
               ipv4_address(0x0A000000 + i) if ipv4 else None, f'mn{i}@example.com') for i in range(count)]
    figures: dict[str, float] = {}
    if stage == 'prepare':
        return figures
    dp = MemoryDataplane()
    dp.ensure_tunnel(TUNNEL)
    tunnel, lma, make = TUNNEL, Role.LMA, MnRouteSpec
    gc.disable()  # as the benchmarks of the daemon's parts: no collection inside a figure
    try:
        start = time.process_time()
        if lma_constructor:
            shortcut = MnRouteSpec.lma
            specs = [shortcut(tunnel, hnps, hoa, label) for hnps, hoa, label in inputs]
        else:
            specs = [make(lma, tunnel, hnps, hoa, label=label) for hnps, hoa, label in inputs]
        figures['spec'] = (time.process_time() - start) / count * 1e6
        if stage == 'install':
            ensure = dp.ensure_mn_routes
            start = time.process_time()
            for spec in specs:
                ensure(spec)
            figures['install'] = (time.process_time() - start) / count * 1e6
    finally:
        gc.enable()
    if stage == 'install':  # sizes only: a snapshot would cost more per MN than the install
        expected = count * (2 if ipv4 else 1)
        assert len(dp.world.routes) == len(dp.world.rules) == expected and len(dp._mns) == count, 'not all installed'
    return figures


def collected(count: int, stage: str, options: list[str]) -> int:
    """Instructions of one run of this script under callgrind (its "Collected" total)."""
    command = ['valgrind', '--tool=callgrind', '--callgrind-out-file=/dev/null',
               sys.executable, os.path.abspath(__file__), str(count), '--stage', stage, '--runs', '0', *options]
    done = subprocess.run(command, capture_output=True, text=True, check=True)
    found = re.search(r'Collected\s*:\s*(\d+)', done.stderr)
    if found is None:
        raise SystemExit(f'no "Collected" line from callgrind:\n{done.stderr}')
    return int(found.group(1))


def count_instructions(small: int, large: int, options: list[str]) -> dict[str, float]:
    """Instructions per spec and per install, from two values of N per stage."""
    per_item = {}
    for stage in STAGES:
        per_item[stage] = (collected(large, stage, options) - collected(small, stage, options)) / (large - small)
    return {'spec': per_item['spec'] - per_item['prepare'], 'install': per_item['install'] - per_item['spec']}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('count', type=int, nargs='?', default=20000, help='mobile nodes per run (N)')
    parser.add_argument('--stage', choices=STAGES, default='install')
    parser.add_argument('--ipv4', action='store_true', help='an IPv4 HoA per MN besides the /64')
    parser.add_argument('--lma-constructor', action='store_true', help='build specs with MnRouteSpec.lma')
    parser.add_argument('--runs', type=int, default=5, help='timed runs, the medians printed (0: one silent run)')
    parser.add_argument('--instructions', nargs=2, type=int, metavar=('N1', 'N2'),
                        help='count instructions under callgrind for N1 and N2 MNs instead of timing')
    args = parser.parse_args()
    options = ['--ipv4'] * args.ipv4 + ['--lma-constructor'] * args.lma_constructor
    case = f'LMA, /64{" + IPv4 HoA" if args.ipv4 else ""}, {"MnRouteSpec.lma" if args.lma_constructor else "MnRouteSpec"}'
    if args.instructions:
        small, large = args.instructions
        for name, value in count_instructions(small, large, options).items():
            print(f'{name:<8} {value:9,.0f} instructions per MN ({case}; callgrind, N = {small} and {large})')
        return 0
    if args.runs < 1:  # one untimed run (what --instructions counts)
        run(args.count, args.stage, args.ipv4, args.lma_constructor)
        return 0
    results = [run(args.count, args.stage, args.ipv4, args.lma_constructor) for _ in range(args.runs)]
    for name in results[0]:
        values = sorted(result[name] for result in results)
        print(f'{name:<8} {values[len(values) // 2]:7.2f} us per MN ({case}; CPU, median of {args.runs} runs of {args.count})')
    return 0


if __name__ == '__main__':
    sys.exit(main())
