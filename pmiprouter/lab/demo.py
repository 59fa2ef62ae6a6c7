"""`pmiprouter lab demo`: MN1 pings the CN over IPv6 and IPv4 every 10 ms and keeps a TCP
stream open while its link moves from MAG1 to MAG2; the figures come out as a report or JSON."""

from __future__ import annotations

import dataclasses
import re
import subprocess
import sys
import time
from dataclasses import asdict, dataclass

from pmiprouter.lab import runner, topology
from pmiprouter.lab.topology import Lab

PING_INTERVAL_S = 0.01
TCP_PORT = 5001

TCP_SINK = '''
import socket, sys
s = socket.socket(socket.AF_INET6); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("::", %d)); s.listen(1); print("LISTENING", flush=True)
c, _ = s.accept(); total = 0
while True:
    data = c.recv(65536)
    if not data: break
    total += len(data)
print("RECEIVED", total, flush=True)
''' % TCP_PORT

TCP_SOURCE = '''
import socket, sys, time
c = socket.create_connection((sys.argv[1], %d)); end = time.time() + float(sys.argv[2]); sent = 0
while time.time() < end:
    sent += c.send(b"x" * 1000); time.sleep(0.01)
c.shutdown(socket.SHUT_WR); c.close(); print("SENT", sent, flush=True)
''' % TCP_PORT


@dataclass
class Figures:
    attach_to_first_packet_s: float
    pbu_to_pba_at_new_mag_ms: float | None
    interruption_ipv6_s: float
    interruption_ipv4_s: float
    lost_ipv6: int
    lost_ipv4: int
    address_ipv6_before: str | None
    address_ipv6_after: str | None
    address_ipv4: str | None
    tcp_stream_intact: bool
    tcp_bytes: int


def ping_gaps(output: str) -> tuple[float, int]:
    """(longest silence between two answers, packets lost) of a `ping -D` run.

    Times, not sequence numbers: a roaming host queues what it sends while it re-resolves
    its router, and those pings are answered late rather than lost.
    """
    times = answer_times(output)
    sent = re.search(r'(\d+) packets transmitted, (\d+) received', output)
    lost = int(sent.group(1)) - int(sent.group(2)) if sent else -1
    gap = max((b - a for a, b in zip(times, times[1:])), default=0.0)
    return round(gap, 3), lost


def run_demo(lab: Lab, dataplane: str = 'auto') -> Figures:
    runner.preflight(lab)
    topology.teardown(lab.prefix)
    topology.build(lab)
    try:
        runner.start_routers(lab, dataplane)
        return handover(lab)
    finally:
        runner.stop_routers()
        time.sleep(0.5)  # let the daemons remove their tunnels before the namespaces go
        topology.teardown(lab.prefix)
        runner.remove_files()


def mover(lab: Lab) -> tuple[str, str, str]:
    """(MN, its MAG, the MAG it moves to) of the demo: the first dual-stack MN with two links."""
    candidates = sorted(lab.mobile_nodes, key=lambda mn: mn.service != 'dual')
    for mn in candidates:
        others = [mag for mag in lab.links_of(mn) if mag != mn.mag]
        if others:
            return mn.name, mn.mag, others[0]
    raise runner.LabError('the handover needs a mobile node with links to two MAGs (links = MAG1 MAG2)')


def wait_for_ipv6(lab: Lab, mn: str, mag: str, timeout: float = 20) -> None:
    start = time.monotonic()
    while runner.in_ns(lab, mn, 'ping', '-6', '-c', '1', '-W', '0.2', lab.cn6).returncode != 0:
        if time.monotonic() - start > timeout:
            raise runner.LabError(f'{mn} got no IPv6 connectivity through {mag}')


def handover(lab: Lab) -> Figures:
    name, old, new = mover(lab)
    node = lab.mobile_node(name)
    for mn in lab.mobile_nodes:
        if mn.name != name:
            runner.in_ns(lab, mn.name, 'ip', 'link', 'set', 'eth0', 'up')
    start = time.monotonic()
    runner.in_ns(lab, name, 'ip', 'link', 'set', 'eth0', 'up')
    if node.service != 'ipv4':
        wait_for_ipv6(lab, name, old)
    attach_s = round(time.monotonic() - start, 3)
    address_v4 = runner.dhcp(lab, name) if node.service != 'ipv6' else None
    if node.service == 'ipv4':
        attach_s = round(time.monotonic() - start, 3)
    for mn in lab.mobile_nodes:
        if mn.name != name and mn.service != 'ipv6':
            runner.dhcp(lab, mn.name)
    before = runner.ipv6_address(lab, name)
    sink = subprocess.Popen(['ip', 'netns', 'exec', lab.ns('cn'), sys.executable, '-c', TCP_SINK], stdout=subprocess.PIPE, text=True)
    assert sink.stdout is not None
    sink.stdout.readline()
    families = [('6', lab.cn6)] if node.service == 'ipv6' else [('4', lab.cn4)] if node.service == 'ipv4' else [('6', lab.cn6), ('4', lab.cn4)]
    pings = {
        v: subprocess.Popen(['ip', 'netns', 'exec', lab.ns(name), 'ping', f'-{v}', '-D', '-i', str(PING_INTERVAL_S), '-w', '6', dst],
                            stdout=subprocess.PIPE, text=True)
        for v, dst in families
    }
    tcp_to = lab.cn6 if node.service != 'ipv4' else lab.cn4
    source = subprocess.Popen(['ip', 'netns', 'exec', lab.ns(name), sys.executable, '-c', TCP_SOURCE, tcp_to, '5.5'],
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    time.sleep(1.5)
    moved_at = topology.associate(lab, name, old, new)
    # As a real host does on a new association: its DHCP client asks again (and gets the same HoA).
    if node.service != 'ipv6':
        runner.dhcp(lab, name)
    outputs = {v: p.communicate(timeout=30)[0] for v, p in pings.items()}
    source_out, _ = source.communicate(timeout=30)
    sink_out, _ = sink.communicate(timeout=30)
    gap6, lost6 = ping_gaps(outputs['6']) if '6' in outputs else (0.0, 0)
    gap4, lost4 = ping_gaps(outputs['4']) if '4' in outputs else (0.0, 0)
    sent = re.search(r'SENT (\d+)', source_out)
    received = re.search(r'RECEIVED (\d+)', sink_out)
    signalling = pbu_to_pba_ms(new, moved_at)
    return Figures(
        attach_to_first_packet_s=attach_s,
        pbu_to_pba_at_new_mag_ms=signalling,
        interruption_ipv6_s=gap6,
        interruption_ipv4_s=gap4,
        lost_ipv6=lost6,
        lost_ipv4=lost4,
        address_ipv6_before=before,
        address_ipv6_after=runner.ipv6_address(lab, name),
        address_ipv4=address_v4,
        tcp_stream_intact=bool(sent and received and sent.group(1) == received.group(1)),
        tcp_bytes=int(received.group(1)) if received else 0,
    )


SCENARIOS = {
    'ipv6-in-ipv6': 'IPv6 transport, IPv6/IPv4-in-IPv6 tunnel (RFC 5213, RFC 5844)',
    'udptunnel': 'IPv4 transport, UDP 5437 encapsulation (RFC 5844 §4)',
    'gre-ipv6': 'IPv6 transport, GRE with per-MN keys (RFC 5845)',
}


def run_all(dataplane: str = 'auto', prefix: str | None = None, base: Lab | None = None) -> dict[str, Figures]:
    """The handover once per transport/encapsulation of SCENARIOS, on `base` (default: the default lab)."""
    base = base or Lab()
    results = {}
    for encap in SCENARIOS:
        lab = dataclasses.replace(base, encap=encap, **({'prefix': prefix} if prefix is not None else {}))
        results[encap] = run_demo(lab, dataplane)
    return results


def report(figures: Figures, encap: str = 'ipv6-in-ipv6') -> str:
    f = asdict(figures)
    return '\n'.join([
        f'The mobile node moves to another MAG while it pings the CN every 10 ms; {SCENARIOS.get(encap, encap)}',
        f'  attach to first packet:                {f["attach_to_first_packet_s"]} s',
        f'  PBU -> PBA at the new MAG:             {f["pbu_to_pba_at_new_mag_ms"]} ms',
        f'  interruption IPv6 / IPv4:              {f["interruption_ipv6_s"]} s / {f["interruption_ipv4_s"]} s',
        f'  packets lost IPv6 / IPv4:              {f["lost_ipv6"]} / {f["lost_ipv4"]}',
        f'  IPv6 address before / after:           {f["address_ipv6_before"]} / {f["address_ipv6_after"]}',
        f'  IPv4 address (DHCP):                   {f["address_ipv4"]}',
        f'  TCP stream intact:                     {f["tcp_stream_intact"]} ({f["tcp_bytes"]} bytes, every byte arrived)',
    ])


@dataclass
class Statistics:
    """Medians and maxima over `handovers` moves of MN1 between MAG1 and MAG2 (milliseconds).

    - detection: from the link move (the MN's radio is down: `associate` returns that time)
      to the new MAG's `mn-attached` log line;
    - interruption: the longest silence between two ping answers around the move
      (2 ms IPv6 pings, answer times from `ping -D`);
    - resume after detection: from `mn-attached` to the answer that ends that silence;
    - PBU -> PBA: the round trip the new MAG logs in its `mn-registered` line (`pbu_pba_ms`: from
      its PBU handed to the socket to the PBA read and decoded, on its reactor's clock, without
      the cost of a debug trace).
    """

    handovers: int
    pbu_to_pba_median_ms: float | None
    pbu_to_pba_max_ms: float | None
    detection_median_ms: float | None
    detection_max_ms: float | None
    interruption_median_ms: float | None
    interruption_max_ms: float | None
    interruption_minus_detection_median_ms: float | None
    interruption_minus_detection_max_ms: float | None
    resume_after_detection_median_ms: float | None
    resume_after_detection_max_ms: float | None
    samples: list[dict[str, float | None]]


STATS_PING_INTERVAL_S = 0.002


def answer_times(output: str) -> list[float]:
    """Reception times of the answers in a `ping -D` run."""
    return [float(t) for t in re.findall(r'^\[(\d+\.\d+)\] \d+ bytes from .*icmp_seq=', output, re.MULTILINE)]


def pbu_to_pba_ms(mag: str, moved_at: float) -> float | None:
    """The new MAG's signalling round trip for the first registration after the move."""
    return next((value for t, value in runner.log_values(mag, 'mn-registered', 'pbu_pba_ms') if t >= moved_at), None)


def first_after(times: list[float], moment: float) -> float | None:
    return next((t for t in times if t >= moment), None)


def one_handover(lab: Lab, mn: str, old: str, new: str) -> dict[str, float | None]:
    """Move `mn` once under a 2 ms IPv6 ping to the CN; the figures of that move (ms)."""
    ping = subprocess.Popen(['ip', 'netns', 'exec', lab.ns(mn), 'ping', '-6', '-D', '-i', str(STATS_PING_INTERVAL_S), '-w', '3', lab.cn6],
                            stdout=subprocess.PIPE, text=True)
    time.sleep(0.5)
    moved_at = topology.associate(lab, mn, old, new)
    output, _ = ping.communicate(timeout=20)
    # The interruption is the longest silence around the move (answers already on their way
    # when the radio went down may still arrive just after it).
    answers = answer_times(output)
    gaps = [(b - a, a, b) for a, b in zip(answers, answers[1:]) if b >= moved_at - 0.05]
    _gap, last, resumed = max(gaps) if gaps else (0.0, None, None)
    attached = first_after(runner.log_times(new, 'mn-attached', f'ifname={new}-{mn}'), moved_at)

    def ms(a: float | None, b: float | None) -> float | None:
        return round((b - a) * 1000, 2) if a is not None and b is not None else None

    return {
        'pbu_to_pba_ms': pbu_to_pba_ms(new, moved_at),
        'detection_ms': ms(moved_at, attached),
        'interruption_ms': ms(last, resumed),
        'resume_after_detection_ms': ms(attached, resumed),
    }


def handover_statistics(lab: Lab, count: int, dataplane: str = 'auto') -> Statistics:
    """MN1 moves back and forth `count` times under a 2 ms ping; medians and maxima.

    Every MN is up, as in the demo, so each MAG keeps its tunnel to the LMA between moves
    (a MAG with mobile nodes has one): a move changes routes, not devices.
    """
    runner.preflight(lab)
    topology.teardown(lab.prefix)
    topology.build(lab)
    try:
        runner.start_routers(lab, dataplane)
        for mn in lab.mobile_nodes:
            runner.in_ns(lab, mn.name, 'ip', 'link', 'set', 'eth0', 'up')
        name, where, there = mover(lab)
        if lab.mobile_node(name).service == 'ipv4':
            raise runner.LabError('the handover statistics ping over IPv6: they need a dual-stack or IPv6 mobile node')
        wait_for_ipv6(lab, name, where)
        samples = []
        for _ in range(count):
            samples.append(one_handover(lab, name, where, there))
            where, there = there, where
        return summarise(samples)
    finally:
        runner.stop_routers()
        time.sleep(0.5)
        topology.teardown(lab.prefix)
        runner.remove_files()


def summarise(samples: list[dict[str, float | None]]) -> Statistics:
    import statistics

    def column(key: str) -> list[float]:
        return [s[key] for s in samples if s[key] is not None]  # type: ignore[misc]

    def median(values: list[float]) -> float | None:
        return round(statistics.median(values), 2) if values else None

    def most(values: list[float]) -> float | None:
        return round(max(values), 2) if values else None

    excess = [s['interruption_ms'] - s['detection_ms'] for s in samples  # type: ignore[operator]
              if s['interruption_ms'] is not None and s['detection_ms'] is not None]
    return Statistics(
        handovers=len(samples),
        pbu_to_pba_median_ms=median(column('pbu_to_pba_ms')), pbu_to_pba_max_ms=most(column('pbu_to_pba_ms')),
        detection_median_ms=median(column('detection_ms')), detection_max_ms=most(column('detection_ms')),
        interruption_median_ms=median(column('interruption_ms')), interruption_max_ms=most(column('interruption_ms')),
        interruption_minus_detection_median_ms=median(excess), interruption_minus_detection_max_ms=most(excess),
        resume_after_detection_median_ms=median(column('resume_after_detection_ms')),
        resume_after_detection_max_ms=most(column('resume_after_detection_ms')),
        samples=samples,
    )


def statistics_report(stats: Statistics) -> str:
    def fig(median: float | None, most: float | None) -> str:
        return f'median {median} ms, max {most} ms'

    return '\n'.join([
        f'{stats.handovers} handovers of the mobile node between two MAGs (2 ms IPv6 ping):',
        f'  PBU -> PBA at the new MAG:           {fig(stats.pbu_to_pba_median_ms, stats.pbu_to_pba_max_ms)}',
        f'  attach detection (move -> attached): {fig(stats.detection_median_ms, stats.detection_max_ms)}',
        f'  data interruption:                   {fig(stats.interruption_median_ms, stats.interruption_max_ms)}',
        f'  interruption minus detection:        {fig(stats.interruption_minus_detection_median_ms, stats.interruption_minus_detection_max_ms)}',
        f'  data resumes after detection:        {fig(stats.resume_after_detection_median_ms, stats.resume_after_detection_max_ms)}',
    ])
