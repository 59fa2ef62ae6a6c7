#!/usr/bin/env python3
"""Registrations per second the running LMA daemon sustains over real sockets (root only).

Two network namespaces and a veth pair; `pmiprouter run` (memory data plane) in one; in the
other a client built from the codec sends PBUs for N unique MNs over a raw MH socket with
a window of outstanding requests and counts the PBAs. Prints the rate.
Run: `sudo .venv/bin/python bench/bench_lma_daemon.py [--mns N] [--window W]`; with PROFILE_OUT=FILE
the daemon runs under cProfile and writes its profile there.
"""

from __future__ import annotations

import argparse
import os
import select
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PROFILE = ['-m', 'cProfile', '-o', os.environ['PROFILE_OUT']] if os.environ.get('PROFILE_OUT') else []
MAG, LMA = '2001:db8:12::1', '2001:db8:12::2'


def config(mns: int) -> str:
    lines = ['hostname lma', 'ipv6 mobile pmipv6-domain D', ' replay-protection sequence-number', ' mag M1', f'  ipv6-address {MAG}']
    for i in range(mns):
        lines += [f' nai mn{i}@bench.example', '  service ipv6']
    lines += ['!', 'ipv6 mobile pmipv6-lma L domain D', f' address ipv6 {LMA}', ' pool ipv6 P prefix 2001:db8::/32 pfxlen 64']
    lines += [' bce lifetime 3600', '!', 'end']
    return '\n'.join(lines) + '\n'


def client(mns: int, window: int) -> None:
    """Runs inside the MAG namespace: send N PBUs, keep `window` outstanding, print the rate."""
    sys.path.insert(0, str(ROOT))
    from pmiprouter.mh import (
        AccessTechnologyTypeOption, BindingUpdate, HandoffIndicatorOption, HomeNetworkPrefix,
        MobileNodeIdentifier, MobileNodeLinkLayerIdentifier, encode,
    )

    wires = [
        encode(BindingUpdate.proxy(i % 65536, 3600, (
            MobileNodeIdentifier.nai(f'mn{i}@bench.example'), HomeNetworkPrefix.of('::/0'),
            HandoffIndicatorOption(1), AccessTechnologyTypeOption(3), MobileNodeLinkLayerIdentifier(i.to_bytes(6, 'big')),
        )))
        for i in range(mns)
    ]
    sock = socket.socket(socket.AF_INET6, socket.SOCK_RAW, 135)
    sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_CHECKSUM, 4)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
    sock.bind((MAG, 0))
    sock.setblocking(False)
    sent = answered = accepted = 0
    start = time.perf_counter()
    deadline = start + 120
    while answered < mns and time.perf_counter() < deadline:
        while sent < mns and sent - answered < window:
            sock.sendto(wires[sent], (LMA, 0))
            sent += 1
        if select.select([sock], [], [], 1.0)[0]:
            while True:
                try:
                    data = sock.recv(2048)
                except BlockingIOError:
                    break
                if data[2] == 6:
                    answered += 1
                    accepted += data[6] == 0
    elapsed = time.perf_counter() - start
    print(f'{answered}/{mns} PBAs ({accepted} accepted) in {elapsed:.2f} s: {answered / elapsed:,.0f} registrations/s')


def ip(*args: str) -> None:
    subprocess.run(['ip', *args], check=True)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument('--mns', type=int, default=5000)
    parser.add_argument('--window', type=int, default=64)
    parser.add_argument('--client', action='store_true', help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.client:
        client(args.mns, args.window)
        return 0
    if os.geteuid() != 0:
        print('bench_lma_daemon: needs root (network namespaces, raw sockets)', file=sys.stderr)
        return 2
    tag = uuid.uuid4().hex[:6]
    lma_ns, mag_ns = f'bl-{tag}', f'bm-{tag}'
    ip('netns', 'add', lma_ns)
    ip('netns', 'add', mag_ns)
    daemon = None
    with tempfile.TemporaryDirectory() as work:
        try:
            ip('link', 'add', f'bl{tag}', 'netns', lma_ns, 'type', 'veth', 'peer', 'name', f'bm{tag}', 'netns', mag_ns)
            for ns, dev, addr in ((lma_ns, f'bl{tag}', LMA), (mag_ns, f'bm{tag}', MAG)):
                ip('-n', ns, 'addr', 'add', f'{addr}/64', 'dev', dev, 'nodad')
                ip('-n', ns, 'link', 'set', dev, 'up')
            cfg = Path(work) / 'startup-config'
            cfg.write_text(config(args.mns))
            daemon = subprocess.Popen(
                ['ip', 'netns', 'exec', lma_ns, sys.executable, *PROFILE, '-m', 'pmiprouter', 'run', '-c', str(cfg),
                 '--dataplane', 'memory', '--state-dir', str(Path(work) / 'state'), '--log-level', 'warn',
                 '--control-socket', str(Path(work) / 'cli.sock')],
                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, bufsize=0, cwd=ROOT,
            )
            time.sleep(0.1)
            ready = subprocess.run(['ip', 'netns', 'exec', lma_ns, 'sh', '-c', 'for i in $(seq 600); do grep -q ":0087 " /proc/net/raw6 && exit 0; sleep 0.05; done; exit 1'])
            if ready.returncode:
                print('daemon did not open its MH socket', file=sys.stderr)
                return 1
            subprocess.run(['ip', 'netns', 'exec', mag_ns, sys.executable, __file__, '--client', '--mns', str(args.mns), '--window', str(args.window)], check=True, cwd=ROOT)
        finally:
            if daemon is not None:
                daemon.terminate()
                daemon.wait(30)
            ip('netns', 'del', lma_ns)
            ip('netns', 'del', mag_ns)
    return 0


if __name__ == '__main__':
    raise SystemExit(main())
