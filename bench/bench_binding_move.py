#!/usr/bin/env python3
"""Cost of one binding move in the data plane: an LMA's MN (an HNP and an IPv4 HoA) moved
between two MAGs' tunnels, i.e. its routes and rules replaced (make before break).

Runs the userspace backend (routes and rules through rtnl_batch; behind its shared TUN device
a move between two untagged tunnels needs no kernel change at all, only the forwarder's; the
round trips printed are all the bench made, the first binding's included) inside a scratch
network namespace; prints the median and worst of N moves. Needs root.
Run: ``.venv/bin/python bench/bench_binding_move.py [--moves N]``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys

from scratch_netns import run_inner

INNER = r'''
import json, statistics, subprocess, sys, time
from ipaddress import ip_address, ip_network
from pmiprouter.dataplane.interface import MnRouteSpec, Role, TunnelMode, TunnelSpec
from pmiprouter.dataplane.userspace import UserspaceDataplane
subprocess.run(['ip', 'link', 'set', 'lo', 'up'], check=True)
dp = UserspaceDataplane(None)
lma = ip_address('2001:db8:12::2')
tunnels = [TunnelSpec(lma, ip_address(f'2001:db8:12::{n}'), TunnelMode.IP6_ANY) for n in (1, 3)]
for tunnel in tunnels:
    dp.ensure_tunnel(tunnel)
prefixes = (ip_network('2001:db8:aaaa::/64'), ip_network('10.1.0.5/32'))
specs = [MnRouteSpec(Role.LMA, tunnel, prefixes, label='mn1') for tunnel in tunnels]
dp.ensure_mn_routes(specs[0])
times = []
for i in range(int(sys.argv[1])):
    start = time.perf_counter()
    dp.ensure_mn_routes(specs[(i + 1) % 2])
    times.append((time.perf_counter() - start) * 1000)
print(json.dumps({'moves': len(times), 'median_ms': round(statistics.median(times), 3), 'max_ms': round(max(times), 3),
                  'round_trips': dp.nl.batch.round_trips}))
'''


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--moves', type=int, default=200)
    args = parser.parse_args()
    if os.geteuid() != 0:
        print('needs root (a network namespace)', file=sys.stderr)
        return 1
    figures = run_inner('move', INNER, args.moves)
    if figures is None:
        return 1
    print(f'LMA binding move (an HNP and an IPv4 HoA), userspace backend: median {figures["median_ms"]} ms, '
          f'max {figures["max_ms"]} ms over {figures["moves"]} moves; {figures["round_trips"]} netlink round trips')
    print(json.dumps(figures))
    return 0


if __name__ == '__main__':
    sys.exit(main())
