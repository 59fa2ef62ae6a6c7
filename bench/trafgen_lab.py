"""The trafgen method of bench_dataplane.py (``--generator trafgen``, what ``--backend kernel`` uses).

Every path measured has a lab of its own (tests/dataplane/lab.py: MN -- MAG == LMA -- CN in
network namespaces), all built and programmed before the first packet, so that the measurements
of one round follow each other within seconds: on a shared host (and more so under the VM's TCG)
the rate a path reaches drifts by a factor of two from minute to minute, so figures are compared
within a round (paired ratios, their median over the rounds) rather than across runs.

Traffic goes downlink, CN -> LMA == MAG -> MN, to ``SINK``, an address in the measured MN's home
prefix that no host holds: the MAG has a permanent neighbour entry sending it to the MN, whose
kernel drops it (a blackhole route), so nothing answers and no process receives. At the LMA the
MN's route is looked up among all its bindings (a hit in the role table); the other bindings are
/64s packed right after the measured one, so the trie walked is as deep as their number makes it.
One flow: the table's nodes on the measured MN's path stay in the caches.

trafgen (Debian's netsniff-ng, C) builds the frame once and sends it from a TX_RING on the CN's
``eth0``, one process per CPU. The rates are interface counters over a window opened once the
first packets have arrived: *sent* is the CN's ``eth0`` transmit counter, *delivered* the sink's
receive counter (``/proc/thread-self/net/dev``, read on a thread inside each namespace: no process
start inside the window). The paths:

- ``generator``: the generator alone, into a blackhole route at its first hop (the LMA): what it can
  send. veth runs the receiving side's work in the sender's context, so this includes one hop's
  receive path: a rate the generator really reaches, a lower bound of its bare send loop;
- ``ceiling``: plain kernel forwarding CN -> LMA -> MAG -> MN by static routes, no tunnel;
- ``<backend>@<N>``: the MAG and LMA nodes of a backend (ip6any tunnel), N bindings on the LMA. The
  kernel nodes are programmed from threads of this process (lab.KernelNode: node.py's reconcile,
  one netlink batch); the user-space nodes are processes, and their figure is the best of an
  unpaced offer and offers paced at 1/16, 1/8 and 1/4 of the round's ceiling (an unpaced sender
  takes the CPUs the forwarders need).

For the same reason (veth), every path's per-packet work is done on the generator's CPUs, and
what a path delivers is what the generator sent into it, less drops: a path delivering less than
the generator alone sends is the bottleneck, its cost per packet about 1/delivered - 1/generator.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from typing import Any, NamedTuple

from pmiprouter.dataplane.interface import TunnelMode
from tests.dataplane import lab as L
from tests.dataplane import nsutil
from tests.dataplane.test_traffic import specs

SINK = '2001:db8:a1::99'  # in the measured MN's HNP (the lab's), held by no host: the MN drops it
DROP = '2001:db8:a1::98'  # the generator-alone destination: dropped by the LMA
PORT = 9000
USERSPACE_SHARES = (16, 8, 4)  # paced offers to user-space paths: the round's ceiling over these


def with_bindings(lma_spec: dict[str, Any], count: int) -> dict[str, Any]:
    """The LMA node's spec with `count` mobile nodes on its tunnel: the measured one (the lab's
    HNP) and count - 1 others with the /64s that follow it (2001:db8:a1:1::/64 on)."""
    # (formatted, not built with ipaddress: 100,000 of those cost half a minute under the VM's TCG)
    others = [{'role': 'lma', 'tunnel': 0, 'hnps': [f'2001:db8:{0xA1 + (i >> 16):x}:{i & 0xFFFF:x}::/64']}
              for i in range(1, count)]
    return {**lma_spec, 'mns': [*lma_spec['mns'], *others]}


def counters(dev: str) -> tuple[int, int]:
    """(received, sent) packets of a device in the calling thread's network namespace."""
    with open('/proc/thread-self/net/dev') as f:
        for line in f:
            name, _, fields = line.partition(':')
            if name.strip() == dev:
                values = fields.split()
                return int(values[1]), int(values[9])
    raise KeyError(f'no device {dev}')


def mac(ns: str, dev: str) -> str:
    """A device's MAC address."""
    return str(json.loads(nsutil.ip('-j', 'link', 'show', dev, ns=ns).stdout)[0]['address'])


def stop_group(proc: subprocess.Popen[str]) -> str:
    """Interrupt a process group (SIGKILL if it lingers); return the end of its stderr."""
    for sig in (signal.SIGINT, signal.SIGKILL):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            break  # all gone
        try:
            return proc.communicate(timeout=20)[1][-500:]
        except subprocess.TimeoutExpired:
            continue
    return proc.communicate()[1][-500:]


class TrafgenExited(RuntimeError):
    """trafgen ended before the measurement did."""


class Path:
    """One lab with one path programmed, trafgen's frames for it, and its counters."""

    def __init__(self, name: str, lab: L.Lab, dst: str, sink: tuple[str, str], workdir: str) -> None:
        self.name, self.lab, self.dst, self.sink = name, lab, dst, sink
        self.dst_mac = mac(lab.lma, 'cn0')
        self.workdir = workdir
        self.last_error = ''  # the end of trafgen's last stderr
        self.cn = nsutil.NsThread(lab.cn)
        self.receiver = nsutil.NsThread(sink[0])

    def sent(self) -> int:
        return int(self.cn.call(counters, 'eth0')[1])

    def delivered(self) -> int:
        return int(self.receiver.call(counters, self.sink[1])[0])

    def config(self, payload: int) -> str:
        """trafgen's configuration for `payload`-byte UDP datagrams (IPv6 packets of payload + 48)."""
        path = os.path.join(self.workdir, f'{self.name}-{payload}.cfg')
        with open(path, 'w') as f:
            f.write(f'{{ eth(da={self.dst_mac}), ipv6(sa={L.CN6}, da={self.dst}, hl=64), '
                    f'udp(sp={PORT}, dp={PORT}), fill(0x00, {payload}) }}\n')
        return path

    @contextmanager
    def sending(self, payload: int, cpus: int, rate: float | None) -> Iterator[subprocess.Popen[str]]:
        """trafgen runs inside: unpaced from its TX_RING on `cpus` CPUs, or paced at `rate` pps
        (its slow mode, one process)."""
        command = ['ip', 'netns', 'exec', self.lab.cn, 'trafgen', '--dev', 'eth0', '--conf', self.config(payload),
                   '--cpus', str(1 if rate else cpus), '--no-sock-mem', '--notouch-irq']
        if rate:
            command += ['--rate', f'{int(rate)}pps']
        # A session of its own: trafgen forks a process per CPU, and the interrupt must reach them
        # all (as a terminal's ^C reaches its process group), not only the parent.
        proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                                start_new_session=True)
        try:
            yield proc
        finally:
            self.last_error = stop_group(proc)

    def offer(self, payload: int, seconds: float, cpus: int, rate: float | None = None) -> dict[str, float]:
        """Send for a window of `seconds` once packets arrive; the sent and delivered rates. A
        trafgen that dies (its TX_RING flush can fail with EAGAIN when the host stalls the guest)
        is started again, twice at most."""
        for attempt in range(3):
            try:
                return self._offer(payload, seconds, cpus, rate)
            except TrafgenExited as exc:
                print(f'{self.name}: {exc}; trafgen said: {self.last_error.strip()!r}'
                      f'{" (trying again)" if attempt < 2 else ""}', flush=True)
        raise RuntimeError(f'{self.name}: trafgen failed three times')

    def _offer(self, payload: int, seconds: float, cpus: int, rate: float | None) -> dict[str, float]:
        with self.sending(payload, cpus, rate) as proc:
            first = self.delivered()
            nsutil.wait_for(lambda: self.delivered() > first or proc.poll() is not None, timeout=30, interval=0.1)
            sent0, got0, t0 = self.sent(), self.delivered(), time.monotonic()
            if proc.poll() is not None:
                raise TrafgenExited('trafgen exited before the window')
            if got0 == first:
                raise RuntimeError(f'{self.name}: nothing arrives at {self.sink}')
            time.sleep(seconds)  # the measurement window (the counters say what happened in it)
            sent1, got1, t1 = self.sent(), self.delivered(), time.monotonic()
            if proc.poll() is not None:
                raise TrafgenExited('trafgen exited during the window')
        elapsed = t1 - t0
        return {'pps': round((got1 - got0) / elapsed), 'sent_pps': round((sent1 - sent0) / elapsed), 'offered': rate or 0}

    def close(self) -> None:
        self.cn.close()
        self.receiver.close()


class Built(NamedTuple):
    paths: list[Path]
    install: dict[str, dict[str, float]]  # per tunnel path: seconds to start the nodes (and their parts)


def sink_at_the_mn(lab: L.Lab) -> None:
    """SINK reaches the MN (a permanent neighbour entry at the MAG) and goes no further."""
    nsutil.ip('-6', 'route', 'add', 'blackhole', f'{SINK}/128', ns=lab.mn)
    nsutil.ip('-6', 'neigh', 'replace', SINK, 'lladdr', mac(lab.mn, 'eth0'), 'dev', 'acc0', 'nud', 'permanent', ns=lab.mag)


def plain_lab(lab: L.Lab) -> None:
    """Static routes CN -> LMA -> MAG -> MN (the ceiling), and DROP blackholed at the LMA (the generator)."""
    nsutil.ip('-6', 'route', 'add', L.HNP, 'via', L.MAG6, ns=lab.lma)
    nsutil.ip('-6', 'route', 'add', L.HNP, 'dev', 'acc0', ns=lab.mag)
    nsutil.ip('-6', 'route', 'add', 'blackhole', f'{DROP}/128', ns=lab.lma)


def tunnel_lab(lab: L.Lab, backend: str, count: int) -> dict[str, float]:
    """Start the MAG and LMA nodes of `backend` with `count` bindings on the LMA; return how long
    that took (and, for the kernel's LMA, its spec building and its reconcile)."""
    mag_spec, lma_spec = specs(TunnelMode.IP6_ANY)
    start = time.monotonic()
    lma_spec = with_bindings(lma_spec, count)
    spec_s = time.monotonic() - start
    _mag, lma = lab.start(backend, mag_spec, lma_spec)
    timing = {'total_s': time.monotonic() - start, 'spec_dicts_s': spec_s}
    timing.update(getattr(lma, 'timings', {}))
    return {key: round(value, 1) for key, value in timing.items()}


@contextmanager
def build(backends: list[str], bindings: list[int]) -> Iterator[Built]:
    """Every lab, programmed: the plain one (generator and ceiling), then one per backend and
    binding count. Everything is torn down on the way out."""
    with ExitStack() as stack:
        workdir = tempfile.mkdtemp(prefix='pmip-trafgen')
        stack.callback(shutil.rmtree, workdir, True)

        def lab() -> L.Lab:
            new = L.Lab()
            stack.callback(new.close)
            sink_at_the_mn(new)
            return new

        def path(name: str, lab: L.Lab, dst: str, sink: tuple[str, str]) -> Path:
            made = Path(name, lab, dst, sink, workdir)
            stack.callback(made.close)
            return made

        plain = lab()
        plain_lab(plain)
        paths = [path('generator', plain, DROP, (plain.lma, 'cn0')), path('ceiling', plain, SINK, (plain.mn, 'eth0'))]
        install: dict[str, dict[str, float]] = {}
        for backend in backends:
            for count in bindings:
                name = f'{backend}@{count}'
                print(f'{name}: building the lab and starting the nodes', flush=True)
                tunnel = lab()
                install[name] = tunnel_lab(tunnel, backend, count)
                print(f'{name}: nodes up in {install[name]}', flush=True)
                paths.append(path(name, tunnel, SINK, (tunnel.mn, 'eth0')))
        yield Built(paths, install)


def measure_round(paths: list[Path], sizes: dict[str, int], seconds: float, cpus: int) -> dict[str, Any]:
    """Every path once per size, one after the other; {path: {size: figures}}."""
    figures: dict[str, Any] = {path.name: {} for path in paths}
    for size, payload in sizes.items():
        for path in paths:
            if path.name.startswith('userspace'):
                ceiling = figures['ceiling'][size]['pps']
                offers = [path.offer(payload, seconds, cpus, rate)
                          for rate in (None, *(ceiling / share for share in USERSPACE_SHARES))]
                figures[path.name][size] = max(offers, key=lambda result: result['pps'])
            else:
                figures[path.name][size] = path.offer(payload, seconds, cpus)
    return figures


def rounds(built: Built, sizes: dict[str, int], seconds: float, cpus: int, count: int) -> list[dict[str, Any]]:
    """`count` rounds; the tunnel paths' order is reversed every other round (the generator and the
    ceiling first: the user-space offers are fractions of the round's ceiling)."""
    base, tunnels = built.paths[:2], built.paths[2:]
    results = []
    for index in range(count):
        start = time.monotonic()
        order = base + (tunnels if index % 2 == 0 else tunnels[::-1])
        results.append(measure_round(order, sizes, seconds, cpus))
        print(f'round {index + 1} of {count}: {time.monotonic() - start:.0f} s', flush=True)
    return results


def median(values: list[float]) -> float:
    ordered = sorted(values)
    mid = len(ordered) // 2
    return ordered[mid] if len(ordered) % 2 else (ordered[mid - 1] + ordered[mid]) / 2


def path_cost(result: dict[str, Any], name: str, size: str) -> float:
    """Microseconds per packet a path adds to what the generator alone spends (see the module
    docstring: all of it runs on the generator's CPUs)."""
    delivered: float = result[name][size]['pps']
    generator: float = result['generator'][size]['pps']
    return 1e6 / max(delivered, 1) - 1e6 / max(generator, 1)


Ratio = tuple[str, str, str]  # (label, numerator path, denominator path)


def ratios(names: list[str], backends: list[str], bindings: list[int]) -> list[Ratio]:
    """The ratios reported: each tunnel path over the ceiling, over the same backend with the fewest
    bindings, user-space over kernel, and the generator alone over each tunnel path."""
    out: list[Ratio] = [(f'{name}/ceiling', name, 'ceiling') for name in names[2:]]
    first = bindings[0]
    out += [(f'{b}@{n}/{b}@{first}', f'{b}@{n}', f'{b}@{first}') for b in backends for n in bindings[1:]]
    if {'kernel', 'userspace'} <= set(backends):
        out += [(f'userspace@{n}/kernel@{n}', f'userspace@{n}', f'kernel@{n}') for n in bindings]
    out += [(f'generator/{name}', 'generator', name) for name in names[2:]]
    return out


def report(results: list[dict[str, Any]], sizes: dict[str, int], backends: list[str], bindings: list[int],
           install: dict[str, dict[str, float]]) -> dict[str, Any]:
    """Print every round's figures, the median rates and the median of each round's ratios."""
    names = list(results[0])
    print(f'\n{"round":<6} {"size":<6} {"path":<18} {"sent pps":>10} {"delivered pps":>14}  offered')
    for index, result in enumerate(results, 1):
        for size in sizes:
            for name in names:
                fig = result[name][size]
                print(f'{index:<6} {size:<6} {name:<18} {fig["sent_pps"]:>10,} {fig["pps"]:>14,}  '
                      f'{int(fig["offered"]) or "unpaced"}')
    summary: dict[str, Any] = {'install': install}
    print(f'\nmedians over {len(results)} rounds: delivered pps, then each ratio taken within a round')
    for size, payload in sizes.items():
        rates = {name: median([r[name][size]['pps'] for r in results]) for name in names}
        paired = {label: round(median([r[a][size]['pps'] / max(r[b][size]['pps'], 1) for r in results]), 3)
                  for label, a, b in ratios(names, backends, bindings)}
        costs = {name: round(median([path_cost(r, name, size) for r in results]), 2) for name in names[1:]}
        cost_ratios = {f'{b}@{n}/{b}@{bindings[0]}': round(median(
            [path_cost(r, f'{b}@{bindings[0]}', size) / path_cost(r, f'{b}@{n}', size) for r in results]), 3)
            for b in backends for n in bindings[1:]}
        summary[size] = {'pps': rates, 'ratios': paired, 'path_us': costs, 'path_ratios': cost_ratios}
        print(f'{size} ({payload + 48}-byte IPv6 packets)')
        print('  pps:    ' + ', '.join(f'{name} {value:,.0f}' for name, value in rates.items()))
        print('  ratios: ' + ', '.join(f'{label} {value:.2f}' for label, value in paired.items()))
        print('  path only, us per packet beyond the generator alone (1/delivered - 1/generator): '
              + ', '.join(f'{name} {value:.2f}' for name, value in costs.items()))
        if cost_ratios:
            print('  path-only rate ratios: ' + ', '.join(f'{label} {value:.2f}' for label, value in cost_ratios.items()))
    return summary
