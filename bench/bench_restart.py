#!/usr/bin/env python3
"""How long the LMA daemon takes to restart with N bindings in its state file, and what they cost in memory (root only).

A state file with N live IPv6-only bindings of one MAG (rows as the daemon writes them) is put in
a fresh state directory; `pmiprouter run` starts in a network namespace of its own with it and
restores every binding: its entry, its addresses, its timers and its tunnel and routes, given to
the data plane as one batch (the user-space backend: each MN's prefix in the forwarder's table,
and the pool's one kernel route into the TUN, ADR 0017). The clock runs from the start of the process to sd_notify
READY=1; the daemon's CPU time and resident set are read then, and the resident set of the same
daemon started with no binding is subtracted to give the memory per binding.

Run: `sudo .venv/bin/python bench/bench_restart.py [--bindings 100000 1000000] [--dataplane memory userspace]`;
with PROFILE_OUT=FILE each daemon runs under cProfile and writes its profile there when it stops.
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from ipaddress import IPv6Address, IPv6Network
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / 'bench'))

from bench_lma_daemon import cpu_times, ip, rss_kib, wait_ready  # noqa: E402

PROFILE = ['-m', 'cProfile', '-o', os.environ['PROFILE_OUT']] if os.environ.get('PROFILE_OUT') else []
LMA, MAG = '2001:db8:12::2', '2001:db8:12::1'
POOL = IPv6Network('2001:db8:8000::/33')  # room for 2**31 /64 home prefixes, apart from the transport link
LIFETIME_S = 3600


def config() -> str:
    return '\n'.join([
        'hostname lma', 'ipv6 mobile pmipv6-domain D', ' mag M1', f'  ipv6-address {MAG}', '!',
        'ipv6 mobile pmipv6-lma L domain D', f' address ipv6 {LMA}', f' pool ipv6 P prefix {POOL} pfxlen 64',
        f' bce lifetime {LIFETIME_S}', '!', 'end', ''])


def write_state(directory: Path, bindings: int, now: float) -> None:
    """A snapshot of `bindings` active bindings of one MAG, written as the daemon writes it."""
    from pmiprouter.core.binding_cache import BceState, BindingCacheEntry
    from pmiprouter.fast.netaddr import HomePrefix6
    from pmiprouter.fast.rows import entry_to_text
    from pmiprouter.mh.options_mipv6 import MobileNodeIdentifier
    from pmiprouter.runtime.state import StateFile

    mag, lma = IPv6Address(MAG), IPv6Address(LMA)
    base = int(POOL.network_address)
    rows = []
    for i in range(1, bindings + 1):
        prefix = HomePrefix6.of(base + (i << 64), 64)
        entry = BindingCacheEntry.over_ipv6(
            i, MobileNodeIdentifier.nai(f'mn{i:08d}@bench.example'), 3, i.to_bytes(6, 'big'), 1, mag, lma,
            (prefix,), LIFETIME_S, now, None, i % 65536)
        entry.state = BceState.ACTIVE
        rows.append(entry_to_text(entry))
    StateFile(directory / 'lma-L.json').save_encoded(1, rows, range(1, bindings + 1))


def start(bindings: int, dataplane: str) -> tuple[float, float, int]:
    """One restart: seconds to READY, the daemon's CPU seconds then, its resident set (KiB)."""
    tag = uuid.uuid4().hex[:6]
    ns = f'br-{tag}'
    ip('netns', 'add', ns)
    daemon = None
    with tempfile.TemporaryDirectory() as work, socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as notify:
        notify.bind(str(Path(work) / 'notify'))
        try:
            ip('-n', ns, 'link', 'add', f'd{tag}', 'type', 'veth', 'peer', 'name', f'e{tag}')  # (no dummy module here)
            ip('-n', ns, 'addr', 'add', f'{LMA}/64', 'dev', f'd{tag}', 'nodad')
            ip('-n', ns, 'link', 'set', f'd{tag}', 'up')
            state = Path(work) / 'state'
            state.mkdir()
            if bindings:
                write_state(state, bindings, time.time())
            cfg = Path(work) / 'startup-config'
            cfg.write_text(config())
            began = time.monotonic()
            daemon = subprocess.Popen(
                ['ip', 'netns', 'exec', ns, sys.executable, *PROFILE, '-m', 'pmiprouter', 'run', '-c', str(cfg), '--dataplane', dataplane,
                 '--state-dir', str(state), '--log-level', 'warn', '--control-socket', str(Path(work) / 'cli.sock')],
                stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT, cwd=ROOT, env={**os.environ, 'NOTIFY_SOCKET': str(Path(work) / 'notify')})
            if not wait_ready(notify, daemon, 1800):
                raise RuntimeError('the daemon did not become ready')
            elapsed = time.monotonic() - began
            user, system = cpu_times(daemon.pid)
            return elapsed, user + system, rss_kib(daemon.pid)
        finally:
            if daemon is not None:
                daemon.terminate()
                daemon.wait(600)
            ip('netns', 'del', ns)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument('--bindings', type=int, nargs='+', default=[100_000, 1_000_000])
    parser.add_argument('--dataplane', nargs='+', choices=('memory', 'userspace'), default=['memory', 'userspace'])
    args = parser.parse_args()
    if os.geteuid() != 0:
        print('bench_restart: needs root (network namespaces)', file=sys.stderr)
        return 2
    for dataplane in args.dataplane:
        _, _, empty = start(0, dataplane)
        for bindings in args.bindings:
            elapsed, cpu, rss = start(bindings, dataplane)
            print(f'{dataplane:9} {bindings:>9,} bindings: ready in {elapsed:6.1f} s wall clock, {cpu:6.1f} s daemon CPU '
                  f'({cpu / bindings * 1e6:.0f} us per binding); resident set {rss / 1024:,.0f} MiB, '
                  f'{(rss - empty) * 1024 / bindings:,.0f} B per binding above an empty daemon ({empty / 1024:,.0f} MiB)',
                  flush=True)
    return 0


if __name__ == '__main__':
    sys.exit(main())
