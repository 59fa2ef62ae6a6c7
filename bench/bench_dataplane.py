#!/usr/bin/env python3
"""Dataplane benchmark: packets per second through the userspace backend vs kernel forwarding.

Builds the lab of tests/dataplane/lab.py (MN -- MAG == LMA -- CN in network namespaces), then:

1. **ceiling**: plain kernel IPv6 forwarding MN -> MAG -> LMA -> CN (static routes, no tunnel);
2. **userspace**: the same path through two userspace nodes (MAG and LMA, IPv6-in-IPv6 "ip6any").

Both are measured ``--runs`` times (default 3), alternating, because the machine is shared; the
medians of the pps figures and of the per-run ratios are printed last.

A sender thread inside the MN namespace sends UDP for a few seconds at two sizes (small:
18-byte payload, i.e. 66-byte IPv6 packets; large: 1400-byte payload); the rate is what the
CN's interface received. Kernel: unpaced. Userspace: the best of unpaced and paced rates from
10k to 60k packets/s (an unpaced Python sender starves the forwarders of CPU on a 2-core
machine, so the knee is found by offering rates). Prints a table and JSON, and the ratio
userspace/kernel (goal >= 0.25).

The traffic comes from iperf3 (Debian's, C; ``--generator python`` for the Python sender) so that
the "kernel" figure is the forwarding ceiling, not the sender's: each row shows what the generator
sent next to what arrived, and the ceiling holds only where it sent more than arrived. With
``--bindings N ...`` (default 10 and 100000) the LMA node holds N mobile nodes on the tunnel (the
measured one and N-1 others with /64s of their own), so the rate at each size shows what a large
binding cache costs the forwarding path (its lookups and the kernel's role table). Needs root. Run:
``make bench-dataplane`` or ``.venv/bin/python bench/bench_dataplane.py [--seconds S] [--bindings N ...]``.

``--changes N`` instead times the control side (no root): the CPU microseconds of one binding
change through the memory backend, the LMA's case (one /64 and an IPv4 HoA per MN, shared
tunnels): a new MN, the same spec again, a handover to another tunnel, a removal; the median
of ``--runs`` rounds of N MNs each.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from tests.dataplane import lab as L  # noqa: E402
from tests.dataplane import nsutil  # noqa: E402
from tests.dataplane.test_traffic import specs  # noqa: E402

from pmiprouter.dataplane.interface import TunnelMode  # noqa: E402
from pmiprouter.dataplane.naming import LMA_TABLE  # noqa: E402
from pmiprouter.dataplane.mmsg import CBuffer, SendBatch, Slots  # noqa: E402

SIZES = {'small': 18, 'large': 1400}
SENDER = 'batched'
GENERATOR = 'iperf3'
PORT = 9000


def rx_packets(ns: str, dev: str) -> int:
    """Received-packet counter of a device in a namespace."""
    out = nsutil.ip('-j', '-s', 'link', 'show', dev, ns=ns).stdout
    return int(json.loads(out)[0]['stats64']['rx']['packets'])


def blast(dst: str, payload_len: int, seconds: float, rate: float | None = None) -> int:
    """Send UDP for ``seconds``, as fast as possible or paced at ``rate`` pps; return how many were sent.

    Bursts of 64 datagrams, each burst one ``sendmmsg`` (``SENDER = 'batched'``, the default) or 64
    ``send`` calls (``'plain'``, the method of the first figures). The batched sender is several
    times faster, so the kernel ceiling is less bounded by the sender.

    Pacing matters for the userspace path: an unpaced Python sender takes a whole core from the
    two forwarders on a 2-core machine, so the best delivered rate is found by trying rates.
    """
    sock = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4 << 20)
    sock.connect((dst, PORT))
    burst = 64
    payload = bytes(payload_len)
    send = sock.send
    slots = Slots(burst, payload_len, 0)
    batch = SendBatch(slots)
    nowhere = CBuffer(b'')  # connected socket: no address, no control message
    for i in range(burst):
        batch.set(i, i * slots.stride, payload_len, nowhere, nowhere)
    sent = 0
    start = time.monotonic()
    end = start + seconds
    while True:
        if SENDER == 'batched':
            sent += batch.send(sock.fileno(), 0, burst)[0]  # ENOBUFS under overload: dropped, go on
        else:
            for _ in range(burst):
                try:
                    send(payload)
                    sent += 1
                except OSError:  # ENOBUFS under overload: the kernel dropped it, keep going
                    pass
        now = time.monotonic()
        if now >= end:
            break
        if rate:
            ahead = start + sent / rate - now
            if ahead > 0:
                time.sleep(ahead)  # pacing, not waiting for a condition
    sock.close()
    return sent


IPERF_PORT = 5201


def iperf(lab: L.Lab, payload_len: int, seconds: float, rate: float | None = None) -> int:
    """Send UDP from the MN to the CN with iperf3 for ``seconds`` (unpaced, or ``rate`` pps); return
    how many datagrams it sent (its JSON report)."""
    server = subprocess.Popen(['ip', 'netns', 'exec', lab.cn, 'iperf3', '-s', '-1', '-p', str(IPERF_PORT)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        bandwidth = '0' if not rate else str(int(rate * payload_len * 8))
        for _attempt in range(50):  # the server listens a moment after it starts
            client = subprocess.run(
                ['ip', 'netns', 'exec', lab.mn, 'iperf3', '-c', L.CN6, '-p', str(IPERF_PORT), '-u', '-l', str(payload_len),
                 '-b', bandwidth, '-t', str(seconds), '-J'], capture_output=True, text=True)
            report = json.loads(client.stdout) if client.stdout.strip().startswith('{') else {}
            if client.returncode == 0 and 'sum' in report.get('end', {}):
                return int(report['end']['sum']['packets'])
            if 'error' in report and 'connect' not in report['error']:
                raise RuntimeError(f"iperf3: {report['error']}")
            time.sleep(0.1)  # (polling a process we do not control: no event to wait on)
        raise RuntimeError(f'iperf3 failed: {client.stdout[-300:]} {client.stderr[-300:]}')
    finally:
        server.terminate()
        server.wait(10)


def sink(ready: threading.Event, stop: threading.Event) -> None:
    """Hold a bound UDP socket in the CN so datagrams are not answered with ICMP errors."""
    with socket.socket(socket.AF_INET6, socket.SOCK_DGRAM) as sock:
        sock.bind(('::', PORT))
        ready.set()
        stop.wait(600)


def measure(lab: L.Lab, seconds: float, rates: tuple[float | None, ...]) -> dict[str, dict[str, float]]:
    """Best delivered pps per size over the offered ``rates`` (None: unpaced).

    Returns {size: {'pps': best rx rate, 'sent_pps': tx rate of that run, 'offered': rate}}.
    """
    sender = nsutil.NsThread(lab.mn)
    result: dict[str, dict[str, float]] = {}
    try:
        sender.call(blast, L.CN6, 18, 0.3)  # warm up ND and the forwarders
        for name, size in SIZES.items():
            best: dict[str, float] = {'pps': 0.0}
            for rate in rates:
                before = rx_packets(lab.cn, 'eth0')
                t0 = time.monotonic()
                if GENERATOR == 'iperf3':
                    sent = iperf(lab, size, seconds, rate)
                    elapsed = seconds  # iperf3 sends for exactly that long (its start-up is not sending)
                else:
                    sent = sender.call(blast, L.CN6, size, seconds, rate)
                    elapsed = time.monotonic() - t0
                # Let queued packets arrive before reading the counter (poll until it is stable).
                last = -1
                while (now := rx_packets(lab.cn, 'eth0')) != last:
                    last = now
                    time.sleep(0.2)
                pps = (last - before) / elapsed
                if pps > best['pps']:
                    best = {'pps': round(pps), 'sent_pps': round(sent / elapsed), 'offered': rate or 0}
            result[name] = best
    finally:
        sender.close()
    return result


USERSPACE_RATES: tuple[float | None, ...] = (None, 10_000, 15_000, 20_000, 25_000, 30_000, 40_000, 60_000)
PLAIN_ROUTES = ('default', 'via', L.LMA6), (L.HNP, 'dev', 'acc0'), (L.HNP, 'via', L.MAG6)


def with_bindings(lma_spec: dict[str, Any], count: int) -> dict[str, Any]:
    """The LMA node's spec with `count` mobile nodes on its tunnel: the measured one and others,
    each with a /64 of its own outside the lab's prefixes."""
    others = [{'role': 'lma', 'tunnel': 0, 'hnps': [f'2001:db9:{i >> 16:x}:{i & 0xFFFF:x}::/64']} for i in range(count - 1)]
    return {**lma_spec, 'mns': [*lma_spec['mns'], *others]}


def run_once(lab: L.Lab, seconds: float, bindings: list[int]) -> dict[str, Any]:
    """One kernel measurement then one userspace measurement per binding count; returns them and their ratios."""
    plain = [(lab.mag, *PLAIN_ROUTES[0]), (lab.mag, *PLAIN_ROUTES[1]), (lab.lma, *PLAIN_ROUTES[2])]
    for ns, *route in plain:
        nsutil.ip('-6', 'route', 'add', *route, ns=ns)
    try:
        assert L.ping_until(lab.mn, L.CN6), 'plain forwarding does not work'
        kernel = measure(lab, seconds, (None,))
    finally:
        for ns, *route in plain:
            nsutil.ip('-6', 'route', 'del', *route, ns=ns, check=False)
    result: dict[str, Any] = {'kernel': kernel, 'userspace': {}, 'ratio': {}, 'node_counters': {}}
    for count in bindings:
        mag_spec, lma_spec = specs(TunnelMode.IP6_ANY)
        lab.start('userspace', mag_spec, with_bindings(lma_spec, count))
        try:
            assert L.ping_until(lab.mn, L.CN6, timeout=max(10.0, count / 2000)), 'userspace tunnel does not work'
            userspace = measure(lab, seconds, USERSPACE_RATES)
        finally:
            result['node_counters'][count] = lab.stop_nodes()
            # The node leaves its routes for the next one to reconcile: gone now, so that the next
            # kernel ceiling is measured without them.
            for family in ('-6', '-4'):
                nsutil.ip(family, 'route', 'flush', 'table', str(LMA_TABLE), ns=lab.lma, check=False)
                nsutil.ip(family, 'rule', 'del', 'table', str(LMA_TABLE), ns=lab.lma, check=False)
        result['userspace'][count] = userspace
        result['ratio'][count] = {name: round(userspace[name]['pps'] / max(kernel[name]['pps'], 1), 3) for name in SIZES}
    return result


def median(values: list[float]) -> float:
    """The median (the mean of the middle two for an even count)."""
    ordered = sorted(values)
    mid = len(ordered) // 2
    return ordered[mid] if len(ordered) % 2 else (ordered[mid - 1] + ordered[mid]) / 2


def time_changes(count: int, runs: int) -> dict[str, float]:
    """Median CPU microseconds per binding change through the memory backend (see the docstring)."""
    import gc
    from ipaddress import IPv4Address, IPv6Address

    from pmiprouter.dataplane.interface import MnRouteSpec, Role, TunnelSpec
    from pmiprouter.dataplane.memory import MemoryDataplane
    from pmiprouter.fast.netaddr import HomePrefix6

    lmaa = IPv6Address('2001:db8:2::1')
    tunnels = [TunnelSpec(lmaa, IPv6Address(f'2001:db8:1::{i}'), TunnelMode.IP6_ANY) for i in (1, 2)]

    def spec(i: int, tunnel: TunnelSpec) -> MnRouteSpec:
        hnp = HomePrefix6.of((0x20010DB8 << 96) | (i << 64), 64)
        return MnRouteSpec(Role.LMA, tunnel, (hnp,), IPv4Address(0x0A000000 + i), label=f'mn{i}')

    figures: dict[str, list[float]] = {}
    for _ in range(runs):
        dp = MemoryDataplane()
        for tunnel in tunnels:
            dp.ensure_tunnel(tunnel)
        first = [spec(i, tunnels[0]) for i in range(count)]
        moved = [spec(i, tunnels[1]) for i in range(count)]
        gc.disable()
        try:
            for name, call, batch in (('build spec', None, None), ('new MN', dp.ensure_mn_routes, first),
                                      ('same spec again', dp.ensure_mn_routes, first),
                                      ('handover', dp.ensure_mn_routes, moved), ('remove', dp.remove_mn_routes, moved)):
                start = time.process_time()
                if call is None:
                    for i in range(count):
                        spec(i, tunnels[0])
                else:
                    for one in batch:  # type: ignore[union-attr]
                        call(one)
                figures.setdefault(name, []).append((time.process_time() - start) / count * 1e6)
        finally:
            gc.enable()
        assert not dp.snapshot().routes
    return {name: median(values) for name, values in figures.items()}


def main() -> int:
    """Run the measurements ``--runs`` times (kernel and userspace alternate) and print the medians."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--seconds', type=float, default=2.0)
    parser.add_argument('--runs', type=int, default=3, help='repetitions; the medians are reported')
    parser.add_argument('--sender', choices=('batched', 'plain'), default='batched',
                        help='sendmmsg bursts (default) or one send() per datagram')
    parser.add_argument('--changes', type=int, metavar='N',
                        help='time binding changes (memory backend, N MNs per run) instead of packets')
    parser.add_argument('--generator', choices=('iperf3', 'python'), default='iperf3',
                        help="the traffic generator: Debian's iperf3 (default) or the Python sender")
    parser.add_argument('--bindings', type=int, nargs='+', default=[10, 100_000],
                        help='mobile nodes the LMA holds during each userspace measurement')
    args = parser.parse_args()
    if args.changes:
        for name, micros in time_changes(args.changes, args.runs).items():
            print(f'{name:<16} {micros:7.2f} us per MN (CPU, median of {args.runs} runs of {args.changes})')
        return 0
    global SENDER, GENERATOR
    SENDER, GENERATOR = args.sender, args.generator
    if GENERATOR == 'iperf3' and shutil.which('iperf3') is None:
        print('bench_dataplane: iperf3 is not installed (apt-get install iperf3, or --generator python)', file=sys.stderr)
        return 1
    if os.geteuid() != 0:
        print('bench_dataplane: needs root (network namespaces)', file=sys.stderr)
        return 1
    lab = L.Lab()
    stop, ready = threading.Event(), threading.Event()
    cn = nsutil.NsThread(lab.cn)
    runs: list[dict[str, Any]] = []
    try:
        cn.submit(sink, ready, stop)
        ready.wait(5)
        for _ in range(args.runs):
            runs.append(run_once(lab, args.seconds, args.bindings))
    finally:
        stop.set()
        cn.close()
        lab.close()
    print(f'{"run":<4} {"size":<6} {"bindings":>9} {"kernel pps":>11} {"userspace pps":>14} {"ratio":>6}   '
          f'({GENERATOR} sent pps: kernel / userspace; userspace offered rate)')
    for index, run in enumerate(runs, 1):
        k = run['kernel']
        for count in args.bindings:
            u, ratio = run['userspace'][count], run['ratio'][count]
            for name in SIZES:
                offered = u[name]['offered'] or 'unpaced'
                print(f'{index:<4} {name:<6} {count:>9,} {k[name]["pps"]:>11,.0f} {u[name]["pps"]:>14,.0f} '
                      f'{ratio[name]:>6.2f}   ({k[name]["sent_pps"]:,.0f} / {u[name]["sent_pps"]:,.0f}; {offered})')
    summary: dict[str, Any] = {}
    for name in SIZES:
        kernel_pps = median([r['kernel'][name]['pps'] for r in runs])
        summary[name] = {'kernel_pps': kernel_pps, 'kernel_sent_pps': median([r['kernel'][name]['sent_pps'] for r in runs])}
        for count in args.bindings:
            med = summary[name][count] = {
                'userspace_pps': median([r['userspace'][count][name]['pps'] for r in runs]),
                'ratio': median([r['ratio'][count][name] for r in runs]),
            }
            print(f'{"med":<4} {name:<6} {count:>9,} {kernel_pps:>11,.0f} {med["userspace_pps"]:>14,.0f} {med["ratio"]:>6.2f}')
        if len(args.bindings) > 1:
            first, last = args.bindings[0], args.bindings[-1]
            scale = summary[name][last]['userspace_pps'] / max(summary[name][first]['userspace_pps'], 1)
            print(f'     {name:<6} userspace with {last:,} bindings / with {first:,}: {scale:.2f}')
    print(json.dumps({'median': summary, 'runs': runs, 'generator': GENERATOR, 'sender': SENDER}, default=str))
    return 0


if __name__ == '__main__':
    sys.exit(main())
