#!/usr/bin/env python3
"""Cost of one binding change in the userspace backend *with forwarding on*, against the
number of bindings it holds: the netlink round trip plus the forwarding-table update.

An LMA's MN (an HNP and an IPv4 HoA) moves between two MAGs' tunnels while N other bindings
are held; then a MAG's MN is installed and removed. Before the incremental tables every change
rebuilt the tables over all bindings (about 4 ms per change at 1000 bindings on the development
host); now only the moved MN's prefixes change. Runs in a scratch network namespace. Needs root.
Run: ``.venv/bin/python bench/bench_forwarding_update.py [--changes N] [--bindings 2,1000,10000]``.
"""

from __future__ import annotations

import argparse
import os
import sys

from scratch_netns import run_inner

INNER = r'''
import json, statistics, subprocess, sys, time
from ipaddress import ip_address, ip_network
from pmiprouter.dataplane.interface import MnRouteSpec, Role, TunnelMode, TunnelSpec
from pmiprouter.dataplane.userspace import UserspaceDataplane
changes, others = int(sys.argv[1]), int(sys.argv[2])
subprocess.run(['ip', 'link', 'set', 'lo', 'up'], check=True)
subprocess.run(['ip', 'link', 'add', 'acc1', 'type', 'veth', 'peer', 'name', 'acc1p'], check=True)
subprocess.run(['ip', 'link', 'set', 'acc1', 'up'], check=True)
subprocess.run(['ip', 'addr', 'add', '2001:db8:12::2/64', 'dev', 'lo'], check=True)
dp = UserspaceDataplane(object())  # any reactor: forwarding on (tables, pump thread)
lma = ip_address('2001:db8:12::2')
tunnels = [TunnelSpec(lma, ip_address(f'2001:db8:12::{k}'), TunnelMode.IP6_ANY) for k in (1, 3)]
for tunnel in tunnels:
    dp.ensure_tunnel(tunnel)
for i in range(others):
    dp.ensure_mn_routes(MnRouteSpec(Role.LMA, tunnels[i % 2], (ip_network(f'2001:db8:bbbb:{i:x}::/64'),), label=f'o{i}'))
prefixes = (ip_network('2001:db8:aaaa::/64'), ip_network('10.1.0.5/32'))
specs = [MnRouteSpec(Role.LMA, tunnel, prefixes, label='mn1') for tunnel in tunnels]
dp.ensure_mn_routes(specs[0])
tables_ms = []
inner = dp._changed
def timed_changed():
    start = time.perf_counter(); inner(); tables_ms.append((time.perf_counter() - start) * 1000)
dp._changed = timed_changed
moves = []
for i in range(changes):
    start = time.perf_counter()
    dp.ensure_mn_routes(specs[(i + 1) % 2])
    moves.append((time.perf_counter() - start) * 1000)
move_tables = statistics.median(tables_ms)
up = TunnelSpec(lma, ip_address('2001:db8:12::9'), TunnelMode.IP6_ANY)
dp.ensure_tunnel(up)
mag = MnRouteSpec(Role.MAG, up, (ip_network('2001:db8:cccc::/64'),), access_ifname='acc1', label='m')
installs = []
for i in range(changes):
    start = time.perf_counter(); dp.ensure_mn_routes(mag); installs.append((time.perf_counter() - start) * 1000)
    dp.remove_mn_routes(mag)
dp.close()
print(json.dumps({'bindings': others + 1, 'move_ms': round(statistics.median(moves), 3),
                  'move_tables_ms': round(move_tables, 3), 'mag_install_ms': round(statistics.median(installs), 3)}))
'''


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--changes', type=int, default=200)
    parser.add_argument('--bindings', default='2,1000,10000', help='comma-separated numbers of other bindings held')
    args = parser.parse_args()
    if os.geteuid() != 0:
        print('needs root (a network namespace)', file=sys.stderr)
        return 1
    for others in (int(n) for n in args.bindings.split(',')):
        figures = run_inner('fwd', INNER, args.changes, others, timeout=1200)
        if figures is None:
            return 1
        print(f'{figures["bindings"]:>6} bindings: LMA move median {figures["move_ms"]} ms '
              f'(forwarding tables {figures["move_tables_ms"]} ms), MAG install {figures["mag_install_ms"]} ms')
    return 0


if __name__ == '__main__':
    sys.exit(main())
